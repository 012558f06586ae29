/* tests.c - the vmexit tests. Each is a loop of n iterations of one operation, and the same loop
 * without it (base != 0), so that the difference is what the operation costs: the loop's own
 * decrement and branch, and any set-up the operation needs, are in both. A test returns how many
 * iterations it really ran (the hidden-fault test works in whole passes over its region). */
#include "vmexit.h"

#define HC_CLOCK 2   /* wasmvisor's clock hypercall: harmless, answers EDX:EAX */
#define PIT_DIVISOR 1193 /* ~1 kHz: the HLT test's timer. At ~100 kHz (12), QEMU's main loop could
                            * not keep up with the PIT under host load and never woke the HLT. */

/* n iterations of `body`; n > 0. The counter is ESI. */
#define LOOP(body, ...) __asm__ volatile("1:\n\t" body "\n\tdecl %%esi\n\tjnz 1b" : "+S"(n) __VA_ARGS__)

static u32 cpuid(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    if (base) LOOP("xorl %%eax, %%eax", : : "eax", "ebx", "ecx", "edx");
    else LOOP("xorl %%eax, %%eax\n\tcpuid", : : "eax", "ebx", "ecx", "edx");
    return count;
}

static u32 vmcall(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    if (base) LOOP("movl %1, %%eax", : "i"(HC_CLOCK) : "eax", "edx");
    else LOOP("movl %1, %%eax\n\tvmcall", : "i"(HC_CLOCK) : "eax", "edx", "memory");
    return count;
}

static u32 out(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    if (base) LOOP("", : "d"(COM1_SCRATCH), "a"(0));
    else LOOP("outb %%al, %%dx", : "d"(COM1_SCRATCH), "a"(0) : "memory");
    return count;
}

static u32 in(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    if (base) LOOP("", : "d"(COM1_SCRATCH) : "eax");
    else LOOP("inb %%dx, %%al", : "d"(COM1_SCRATCH) : "eax", "memory");
    return count;
}

/* MOV to CR0 flipping `bit` each iteration. */
static u32 toggle_cr0(u32 n, u32 bit, int base)
{
    u32 count = n, value = read_cr0(), toggled = value;
    if (base) LOOP("xorl %2, %1", , "+a"(toggled) : "r"(bit));
    else LOOP("xorl %2, %1\n\tmovl %1, %%cr0", , "+a"(toggled) : "r"(bit) : "memory");
    write_cr0(value);
    return count;
}

/* CR0.WP, a bit the VMM owns through the CR0 guest/host mask. */
static u32 cr0(u32 n, u32 param, int base)
{
    (void)param;
    return toggle_cr0(n, CR0_WP, base);
}

/* Switch round-robin among `spaces` address spaces and read one word in each. */
static u32 cr3(u32 n, u32 spaces, int base)
{
    volatile u32 *probe = page_data;
    u32 next = 0;
    if (spaces < 1 || spaces > ADDRESS_SPACES) {
        kprintf("vmexit: cr3 takes 1 to %u address spaces\n", ADDRESS_SPACES);
        guest_exit(2);
    }
    for (u32 i = 0; i < n; i++) {
        if (++next == spaces)
            next = 0;
        u32 directory = page_directories[next];
        if (!base)
            write_cr3(directory);
        (void)*probe;
    }
    write_cr3(page_directories[0]);
    return n;
}

/* Touch every page of a region whose page tables were just swapped for their copy, so that
 * each touch finds no shadow entry; the base loop reloads CR3 (a TLB flush) but keeps them. */
static u32 pagefault(u32 n, u32 param, int base)
{
    (void)param;
    u32 passes = (n + FRESH_PAGES - 1) / FRESH_PAGES;
    for (u32 pass = 0; pass < passes; pass++) {
        if (base)
            write_cr3(page_directories[0]);
        else
            fresh_tables_swap();
        for (u32 page = 0; page < FRESH_PAGES; page++)
            (void)*(volatile u32 *)(FRESH_BASE + page * PAGE);
    }
    return passes * FRESH_PAGES;
}

static u32 invlpg(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    if (base) LOOP("", : "b"(page_data));
    else LOOP("invlpg (%%ebx)", : "b"(page_data) : "memory");
    return count;
}

static u32 cli_sti(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    if (base) LOOP("");
    else LOOP("cli\n\tsti", : : "memory");
    __asm__ volatile("cli");
    return count;
}

static u32 popf(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    if (base) LOOP("");
    else LOOP("pushfl\n\tpopfl", : : "memory", "cc");
    return count;
}

/* A 16-bit store into the VGA text frame buffer, or (base) into ordinary RAM. */
static u32 vga(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n, offset = 0;
    u32 target = base ? (u32)page_data : 0xB8000;
    LOOP("movw %%ax, (%%ebx,%1)\n\taddl $2, %1\n\tandl $0xffe, %1", , "+c"(offset) : "a"(0x0720), "b"(target) : "memory");
    return count;
}

/* HLT with IF set, woken by the PIT's periodic interrupt; the base loop takes no interrupt. */
static u32 hlt(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    if (base) {
        LOOP("sti\n\tcli", : : "memory");
        return count;
    }
    interrupts_taken = 0;
    pit_periodic(PIT_DIVISOR);
    pic_unmask(IRQ_TIMER);
    LOOP("sti\n\thlt\n\tcli", : : "memory");
    pic_mask_all();
    pit_stop();
    return count;
}

/* An interrupt raised while IF = 0 (COM1's THRE interrupt, enabled through IER) and taken at
 * the STI that follows: under VT-x the interrupt-window exit's path. The base loop writes IER
 * too, with nothing enabled, and waits for nothing. */
static u32 irq(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    pic_unmask(IRQ_COM1);
    if (base) LOOP("cli\n\toutb %%al, %%dx\n\tsti\n\tnop", : "a"(0), "d"(COM1_IER) : "memory");
    else LOOP("cli\n\toutb %%al, %%dx\n\tmovl interrupts_taken, %%ebx\n\tsti\n"
              "2:\n\tcmpl interrupts_taken, %%ebx\n\tje 2b",
              : "a"(IER_THRI), "d"(COM1_IER) : "ebx", "memory");
    __asm__ volatile("cli");
    pic_mask_all();
    return count;
}

/* 8 instructions an iteration with a load and a store in a 64 KiB window; no base loop: the
 * figure is instructions per second. */
static u32 compute(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n, offset = 0, sum = 0;
    if (!base)
        LOOP("movl (%%ebx,%1), %%eax\n\taddl %%eax, %2\n\troll $3, %2\n\tmovl %2, 4(%%ebx,%1)\n\t"
             "addl $8, %1\n\tandl $0xfff8, %1",
             , "+D"(offset), "+d"(sum) : "b"(FRESH_BASE) : "eax", "memory");
    return count;
}

/* VMREAD and VMWRITE of the guest-RIP field as a guest hypervisor does them, in VMX operation with
 * a current VMCS (VMXON needs CR0.PE, NE and PG, so these run with paging, and CR4.VMXE). Both
 * loops enter and leave VMX operation the same way, so the difference is the instruction alone:
 * an exit each under --vmcs-shadowing off, none under on. */
#define MSR_VMX_BASIC 0x480
#define CR0_NE (1u << 5)
#define CR4_VMXE (1u << 13)
#define FIELD_GUEST_RIP 0x681e
static u8 vmxon_region[PAGE] __attribute__((aligned(PAGE)));
static u8 vmcs_region[PAGE] __attribute__((aligned(PAGE)));

static u32 read_cr4(void) { u32 v; __asm__ volatile("movl %%cr4, %0" : "=r"(v)); return v; }
static void write_cr4(u32 v) { __asm__ volatile("movl %0, %%cr4" : : "r"(v) : "memory"); }

static void vmx_on(void)
{
    u32 revision, high;
    __asm__ volatile("rdmsr" : "=a"(revision), "=d"(high) : "c"(MSR_VMX_BASIC));
    *(volatile u32 *)vmxon_region = revision;
    *(volatile u32 *)vmcs_region = revision;
    write_cr0(read_cr0() | CR0_NE);
    write_cr4(read_cr4() | CR4_VMXE);
    unsigned long long on = (u32)vmxon_region, current = (u32)vmcs_region;
    __asm__ volatile("vmxon %0\n\tvmclear %1\n\tvmptrld %1" : : "m"(on), "m"(current) : "cc", "memory");
}

static void vmx_off(void)
{
    __asm__ volatile("vmxoff" : : : "cc", "memory");
    write_cr4(read_cr4() & ~CR4_VMXE);
}

static u32 vmread(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    vmx_on();
    if (base) LOOP("movl %%eax, %%ebx", : "a"(FIELD_GUEST_RIP) : "ebx");
    else LOOP("vmread %%eax, %%ebx", : "a"(FIELD_GUEST_RIP) : "ebx", "cc");
    vmx_off();
    return count;
}

static u32 vmwrite(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    vmx_on();
    if (base) LOOP("", : "a"(FIELD_GUEST_RIP), "b"(0x100000));
    else LOOP("vmwrite %%ebx, %%eax", : "a"(FIELD_GUEST_RIP), "b"(0x100000) : "cc", "memory");
    vmx_off();
    return count;
}

/* Adams & Agesen's nanobenchmarks (ASPLOS 2006), the ones `in` above does not already cover. */

/* A system call round trip, ring 3 -> 0 -> 3: INT 0x80 to a handler that IRETs at once. */
static u32 syscall(u32 n, u32 param, int base)
{
    (void)param;
    user_loop(n, !base);
    return n;
}

/* cr8wr has no IA-32 counterpart; the kernel's frequent CR write is CR0.TS, which a kernel sets
 * at each task switch for lazy FPU state (and clears with CLTS at the first FPU use). The guest
 * uses no FPU, so TS changes nothing for it. */
static u32 cr0_ts(u32 n, u32 param, int base)
{
    (void)param;
    return toggle_cr0(n, CR0_TS, base);
}

static u32 call_ret(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    if (base) LOOP("");
    else LOOP("call empty_function", : : "memory");
    return count;
}

/* A load from a page no table maps (a 2-byte MOV), whose #PF the guest's handler ends by
 * returning past it: the fault the kernel handles itself, with no page-table change. */
static u32 pgfault(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    set_gate(VECTOR_PF, skip_fault_error_stub, 0);
    if (base) LOOP("");
    else LOOP("movl (%%ebx), %%eax", : "b"(UNMAPPED) : "eax", "memory");
    unexpected_gate(VECTOR_PF);
    return count;
}

/* DIV by zero (2 bytes), whose #DE the guest's handler ends by returning past it. */
static u32 divzero(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    set_gate(VECTOR_DE, skip_fault_stub, 0);
    if (base) LOOP("");
    else LOOP("divl %%ecx", : "c"(0) : "eax", "edx");
    unexpected_gate(VECTOR_DE);
    return count;
}

/* A write into a live page-table entry (the one mapping page_data, its accessed bit flipped), which
 * the shadow MMU must see; the base loop flips the same bit in plain RAM. */
static u32 ptemod(u32 n, u32 param, int base)
{
    (void)param;
    u32 count = n;
    volatile u32 *target = base ? page_data : pte_of((u32)page_data);
    LOOP("xorl %1, (%%ebx)", : "b"(target), "i"(PTE_A) : "memory");
    return count;
}

const struct test tests[] = {
    { "cpuid", cpuid, 0, 0, 0, 0 },
    { "vmcall", vmcall, 0, 0, 1, 0 },
    { "out", out, 0, 0, 0, 0 },
    { "in", in, 0, 0, 0, 0 },
    { "cr0", cr0, 0, 0, 0, 0 },
    { "cr3", cr3, 4, 1, 0, 0 },
    { "pagefault", pagefault, 0, 1, 0, 0 },
    { "invlpg", invlpg, 0, 1, 0, 0 },
    { "cli-sti", cli_sti, 0, 0, 0, 0 },
    { "popf", popf, 0, 0, 0, 0 },
    { "vga", vga, 0, 0, 0, 0 },
    { "hlt", hlt, 0, 0, 0, 0 },
    { "irq", irq, 0, 0, 0, 0 },
    { "compute", compute, 0, 0, 0, 0 },
    { "compute-pg", compute, 0, 1, 0, 0 },
    { "vmread", vmread, 0, 1, 0, 1 },
    { "vmwrite", vmwrite, 0, 1, 0, 1 },
    { "syscall", syscall, 0, 0, 0, 0 },
    { "cr0-ts", cr0_ts, 0, 0, 0, 0 },
    { "call-ret", call_ret, 0, 0, 0, 0 },
    { "pgfault", pgfault, 0, 1, 0, 0 },
    { "divzero", divzero, 0, 0, 0, 0 },
    { "ptemod", ptemod, 0, 1, 0, 0 },
};
const u32 test_count = sizeof tests / sizeof tests[0];
