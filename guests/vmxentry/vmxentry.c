/* vmxentry.c - a guest hypervisor (L1) that runs two tiny programs as its guest (L2) and prints
 * every exit it gets: reason, qualification, what it did about it. First a VMLAUNCH with a bad
 * guest state (an entry-failure exit), then program A (CPUID, I/O, CR3 loads and stores, CR0
 * through L1's guest/host mask and read shadow, CLTS, #UD through the exception bitmap, HLT, an
 * injected software interrupt), program B (a 3-million-instruction loop, I/O and MSR bitmaps,
 * RDTSC and INVLPG exiting) and program C (a #PF on L2's stack while an injected interrupt and
 * then an INT n are delivered: the exit's IDT-vectoring information, which L1 delivers again),
 * with exit counts at the end. L2's code is in stub.S; it shares L1's flat
 * segments, tables and paging.
 * It runs under Bochs (booted by GRUB) and under wasmvisor --nested vmx, and both must print
 * vmxentry.expected, which Bochs printed (test/guests/bochs-vmx.test.ts). Nothing printed depends
 * on the implementation: no revision ID, no real CPUID or TSC value, no field L1 did not write. */
#include "descriptors.h"


#define PAGE 4096
static u8 vmxon_region[PAGE] __attribute__((aligned(PAGE)));
static u8 vmcs_region[2][PAGE] __attribute__((aligned(PAGE)));
static u8 io_bitmaps[2 * PAGE] __attribute__((aligned(PAGE)));
static u8 msr_bitmap[PAGE] __attribute__((aligned(PAGE)));
static u32 page_directory[1024] __attribute__((aligned(PAGE)));
static u8 host_stack[PAGE] __attribute__((aligned(16)));
static u8 l2_stack[PAGE] __attribute__((aligned(16)));
static u64 gdt[4] __attribute__((aligned(8))) = {
    0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull, 0x00008b0000000067ull, /* null, code, data, TSS */
};
static u64 idt[256] __attribute__((aligned(8)));

extern u32 run_l2(u32 resume);
extern char l2_program_a[], l2_program_b[], l2_program_c[], l2_vector_30[], l2_vector_31[];

/* The encodings (SDM appendix B) of the fields used. */
enum {
    PIN_CONTROLS = 0x4000, PRIMARY_CONTROLS = 0x4002, EXCEPTION_BITMAP = 0x4004, CR3_TARGET_COUNT = 0x400a,
    EXIT_CONTROLS = 0x400c, ENTRY_CONTROLS = 0x4012, ENTRY_INTERRUPTION_INFO = 0x4016, ENTRY_INSTRUCTION_LENGTH = 0x401a,
    IO_BITMAP_A = 0x2000, IO_BITMAP_B = 0x2002, MSR_BITMAP = 0x2004, VMCS_LINK_POINTER = 0x2800,
    ENTRY_EXCEPTION_ERROR_CODE = 0x4018, VM_INSTRUCTION_ERROR = 0x4400, EXIT_REASON = 0x4402, EXIT_INTERRUPTION_INFO = 0x4404,
    EXIT_INTERRUPTION_ERROR_CODE = 0x4406, IDT_VECTORING_INFO = 0x4408, IDT_VECTORING_ERROR_CODE = 0x440a, EXIT_INSTRUCTION_LENGTH = 0x440c,
    CR0_GUEST_HOST_MASK = 0x6000, CR0_READ_SHADOW = 0x6004, EXIT_QUALIFICATION = 0x6400,
    GUEST_ES_SELECTOR = 0x0800, GUEST_ES_LIMIT = 0x4800, GUEST_ES_ACCESS_RIGHTS = 0x4814, GUEST_ES_BASE = 0x6806,
    GUEST_GDTR_LIMIT = 0x4810, GUEST_IDTR_LIMIT = 0x4812, GUEST_INTERRUPTIBILITY = 0x4824, GUEST_ACTIVITY_STATE = 0x4826,
    GUEST_SYSENTER_CS = 0x482a, GUEST_CR0 = 0x6800, GUEST_CR3 = 0x6802, GUEST_CR4 = 0x6804, GUEST_GDTR_BASE = 0x6816,
    GUEST_IDTR_BASE = 0x6818, GUEST_DR7 = 0x681a, GUEST_RSP = 0x681c, GUEST_RIP = 0x681e, GUEST_RFLAGS = 0x6820,
    HOST_ES_SELECTOR = 0x0c00, HOST_CS_SELECTOR = 0x0c02, HOST_SS_SELECTOR = 0x0c04, HOST_DS_SELECTOR = 0x0c06,
    HOST_FS_SELECTOR = 0x0c08, HOST_GS_SELECTOR = 0x0c0a, HOST_TR_SELECTOR = 0x0c0c,
    HOST_CR0 = 0x6c00, HOST_CR3 = 0x6c02, HOST_CR4 = 0x6c04, HOST_TR_BASE = 0x6c0a, HOST_GDTR_BASE = 0x6c0c,
    HOST_IDTR_BASE = 0x6c0e, HOST_RSP = 0x6c14, HOST_RIP = 0x6c16,
};

/* Default1 bits of each control (no TRUE_* MSRs), and the optional ones used. */
#define PIN_DEFAULT1 0x16u
#define PRIMARY_DEFAULT1 0x0401e172u
#define EXIT_DEFAULT1 0x36dffu
#define ENTRY_DEFAULT1 0x11ffu
#define HLT_EXITING (1u << 7)
#define INVLPG_EXITING (1u << 9)
#define RDTSC_EXITING (1u << 12)
#define UNCONDITIONAL_IO (1u << 24)
#define USE_IO_BITMAPS (1u << 25)
#define USE_MSR_BITMAPS (1u << 28)
#define CR0_TS 8u

static u32 vmread(u32 field)
{
    u32 value;
    __asm__ volatile("vmread %1, %0" : "=r"(value) : "r"(field) : "cc");
    return value;
}

static void vmwrite(u32 field, u32 value)
{
    u32 flags;
    __asm__ volatile("vmwrite %1, %2\n pushf\n pop %0" : "=r"(flags) : "r"(value), "r"(field) : "cc");
    if (flags & 0x41)
        kprintf("VMWRITE %x failed\n", field);
}

static u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((u64)hi << 32) | lo;
}

static u32 read_cr(int n)
{
    u32 v = 0;
    if (n == 0) __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    if (n == 3) __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    if (n == 4) __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

/* L2's registers as vm_exit pushed them (PUSHAL). */
struct regs { u32 edi, esi, ebp, esp, ebx, edx, ecx, eax; };

static u32 exit_counts[64];

static void skip_instruction(void)
{
    vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(EXIT_INSTRUCTION_LENGTH));
}

static u32 *gpr(struct regs *r, u32 n)
{
    u32 *order[8] = { &r->eax, &r->ecx, &r->edx, &r->ebx, &r->esp, &r->ebp, &r->esi, &r->edi };
    return order[n & 7];
}

static void control_register(struct regs *r, u32 q)
{
    u32 cr = q & 15, type = (q >> 4) & 3, *reg = gpr(r, q >> 8);
    if (type == 0 && cr == 3) {
        kprintf("  MOV to CR3 of %x\n", *reg);
        vmwrite(GUEST_CR3, *reg);
    } else if (type == 1 && cr == 3) {
        kprintf("  MOV from CR3\n");
        *reg = vmread(GUEST_CR3);
    } else if (type == 0 && cr == 0) {
        kprintf("  MOV to CR0, TS %u (the shadow's TS was %u)\n", (*reg & CR0_TS) >> 3, (vmread(CR0_READ_SHADOW) & CR0_TS) >> 3);
        vmwrite(CR0_READ_SHADOW, *reg);
    } else if (type == 2) {
        kprintf("  CLTS\n");
        vmwrite(CR0_READ_SHADOW, vmread(CR0_READ_SHADOW) & ~CR0_TS);
    }
}

/* An exception exit during an event's delivery (SDM 27.2.4): the event, which L1 delivers again
 * at the next entry (with INT n's length for a software one), as a hypervisor must, once it has
 * given L2 a stack it can push on. */
static void deliver_again(u32 vectoring)
{
    u32 info = vmread(EXIT_INTERRUPTION_INFO), type = (vectoring >> 8) & 7;
    if (info & 0x800)
        kprintf("  error code %x\n", vmread(EXIT_INTERRUPTION_ERROR_CODE));
    kprintf("  during delivery of %x", vectoring);
    if (vectoring & 0x800)
        kprintf(", error code %x", vmread(IDT_VECTORING_ERROR_CODE));
    if (type >= 4)
        kprintf(", instruction length %u", vmread(EXIT_INSTRUCTION_LENGTH));
    puts("\n");
    vmwrite(GUEST_RSP, (u32)l2_stack + PAGE);
    vmwrite(ENTRY_INTERRUPTION_INFO, vectoring & ~0x1000u);
    vmwrite(ENTRY_EXCEPTION_ERROR_CODE, vmread(IDT_VECTORING_ERROR_CODE));
    vmwrite(ENTRY_INSTRUCTION_LENGTH, vmread(EXIT_INSTRUCTION_LENGTH));
}

/* Nonzero: resume L2. */
u32 handle_exit(struct regs *r)
{
    u32 reason = vmread(EXIT_REASON), q = vmread(EXIT_QUALIFICATION);
    exit_counts[reason & 63]++;
    kprintf("exit %u, qualification %x\n", reason & 0xffff, q);
    if (reason & 0x80000000) {
        kprintf("  VM-entry failure (reason %x)\n", reason);
        return 0;
    }
    switch (reason) {
    case 0: {
        u32 vectoring = vmread(IDT_VECTORING_INFO);
        kprintf("  exception, interruption information %x\n", vmread(EXIT_INTERRUPTION_INFO));
        if (vectoring & 0x80000000)
            deliver_again(vectoring);
        else
            vmwrite(GUEST_RIP, vmread(GUEST_RIP) + 2); /* ud2 */
        return 1;
    }
    case 10:
        kprintf("  CPUID leaf %x, length %u\n", r->eax, vmread(EXIT_INSTRUCTION_LENGTH));
        r->eax = r->ebx = r->ecx = r->edx = 0x4c31; /* "L1" */
        break;
    case 12:
        kprintf("  HLT\n");
        break;
    case 14:
        kprintf("  INVLPG\n");
        break;
    case 16:
        kprintf("  RDTSC\n");
        r->eax = 0x1234;
        r->edx = 0;
        break;
    case 18:
        kprintf("  VMCALL: L2 is done\n");
        return 0;
    case 28:
        control_register(r, q);
        break;
    case 30:
        if (q & 8) {
            kprintf("  IN from port %x, size %u\n", q >> 16, (q & 7) + 1);
            r->eax = (r->eax & ~0xffu) | 'Z';
        } else {
            kprintf("  OUT to port %x, size %u: '%c'\n", q >> 16, (q & 7) + 1, r->eax & 0xff);
        }
        break;
    case 32:
        kprintf("  WRMSR %x of %x:%x\n", r->ecx, r->edx, r->eax);
        break;
    default:
        kprintf("  not expected\n");
        return 0;
    }
    skip_instruction();
    return 1;
}

static void guest_segment(int index, u32 selector, u32 limit, u32 rights)
{
    vmwrite(GUEST_ES_SELECTOR + 2 * index, selector);
    vmwrite(GUEST_ES_BASE + 2 * index, 0);
    vmwrite(GUEST_ES_LIMIT + 2 * index, limit);
    vmwrite(GUEST_ES_ACCESS_RIGHTS + 2 * index, rights);
}

/* A VMCS for L2 at `program`: flat ring-0 segments, L1's tables and paging, L1's host state. */
static void setup_vmcs(char *program, u32 primary)
{
    vmwrite(PIN_CONTROLS, PIN_DEFAULT1);
    vmwrite(PRIMARY_CONTROLS, PRIMARY_DEFAULT1 | HLT_EXITING | primary);
    vmwrite(EXIT_CONTROLS, EXIT_DEFAULT1);
    vmwrite(ENTRY_CONTROLS, ENTRY_DEFAULT1);
    vmwrite(CR3_TARGET_COUNT, 0);
    vmwrite(HOST_CR0, read_cr(0));
    vmwrite(HOST_CR3, read_cr(3));
    vmwrite(HOST_CR4, read_cr(4));
    vmwrite(HOST_CS_SELECTOR, 8);
    vmwrite(HOST_SS_SELECTOR, 0x10);
    vmwrite(HOST_DS_SELECTOR, 0x10);
    vmwrite(HOST_ES_SELECTOR, 0x10);
    vmwrite(HOST_FS_SELECTOR, 0);
    vmwrite(HOST_GS_SELECTOR, 0);
    vmwrite(HOST_TR_SELECTOR, 0x18);
    vmwrite(HOST_TR_BASE, 0);
    vmwrite(HOST_GDTR_BASE, (u32)gdt);
    vmwrite(HOST_IDTR_BASE, (u32)idt);
    vmwrite(HOST_RSP, (u32)host_stack + PAGE);
    extern char vm_exit[];
    vmwrite(HOST_RIP, (u32)vm_exit);

    vmwrite(GUEST_CR0, read_cr(0));
    vmwrite(GUEST_CR3, read_cr(3));
    vmwrite(GUEST_CR4, read_cr(4));
    guest_segment(0, 0x10, 0xffffffff, 0xc093);
    guest_segment(1, 0x08, 0xffffffff, 0xc09b);
    guest_segment(2, 0x10, 0xffffffff, 0xc093);
    guest_segment(3, 0x10, 0xffffffff, 0xc093);
    guest_segment(4, 0, 0, 0x10000);
    guest_segment(5, 0, 0, 0x10000);
    guest_segment(6, 0, 0, 0x10000);
    guest_segment(7, 0x18, 0x67, 0x8b);
    vmwrite(GUEST_GDTR_BASE, (u32)gdt);
    vmwrite(GUEST_GDTR_LIMIT, sizeof gdt - 1);
    vmwrite(GUEST_IDTR_BASE, (u32)idt);
    vmwrite(GUEST_IDTR_LIMIT, sizeof idt - 1);
    vmwrite(GUEST_DR7, 0x400);
    vmwrite(GUEST_RSP, (u32)l2_stack + PAGE);
    vmwrite(GUEST_RIP, (u32)program);
    vmwrite(GUEST_RFLAGS, 2);
    vmwrite(GUEST_INTERRUPTIBILITY, 0);
    vmwrite(GUEST_ACTIVITY_STATE, 0);
    vmwrite(VMCS_LINK_POINTER, 0xffffffff);
    vmwrite(VMCS_LINK_POINTER + 1, 0xffffffff);
}

static void load_vmcs(int which)
{
    u64 pointer = (u32)vmcs_region[which];
    *(u32 *)vmcs_region[which] = (u32)rdmsr(0x480);
    __asm__ volatile("vmclear %0\n vmptrld %0" : : "m"(pointer) : "cc", "memory");
}

/* Runs L2 until it is done; prints how VMLAUNCH or VMRESUME failed, if one did. */
static void run(void)
{
    u32 result = run_l2(0);
    if (!(result & 0x80000000))
        return;
    kprintf("VM entry failed: %s", result & 1 ? "VMfailInvalid" : "VMfailValid");
    if (result & 0x40)
        kprintf(" (error %u)", vmread(VM_INSTRUCTION_ERROR));
    puts("\n");
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)mb;
    if (magic != MB_BOOT_MAGIC)
        return 1;
    u32 eax = 1, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
    if (!(ecx & (1 << 5))) {
        puts("no VMX\n");
        return 1;
    }
    /* Our own GDT (flat code 0x08, data 0x10, a TSS descriptor at 0x18) and an IDT with vector 0x30. */
    load_gdt(gdt, sizeof gdt);
    set_interrupt_gate(idt, 0x30, l2_vector_30);
    set_interrupt_gate(idt, 0x31, l2_vector_31);
    load_idt(idt, sizeof idt);

    page_directory[0] = 0x83;
    __asm__ volatile("mov %0, %%cr3" : : "r"(page_directory));
    __asm__ volatile("mov %0, %%cr4" : : "r"(read_cr(4) | 0x2010));
    __asm__ volatile("mov %0, %%cr0" : : "r"(read_cr(0) | 0x80000020));
    *(u32 *)vmxon_region = (u32)rdmsr(0x480);
    u64 pointer = (u32)vmxon_region;
    __asm__ volatile("vmxon %0" : : "m"(pointer) : "cc", "memory");

    puts("-- a guest state with CS limit 4 GiB but byte granularity\n");
    load_vmcs(0);
    setup_vmcs(l2_program_a, UNCONDITIONAL_IO);
    guest_segment(1, 0x08, 0xffffffff, 0x409b);
    run();

    puts("-- program A: unconditional I/O, CR0.TS owned, #UD intercepted, INT 0x30 injected\n");
    setup_vmcs(l2_program_a, UNCONDITIONAL_IO);
    vmwrite(CR0_GUEST_HOST_MASK, CR0_TS);
    vmwrite(CR0_READ_SHADOW, 0);
    vmwrite(GUEST_CR0, read_cr(0) | CR0_TS);
    vmwrite(EXCEPTION_BITMAP, 1u << 6);
    /* INT 0x30 as if the 2-byte instruction at L2's first byte had run: a software interrupt. */
    vmwrite(ENTRY_INTERRUPTION_INFO, 0x80000430);
    vmwrite(ENTRY_INSTRUCTION_LENGTH, 2);
    run();

    puts("-- program B: I/O and MSR bitmaps, RDTSC and INVLPG exiting\n");
    load_vmcs(1);
    setup_vmcs(l2_program_b, USE_IO_BITMAPS | USE_MSR_BITMAPS | RDTSC_EXITING | INVLPG_EXITING);
    io_bitmaps[0xe9 / 8] |= 1u << (0xe9 % 8);
    msr_bitmap[0x800 + 0x175 / 8] |= 1u << (0x175 % 8); /* WRMSR of IA32_SYSENTER_ESP */
    vmwrite(IO_BITMAP_A, (u32)io_bitmaps);
    vmwrite(IO_BITMAP_B, (u32)io_bitmaps + PAGE);
    vmwrite(IO_BITMAP_A + 1, 0);
    vmwrite(IO_BITMAP_B + 1, 0);
    vmwrite(MSR_BITMAP, (u32)msr_bitmap);
    vmwrite(MSR_BITMAP + 1, 0);
    vmwrite(GUEST_SYSENTER_CS, 7);
    run();

    puts("-- program C: #PF intercepted, L2's stack on a page not present, external interrupt 0x31 injected\n");
    load_vmcs(0);
    setup_vmcs(l2_program_c, UNCONDITIONAL_IO);
    vmwrite(EXCEPTION_BITMAP, 1u << 14);
    vmwrite(GUEST_RSP, 0x800010); /* above the 4 MiB L1's one large page maps */
    vmwrite(GUEST_RFLAGS, 0x202); /* an external interrupt is injected only with IF set */
    vmwrite(ENTRY_INTERRUPTION_INFO, 0x80000031);
    run();

    puts("exit counts:");
    for (u32 reason = 0; reason < 64; reason++)
        if (exit_counts[reason])
            kprintf(" %u:%u", reason, exit_counts[reason]);
    puts("\n");
    __asm__ volatile("vmxoff" : : : "cc");
    puts("done\n");
    bochs_shutdown();
    return 0;
}
