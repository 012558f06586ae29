/* svm.c - nestvisor's SVM backend: EFER.SVME and the host-save area, one VMCB, L2's state in it,
 * VMRUN and what nestvisor does at each of L2's #VMEXITs, with the count of each exit code.
 *
 * Exits L2 takes (the VMCB built here intercepts these and no others):
 *   CPUID (72h)       answered as devices.c says;
 *   HLT (78h)         L2 has no interrupt source here, so a halt ends it;
 *   IOIO (7Bh)        every port (the I/O permission map is all ones): devices.c emulates them;
 *   MSR (7Ch)         every MSR (the MSR permission map is all ones: VMRUN, unlike a VM entry,
 *                     does not switch even SYSENTER_CS/ESP/EIP): L2 gets #GP, as on a CPU
 *                     without the MSR;
 *   shutdown (7Fh)    L2 triple-faulted: it stops with a message;
 *   VMRUN, VMMCALL (80h, 81h) #UD, since L2's CPUID shows no SVM (the VMRUN intercept is
 *                     required anyway);
 *   VMEXIT_INVALID    the VMCB failed VMRUN's consistency checks: nestvisor says so and stops.
 *
 * Control registers. SVM has no fixed CR0 or CR4 bits, so L2 owns its control registers in the
 * VMCB and takes no CR exits: it runs with paging off on physical addresses, turns paging on
 * with its own tables, loads CR3 as often as it likes, and may run in real mode (a boot sector):
 * the state-save area with CR0.PE clear, which VMX without unrestricted guest cannot enter.
 *
 * Isolation. The VMX backend runs L2's paging-off phase on nestvisor's one-to-one tables of L2's
 * 16 MiB, which keep it out of nestvisor (above 16 MiB); this backend runs it on physical
 * addresses. A real-mode L2 reaches 10FFEFh at most, so only L2 in protected mode with paging off
 * can reach nestvisor. The same tables here would mean setting CR0.PG behind L2's back and
 * intercepting its CR0 and CR3 reads and writes, which nestvisor would have to decode itself (the
 * exit information has no register without decode assists), and an exit for each; nested paging
 * would do it for free, and wasmvisor does not offer it. A segment base cannot do it: L2 loads its
 * own descriptors. So an L2 that turns against nestvisor here can, as the sample it is; the host
 * is safe either way, since nothing L2 does reaches outside the VM's RAM
 * (test/vmm/svm/svm-hostile-l1.test.ts). */
#include "nestvisor.h"
#include "svm.h"

void svm_enter(struct guest_regs *regs, u32 vmcb); /* svm-enter.S */

#define EVENT_VALID (1u << 31)
#define EVENT_EXCEPTION (3u << 8)
#define EVENT_ERROR_CODE (1u << 11)

static u8 vmcb[PAGE] __attribute__((aligned(PAGE)));
static u8 host_save[PAGE] __attribute__((aligned(PAGE)));
static u8 iopm[3 * PAGE] __attribute__((aligned(PAGE)));
static u8 msrpm[2 * PAGE] __attribute__((aligned(PAGE)));
static u32 exit_counts[SVM_EXIT_CODE_COUNT];

static const char *const exit_names[SVM_EXIT_CODE_COUNT] = {
    [SVM_EXIT_CPUID] = "CPUID", [SVM_EXIT_HLT] = "HLT", [SVM_EXIT_IOIO] = "IOIO", [SVM_EXIT_MSR] = "MSR",
    [SVM_EXIT_SHUTDOWN] = "shutdown", [SVM_EXIT_VMRUN] = "VMRUN", [SVM_EXIT_VMMCALL] = "VMMCALL",
};

static u32 get(u32 offset) { return *(u32 *)(vmcb + offset); }
static void set(u32 offset, u32 value) { *(u32 *)(vmcb + offset) = value; }
static void set64(u32 offset, u32 value) { set(offset, value); set(offset + 4, 0); }

static void cpuid(u32 leaf, u32 *eax, u32 *ecx, u32 *edx)
{
    u32 ebx;
    __asm__ volatile("cpuid" : "=a"(*eax), "=b"(ebx), "=c"(*ecx), "=d"(*edx) : "a"(leaf), "c"(0));
}

static int svm_offered(void)
{
    u32 max, ecx, edx;
    cpuid(0x80000000u, &max, &ecx, &edx);
    if (max < 0x8000000au)
        return 0;
    u32 eax;
    cpuid(0x80000001u, &eax, &ecx, &edx);
    return (ecx & CPUID_80000001_ECX_SVM) != 0;
}

/* nestvisor moves L2 past CPUID by the nRIP the CPU saves, which needs NRIPS. */
static void svm_enable(void)
{
    u32 eax, ecx, edx;
    cpuid(0x8000000au, &eax, &ecx, &edx);
    if (!(edx & CPUID_8000000A_EDX_NRIPS))
        fail("this CPU's SVM does not save nRIP (CPUID 8000000Ah:EDX.NRIPS is 0)");
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, (u32)host_save);
}

static void segment(enum svm_segment index, u16 selector, u16 attributes, u32 limit, u32 base)
{
    u8 *s = vmcb + SAVE_ES + 16 * index;
    *(u16 *)s = selector;
    *(u16 *)(s + 2) = attributes;
    *(u32 *)(s + 4) = limit;
    set64(SAVE_ES + 16 * index + 8, base);
}

static void svm_boot_l2(struct guest_regs *regs, const struct l2_start *start)
{
    memset(vmcb, 0, PAGE);
    memset(iopm, 0xff, sizeof iopm);
    memset(msrpm, 0xff, sizeof msrpm);
    set(INTERCEPTS_1, INTERCEPT_CPUID | INTERCEPT_HLT | INTERCEPT_IOIO | INTERCEPT_MSR | INTERCEPT_SHUTDOWN);
    set(INTERCEPTS_2, INTERCEPT_VMRUN | INTERCEPT_VMMCALL);
    set64(IOPM_BASE, (u32)iopm);
    set64(MSRPM_BASE, (u32)msrpm);
    set(GUEST_ASID, 1);

    /* Attributes: the descriptor's access byte, then its flags nibble (G, D/B, L, AVL). */
    for (enum svm_segment seg = SVM_ES; seg <= SVM_GS; seg++) {
        u16 type = seg == SVM_CS ? 0x9b : 0x93;
        if (start->real_mode)
            segment(seg, 0, type, 0xffff, 0);
        else
            segment(seg, seg == SVM_CS ? L2_SEL_CODE : L2_SEL_DATA, 0xc00 | type, 0xffffffff, 0);
    }
    segment(SVM_LDTR, 0, 0, 0, 0);
    segment(SVM_TR, L2_SEL_TSS, 0x8b, L2_TSS_LIMIT, L2_TSS);
    segment(SVM_GDTR, 0, 0, L2_GDT_LIMIT, L2_GDT);
    segment(SVM_IDTR, 0, 0, start->real_mode ? 0x3ff : 0, 0); /* the real-mode vector table */
    set(SAVE_CR0, start->real_mode ? CR0_ET : CR0_PE | CR0_ET);
    set64(SAVE_EFER, EFER_SVME); /* VMRUN requires it; L2 cannot read EFER (MSR intercept) */
    set64(SAVE_DR6, 0xffff0ff0);
    set64(SAVE_DR7, 0x400);
    set64(SAVE_RFLAGS, 2); /* IF = 0 */
    set64(SAVE_RIP, start->eip);
    set64(SAVE_RSP, start->real_mode ? start->eip : 0); /* a boot sector's stack: below it */
    memset(regs, 0, sizeof *regs);
    regs->eax = start->eax;
    regs->ebx = start->ebx;
}

static void inject_exception(u32 vector, int error_code)
{
    set(EVENTINJ, EVENT_VALID | EVENT_EXCEPTION | vector | (error_code ? EVENT_ERROR_CODE : 0));
    set(EVENTINJ_ERROR_CODE, 0);
}

static enum verdict handle_exit(struct guest_regs *regs)
{
    u32 code = get(EXITCODE);
    if (code == SVM_EXIT_INVALID) {
        print_line_break();
        puts("nestvisor: VMRUN failed: VMEXIT_INVALID (L2's state in the VMCB is not consistent)\n");
        return STOP;
    }
    if (code < SVM_EXIT_CODE_COUNT)
        exit_counts[code]++;
    switch (code) {
    case SVM_EXIT_CPUID:
        l2_cpuid(regs);
        set64(SAVE_RIP, get(NRIP));
        return RESUME;
    case SVM_EXIT_HLT:
        return l2_halted();
    case SVM_EXIT_IOIO: {
        u32 info = get(EXITINFO1);
        u32 size = (info >> IOIO_SIZE_SHIFT) & 7; /* SZ8, SZ16, SZ32: 1, 2 or 4 */
        enum verdict verdict = l2_port_io(regs, info >> 16, size, info & IOIO_IN, (info & IOIO_STRING) != 0);
        if (verdict == RESUME)
            set64(SAVE_RIP, get(EXITINFO2)); /* IOIO's EXITINFO2: the next instruction */
        return verdict;
    }
    case SVM_EXIT_MSR:
        inject_exception(EXCEPTION_GP, 1);
        return RESUME;
    case SVM_EXIT_VMRUN:
    case SVM_EXIT_VMMCALL:
        inject_exception(EXCEPTION_UD, 0);
        return RESUME;
    case SVM_EXIT_SHUTDOWN:
        return l2_stopped("shutdown (triple fault)", get(SAVE_RIP));
    default:
        print_line_break();
        kprintf("nestvisor: unexpected exit code %x (EXITINFO1 %x) at EIP %x\n", code, get(EXITINFO1), get(SAVE_RIP));
        return STOP;
    }
}

static enum verdict svm_run(struct guest_regs *regs)
{
    set64(SAVE_RAX, regs->eax);
    svm_enter(regs, (u32)vmcb);
    regs->eax = get(SAVE_RAX);
    set(EVENTINJ, 0); /* delivered by the VMRUN that just ended */
    return handle_exit(regs);
}

static void svm_print_exit_counts(void) { print_exit_counts(exit_counts, exit_names, SVM_EXIT_CODE_COUNT, 1); }

static void svm_disable(void) { wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~(u64)EFER_SVME); }

const struct backend svm_backend = {
    .name = "SVM",
    .ready = "VMCB ready",
    .offered = svm_offered,
    .enable = svm_enable,
    .boot_l2 = svm_boot_l2,
    .run = svm_run,
    .print_exit_counts = svm_print_exit_counts,
    .disable = svm_disable,
};
