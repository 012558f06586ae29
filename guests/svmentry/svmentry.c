/* svmentry.c - a guest hypervisor (L1) that runs tiny programs as its guest (L2) through AMD's SVM
 * and prints every #VMEXIT it gets: the exit code, the exit information the APM defines for it on a
 * CPU without decode assists (EXITINFO1/2 of IOIO, MSR and exceptions), and nRIP as an offset from
 * the RIP saved. First VMRUNs of VMCBs that fail the consistency checks (VMEXIT_INVALID; not
 * CR0.NW without CR0.CD, for which Bochs raises #GP instead of the APM's VMEXIT_INVALID), then
 * program A (CPUID, IOIO through the I/O permission map, MSR through the MSR permission map, CR0
 * read and CR3 write intercepts, #UD, HLT, VMMCALL), an injected software interrupt, L1's virtual
 * interrupt (V_IRQ: after STI's shadow, masked by V_TPR or not, the VINTR intercept), the interrupt
 * shadow at #VMEXIT, a real-mode program (CR0.PE clear: VT-x without unrestricted guest refuses
 * it), and an injected interrupt whose delivery faults through an empty gate (EXITINTINFO names
 * it: L1 fills the gate and injects it again). Not an INT n's: Bochs 2.7 reports the EXITINTINFO of
 * the last event injected for it, where the APM names the INT n (type 4), as wasmvisor does
 * (test/vmm/nested/event-delivery.test.ts). L2's code is in stub.S; it shares L1's flat segments, tables and paging.
 * It runs under Bochs (an AMD model with NRIPS, booted by GRUB) and under wasmvisor --cpu amd
 * --nested svm, and both must print svmentry.expected, which Bochs printed. Nothing printed depends
 * on the implementation: no addresses, no real CPUID values. */
#include "descriptors.h"
#include "svm.h"

#define PAGE 4096
static u8 vmcb[PAGE] __attribute__((aligned(PAGE)));
static u8 host_save[PAGE] __attribute__((aligned(PAGE)));
static u8 iopm[3 * PAGE] __attribute__((aligned(PAGE)));
static u8 msrpm[2 * PAGE] __attribute__((aligned(PAGE)));
static u8 l2_stack[PAGE] __attribute__((aligned(16)));
static u64 gdt[3] __attribute__((aligned(8))) = { 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull };
static u64 idt[256] __attribute__((aligned(8)));

extern void run_l2(u32 vmcb);
extern char l2_program_a[], l2_program_real[], l2_vector_30[], l2_program_vintr[], l2_program_shadow[], l2_vector_31[];
extern char l2_program_vmmcall[], l2_vector_32[];

static u32 *word(u32 offset) { return (u32 *)(vmcb + offset); }
static void set(u32 offset, u32 value) { word(offset)[0] = value; }
static void set64(u32 offset, u32 value) { word(offset)[0] = value; word(offset)[1] = 0; }
static u32 get(u32 offset) { return word(offset)[0]; }

static void segment(u32 index, u16 selector, u16 attributes, u32 limit, u32 base)
{
    u8 *s = vmcb + SAVE_ES + 16 * index;
    *(u16 *)s = selector;
    *(u16 *)(s + 2) = attributes;
    *(u32 *)(s + 4) = limit;
    set64(SAVE_ES + 16 * index + 8, base);
}

static u32 read_cr(int n)
{
    u32 v = 0;
    if (n == 0) __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    if (n == 3) __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    if (n == 4) __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

static u32 program_start; /* the L2 program setup_vmcb set up */

/* A VMCB for a flat 32-bit ring-0 L2 at `program`, intercepting VMRUN and VMMCALL. */
static void setup_vmcb(char *program)
{
    memset(vmcb, 0, PAGE);
    set(INTERCEPTS_2, INTERCEPT_VMRUN | INTERCEPT_VMMCALL);
    set(GUEST_ASID, 1);
    set64(IOPM_BASE, (u32)iopm);
    set64(MSRPM_BASE, (u32)msrpm);
    segment(0, 0x10, 0xc93, 0xffffffff, 0);
    segment(1, 0x08, 0xc9b, 0xffffffff, 0);
    segment(2, 0x10, 0xc93, 0xffffffff, 0);
    segment(3, 0x10, 0xc93, 0xffffffff, 0);
    set64(SAVE_GDTR + 4, sizeof gdt - 1);
    set64(SAVE_GDTR + 8, (u32)gdt);
    set64(SAVE_IDTR + 4, sizeof idt - 1);
    set64(SAVE_IDTR + 8, (u32)idt);
    set64(SAVE_EFER, (u32)rdmsr(MSR_EFER));
    set64(SAVE_CR0, read_cr(0));
    set64(SAVE_CR3, read_cr(3));
    set64(SAVE_CR4, read_cr(4));
    set64(SAVE_DR7, 0x400);
    set64(SAVE_RFLAGS, 2);
    set64(SAVE_RIP, (u32)program);
    program_start = (u32)program;
    set64(SAVE_RSP, (u32)l2_stack + PAGE);
}

static u32 exit_counts[0x90];

/* An exit during the delivery of the event EXITINTINFO names, an interrupt through vector 0x32,
 * whose gate L2's IDT left empty: L1 fills the gate and injects the interrupt again. */
static void deliver_again(u32 event)
{
    set_interrupt_gate(idt, 0x32, l2_vector_32);
    set(EVENTINJ, event);
}

/* Runs L2 until VMMCALL or VMEXIT_INVALID, printing each #VMEXIT. */
static void run(void)
{
    for (;;) {
        run_l2((u32)vmcb);
        u32 code = get(EXITCODE), rip = get(SAVE_RIP), nrip = get(NRIP);
        if (code == 0xffffffff) {
            kprintf("#VMEXIT VMEXIT_INVALID (EXITCODE %x%x)\n", get(EXITCODE + 4), code);
            return;
        }
        exit_counts[code < 0x90 ? code : 0]++;
        kprintf("#VMEXIT %x", code);
        if (code == 0x7b || code == 0x7c || (code >= 0x40 && code < 0x60))
            kprintf(", EXITINFO1 %x", get(EXITINFO1));
        if (code == 0x7b)
            kprintf(", EXITINFO2 %s", get(EXITINFO2) == nrip ? "nRIP" : "not nRIP");
        if (code == 0x4e)
            kprintf(", EXITINFO2 %x", get(EXITINFO2));
        kprintf(", EXITINTINFO %x", get(EXITINTINFO));
        /* nRIP of an exception or VINTR intercept is 0 in the APM and the next RIP in Bochs: not printed. */
        if ((code < 0x40 || code >= 0x60) && code != 0x64)
            kprintf(", nRIP RIP+%u", nrip - rip);
        puts("\n");
        if (code == 0x81) {
            kprintf("  VMMCALL with EAX %x\n", get(SAVE_RAX));
            return;
        }
        if (code == 0x64) {
            kprintf("  at the program's byte %u\n", rip - program_start);
            return;
        }
        if (get(EXITINTINFO) & 0x80000000) {
            deliver_again(get(EXITINTINFO));
            continue;
        }
        set64(SAVE_RIP, code == 0x46 ? rip + 2 : nrip);
    }
}

/* A program run with L1's virtual interrupt (vector 0x31) pending: V_INTR's word (V_IRQ added),
 * and the VINTR intercept (or not), L2's IF clear; then where it came and what #VMEXIT left. Not with
 * L2's IF set at VMRUN: Bochs then never takes it (it looks for one only when IF changes to 1),
 * where the APM takes it at once; nor with L2 halted, which Bochs never wakes for it (wasmvisor
 * ends the halt: test/vmm/svm/svm-virtual-interrupt.test.ts checks both). */
static void virtual_interrupt(const char *what, char *program, u32 v_intr, u32 intercepts_1)
{
    kprintf("-- %s\n", what);
    setup_vmcb(program);
    set(V_INTR, v_intr | V_IRQ);
    set(V_INTR_VECTOR, 0x31);
    set(INTERCEPTS_1, intercepts_1);
    run();
    kprintf("  V_IRQ after #VMEXIT %u\n", (get(V_INTR) & V_IRQ) != 0);
}

/* A VMCB of program A with one thing wrong: VMRUN must fail its consistency checks. */
static void invalid(const char *what, u32 offset, u32 value)
{
    kprintf("-- %s\n", what);
    setup_vmcb(l2_program_a);
    set(offset, value);
    run();
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)mb;
    if (magic != MB_BOOT_MAGIC)
        return 1;
    u32 eax = 0x80000001, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
    if (!(ecx & (1 << 2))) {
        puts("no SVM\n");
        return 1;
    }
    load_gdt(gdt, sizeof gdt);
    set_interrupt_gate(idt, 0x30, l2_vector_30);
    set_interrupt_gate(idt, 0x31, l2_vector_31);
    load_idt(idt, sizeof idt);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, (u32)host_save);
    /* Every PIC input masked: the BIOS's timer interrupt, never taken by L1 (IF clear), would
     * otherwise reach L2 (which does not intercept INTR) once it sets IF, before L1's virtual one. */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);

    invalid("no VMRUN intercept", INTERCEPTS_2, INTERCEPT_VMMCALL);
    invalid("ASID 0", GUEST_ASID, 0);
    invalid("EFER.SVME clear", SAVE_EFER, 0);
    invalid("EVENTINJ of type 1", EVENTINJ, 0x80000120);
    invalid("EVENTINJ of exception vector 2", EVENTINJ, 0x80000302);

    puts("-- program A: CPUID, IOIO, MSR, CR0 read and CR3 write, #UD, HLT intercepted\n");
    setup_vmcb(l2_program_a);
    set(INTERCEPTS_1, INTERCEPT_CPUID | INTERCEPT_HLT | INTERCEPT_IOIO | INTERCEPT_MSR);
    set(CR_INTERCEPTS, (1u << 0) | (1u << 19));
    set(EXCEPTION_INTERCEPTS, 1u << 6);
    iopm[0x80 / 8] |= 1u << (0x80 % 8);
    iopm[0x71 / 8] |= 1u << (0x71 % 8);
    msrpm[(0x174 * 2 + 1) / 8] |= 1u << ((0x174 * 2 + 1) % 8); /* WRMSR of IA32_SYSENTER_CS */
    run();

    puts("-- program A with INT 0x30 injected (EVENTINJ): L2's handler runs first\n");
    setup_vmcb(l2_program_a);
    set(EVENTINJ, 0x80000430);
    run();
    kprintf("  EVENTINJ after #VMEXIT %x\n", get(EVENTINJ));

    virtual_interrupt("a virtual interrupt, L2's IF clear until STI", l2_program_vintr, V_IGN_TPR, 0);
    virtual_interrupt("a virtual interrupt whose priority is not above V_TPR", l2_program_vintr, (2u << 16) | 2, 0);
    virtual_interrupt("a virtual interrupt whose priority is above V_TPR", l2_program_vintr, (3u << 16) | 2, 0);
    virtual_interrupt("a virtual interrupt under the VINTR intercept", l2_program_vintr, V_IGN_TPR, INTERCEPT_VINTR);
    puts("-- a #VMEXIT in STI's shadow\n");
    setup_vmcb(l2_program_shadow);
    run();
    kprintf("  interrupt shadow %u\n", get(INTERRUPT_SHADOW) & 1);

    puts("-- a real-mode program\n");
    setup_vmcb(l2_program_real);
    set(INTERCEPTS_1, INTERCEPT_IOIO);
    set64(SAVE_CR0, 0x10);
    set64(SAVE_CR4, 0);
    set64(SAVE_RIP, 0);
    set64(SAVE_RSP, 0xfff0);
    set64(SAVE_IDTR + 4, 0x3ff);
    set64(SAVE_IDTR + 8, 0);
    segment(0, 0, 0x93, 0xffff, 0);
    segment(1, 0x1000, 0x9b, 0xffff, (u32)l2_program_real);
    segment(2, 0x6000, 0x93, 0xffff, 0x60000);
    segment(3, 0, 0x93, 0xffff, 0);
    run();

    puts("-- #GP intercepted, interrupt 0x32 injected through an empty gate\n");
    setup_vmcb(l2_program_vmmcall);
    set(EXCEPTION_INTERCEPTS, 1u << 13);
    set(EVENTINJ, 0x80000032);
    run();

    puts("exit counts:");
    for (u32 code = 0; code < 0x90; code++)
        if (exit_counts[code])
            kprintf(" %x:%u", code, exit_counts[code]);
    puts("\ndone\n");
    bochs_shutdown();
    return 0;
}
