/* ringcheck - the checks that tell a kernel whether it really runs at ring 0 or deprivileged under a
 * monitor. Each runs at any privilege level without a trap and reads state that a monitor of the
 * pre-VT kind must change: the RPL of CS and SS (`mov ax, cs; test al, 3`, PUSH CS/SS), the DPL
 * that LAR reports for the kernel's own descriptors (and VERR/VERW/LSL), the descriptor-table and
 * task registers (SGDT SIDT SLDT STR), CR0's low half (SMSW), and the IF that PUSHF shows after
 * CLI and POPF. The kernel loads its own GDT, IDT, LDT and TSS first, so every value has one
 * right answer: on bare hardware, under QEMU and under VT-x each check shows ring 0; under
 * wasmvisor's `--if-mode classic` (the kernel deprivileged to ring 1, as VMware ran it) they
 * show the monitor. A far return through the CS it pushed must still work either way.
 * One line per check, then the verdict. Runs under wasmvisor and QEMU. */
#include "guest.h"

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_LDT 0x18
#define SEL_TSS 0x20
#define EFLAGS_IF (1u << 9)

struct table_register {
    u16 limit;
    u32 base;
} __attribute__((packed));

static u32 gdt[5][2] __attribute__((aligned(8)));
static u32 ldt[2][2] __attribute__((aligned(8)));
static u32 idt[256][2] __attribute__((aligned(8))); /* all gates absent; the PIC is masked */
static u32 tss[26] __attribute__((aligned(4)));

static u32 vmm_signs; /* checks that found something other than ring 0 */

static void set_descriptor(u32 *d, u32 base, u32 limit, u32 access, u32 flags)
{
    d[0] = (limit & 0xffff) | (base << 16);
    d[1] = ((base >> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000);
}

static void tables_init(void)
{
    set_descriptor(gdt[1], 0, 0xfffff, 0x9b, 0xc);                 /* code, ring 0, 4 GiB */
    set_descriptor(gdt[2], 0, 0xfffff, 0x93, 0xc);                 /* data, ring 0, 4 GiB */
    set_descriptor(gdt[3], (u32)ldt, sizeof ldt - 1, 0x82, 0);     /* LDT */
    set_descriptor(gdt[4], (u32)tss, sizeof tss - 1, 0x89, 0);     /* 32-bit TSS, available */
    struct table_register g = {sizeof gdt - 1, (u32)gdt}, i = {sizeof idt - 1, (u32)idt};
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp $0x08, $1f\n"
                     "1:\tmovw %w1, %%ds\n\tmovw %w1, %%es\n\tmovw %w1, %%ss\n\tmovw %w1, %%fs\n\tmovw %w1, %%gs\n\t"
                     "lidt %2\n\t"
                     "lldt %w3\n\t"
                     "ltr %w4"
                     : : "m"(g), "r"(SEL_DATA), "m"(i), "r"(SEL_LDT), "r"(SEL_TSS) : "memory");
}

static void verdict(int ring0, const char *what)
{
    if (!ring0)
        vmm_signs++;
    kprintf("ringcheck: %s: %s\n", what, ring0 ? "ring 0" : "NOT ring 0");
}

static void selectors(void)
{
    u32 cs, ss, pushed_cs, pushed_ss;
    __asm__ volatile("movl %%cs, %0\n\tmovl %%ss, %1" : "=r"(cs), "=r"(ss));
    __asm__ volatile("pushl %%cs\n\tpopl %0\n\tpushl %%ss\n\tpopl %1" : "=r"(pushed_cs), "=r"(pushed_ss));
    kprintf("ringcheck: mov ax, cs = 0x%04x, mov ax, ss = 0x%04x, push cs = 0x%04x, push ss = 0x%04x\n",
            cs & 0xffff, ss & 0xffff, pushed_cs & 0xffff, pushed_ss & 0xffff);
    verdict(((cs | ss | pushed_cs | pushed_ss) & 3) == 0, "RPL of CS and SS");
}

static u32 lar(u32 sel, u32 *ok)
{
    u32 rights = 0;
    u8 zf;
    __asm__ volatile("larl %2, %0\n\tsetz %1" : "+r"(rights), "=q"(zf) : "r"(sel) : "cc");
    *ok = zf;
    return rights;
}

static void access_rights(void)
{
    u32 cs, ss, cs_ok, ss_ok, limit = 0;
    u8 readable, writable, limit_ok;
    __asm__ volatile("movl %%cs, %0\n\tmovl %%ss, %1" : "=r"(cs), "=r"(ss));
    /* the selectors as read: a kernel that passes its CS back must get its own descriptor */
    u32 cs_rights = lar(cs, &cs_ok), ss_rights = lar(ss, &ss_ok);
    __asm__ volatile("verr %w1\n\tsetz %0" : "=q"(readable) : "r"(cs) : "cc");
    __asm__ volatile("verw %w1\n\tsetz %0" : "=q"(writable) : "r"(ss) : "cc");
    __asm__ volatile("lsll %2, %0\n\tsetz %1" : "+r"(limit), "=q"(limit_ok) : "r"(ss) : "cc");
    u32 cs_dpl = (cs_rights >> 13) & 3, ss_dpl = (ss_rights >> 13) & 3;
    kprintf("ringcheck: lar cs: %s DPL %u, lar ss: %s DPL %u; verr cs %u, verw ss %u, lsl ss %u = 0x%08x\n",
            cs_ok ? "valid" : "invalid", cs_dpl, ss_ok ? "valid" : "invalid", ss_dpl, readable, writable, limit_ok, limit);
    verdict(cs_ok && ss_ok && cs_dpl == 0 && ss_dpl == 0 && readable && writable && limit_ok, "descriptor privilege (LAR VERR VERW LSL)");
}

static void system_registers(void)
{
    struct table_register g, i;
    u16 ldtr, tr;
    u32 msw;
    __asm__ volatile("sgdt %0\n\tsidt %1" : "=m"(g), "=m"(i));
    __asm__ volatile("sldt %w0\n\tstr %w1" : "=r"(ldtr), "=r"(tr));
    __asm__ volatile("smsw %0" : "=r"(msw));
    kprintf("ringcheck: sgdt 0x%08x/0x%04x, sidt 0x%08x/0x%04x, sldt 0x%04x, str 0x%04x, smsw 0x%04x\n",
            g.base, g.limit, i.base, i.limit, ldtr, tr, msw & 0xffff);
    int ours = g.base == (u32)gdt && g.limit == sizeof gdt - 1 && i.base == (u32)idt && i.limit == sizeof idt - 1 &&
               ldtr == SEL_LDT && tr == SEL_TSS;
    verdict(ours, "SGDT SIDT SLDT STR show the kernel's own tables");
    /* this kernel never turns on paging or TS, so SMSW shows PE and ET at most */
    verdict((msw & 0xfffe & ~0x10u) == 0, "SMSW shows only what the kernel set");
}

static u32 pushf(void)
{
    u32 flags;
    __asm__ volatile("pushfl\n\tpopl %0" : "=r"(flags));
    return flags;
}

static void interrupt_flag(void)
{
    __asm__ volatile("cli" : : : "memory");
    u32 after_cli = pushf() & EFLAGS_IF;
    __asm__ volatile("pushl %0\n\tpopfl" : : "r"(pushf() | EFLAGS_IF) : "memory", "cc");
    u32 after_popf_set = pushf() & EFLAGS_IF;
    __asm__ volatile("pushl %0\n\tpopfl" : : "r"(pushf() & ~EFLAGS_IF) : "memory", "cc");
    u32 after_popf_clear = pushf() & EFLAGS_IF;
    __asm__ volatile("cli" : : : "memory");
    kprintf("ringcheck: pushf shows IF=%u after cli, IF=%u after popf of IF=1, IF=%u after popf of IF=0\n",
            after_cli >> 9, after_popf_set >> 9, after_popf_clear >> 9);
    verdict(!after_cli && after_popf_set && !after_popf_clear, "PUSHF shows the IF that CLI and POPF set");
}

/* A far return through the CS the kernel pushed itself, and SS reloaded from what it read:
 * both must work whatever the checks above showed. */
static void round_trip(void)
{
    u32 ss;
    __asm__ volatile("pushl %%cs\n\tpushl $1f\n\tlret\n1:\n\tmovl %%ss, %0\n\tmovw %w0, %%ss" : "=r"(ss) : : "memory");
    puts("ringcheck: lret through the pushed CS and mov ss of the read SS: ok\n");
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    (void)mb;
    outb(0x21, 0xff); /* mask both PICs: no interrupt may come while IF is set with no gates */
    outb(0xa1, 0xff);
    tables_init();
    selectors();
    access_rights();
    system_registers();
    interrupt_flag();
    round_trip();
    if (vmm_signs)
        kprintf("ringcheck: verdict: deprivileged, %u check(s) found a monitor\n", vmm_signs);
    else
        puts("ringcheck: verdict: ring 0, no monitor found\n");
    return 0;
}
