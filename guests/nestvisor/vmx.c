/* vmx.c - nestvisor's VMX backend: VMXON, one VMCS, L2's state in it, VM entries and what nestvisor
 * does at each of L2's VM exits, with the count of each reason.
 *
 * Exits L2 takes (the VMCS built here asks for these and no others):
 *   CPUID (10)        always exits: answered as devices.c says;
 *   HLT (12)          L2 has no interrupt source here, so a halt ends it;
 *   CR access (28)    MOV to CR0 changing PE, NE or PG (the bits VMX fixes: L2 sees them through
 *                     the read shadow), MOV to CR4 setting VMXE, and every MOV to or from CR3 but
 *                     loads of one of the CR3-target values (below);
 *   I/O (30)          every port (unconditional I/O exiting): devices.c emulates them;
 *   RDMSR/WRMSR (31/32) every MSR but SYSENTER_CS/ESP/EIP (which VMX switches with the guest):
 *                     L2 gets #GP, as on a CPU without the MSR;
 *   VMCALL and the VMX instructions (18-27): #UD, since L2's CPUID shows no VMX;
 *   INVD (13)         done as a no-op;
 *   triple fault (2), task switch (9), a failed entry (33, 34): L2 stops with a message.
 *
 * Paging. L2 believes paging is off at first, but VMX without unrestricted guest needs CR0.PG:
 * L2 runs on nestvisor's one-to-one tables of its 16 MiB and its own CR3 value is only remembered.
 * When L2 sets CR0.PG, its CR3 goes into the VMCS and the CPU walks L2's own tables. From then
 * on the first four distinct CR3 values L2 loads become the CR3-target values, whose loads do
 * not exit: a process switch among four address spaces costs no exit.
 *
 * Real mode. Without unrestricted guest VMX cannot run it: a boot sector's L2 is entered with the
 * state it needs (CR0.PE and PG clear), which fails the entry checks on CR0's fixed bits (exit
 * reason 33 with the entry-failure bit), and nestvisor reports that. */
#include "nestvisor.h"
#include "vmx.h"

u32 vm_enter(struct guest_regs *regs, u32 launched); /* vmx-enter.S */
void vm_exit(void);

#define CR3_TARGETS 4 /* at most; IA32_VMX_MISC says how many this CPU has */

static u8 vmxon_region[PAGE] __attribute__((aligned(PAGE)));
static u8 vmcs_region[PAGE] __attribute__((aligned(PAGE)));
static u8 msr_bitmap[PAGE] __attribute__((aligned(PAGE)));
static u32 flat_directory[1024] __attribute__((aligned(PAGE)));
static u32 flat_tables[L2_MEMORY / (PAGE * 1024)][1024] __attribute__((aligned(PAGE)));
static u32 exit_counts[EXIT_REASON_COUNT];
static u32 launched;

/* What L2 believes about its control registers. */
static struct {
    u32 cr3;                   /* the last CR3 value L2 loaded (used once its paging is on) */
    u32 cr0_fixed0, cr0_fixed1, cr4_fixed0;
    u32 targets[CR3_TARGETS];
    u32 target_count, target_max;
} l2;

static const char *const reason_names[EXIT_REASON_COUNT] = {
    [EXIT_TRIPLE_FAULT] = "triple fault", [EXIT_TASK_SWITCH] = "task switch", [EXIT_CPUID] = "CPUID",
    [EXIT_HLT] = "HLT", [EXIT_INVD] = "INVD", [EXIT_VMCALL] = "VMCALL", [EXIT_CR_ACCESS] = "CR access",
    [EXIT_IO] = "I/O instruction", [EXIT_RDMSR] = "RDMSR", [EXIT_WRMSR] = "WRMSR",
    [EXIT_INVALID_GUEST_STATE] = "entry failure: guest state", [EXIT_MSR_LOADING] = "entry failure: MSR loading",
};

static u32 read_cr0(void) { u32 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static u32 read_cr3(void) { u32 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static u32 read_cr4(void) { u32 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static void write_cr0(u32 v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static void write_cr4(u32 v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

static void vmcs_write(u32 field, u32 value)
{
    if (VMX_FAILED(vmwrite(field, value))) {
        print_line_break();
        kprintf("nestvisor: VMWRITE of field %x failed (VM-instruction error %u)\n", field, vmread(VM_INSTRUCTION_ERROR));
        stop_l1(1);
    }
}

static int vmx_offered(void)
{
    u32 eax = 1, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
    return (ecx & (1u << 5)) != 0;
}

/* A control field's value: what nestvisor wants plus what the CPU requires (the capability MSR's
 * allowed-0 settings in its low half); stops if the CPU cannot do what it wants (allowed-1). */
static u32 controls(u32 msr, u32 wanted, const char *name)
{
    u64 capability = rdmsr(msr);
    if (wanted & ~(u32)(capability >> 32)) {
        kprintf("nestvisor: the CPU cannot set %s controls %x\n", name, wanted & ~(u32)(capability >> 32));
        stop_l1(1);
    }
    return wanted | (u32)capability;
}

/* RDMSR and WRMSR exit for every MSR but IA32_SYSENTER_CS, _ESP and _EIP (0x174-0x176): the
 * bitmap's four 1 KiB parts (read low, read high, write low, write high) are all ones but for
 * their bits. */
static void build_msr_bitmap(void)
{
    memset(msr_bitmap, 0xff, PAGE);
    for (u32 msr = MSR_SYSENTER_CS; msr <= MSR_SYSENTER_EIP; msr++) {
        msr_bitmap[msr / 8] &= ~(1u << (msr % 8));
        msr_bitmap[2048 + msr / 8] &= ~(1u << (msr % 8));
    }
}

static void write_host_state(void)
{
    struct __attribute__((packed)) { u16 limit; u32 base; } idtr;
    __asm__ volatile("sidt %0" : "=m"(idtr));
    vmcs_write(HOST_CR0, read_cr0());
    vmcs_write(HOST_CR3, read_cr3());
    vmcs_write(HOST_CR4, read_cr4());
    vmcs_write(HOST_CS_SELECTOR, SEL_CODE);
    vmcs_write(HOST_SS_SELECTOR, SEL_DATA);
    vmcs_write(HOST_DS_SELECTOR, SEL_DATA);
    vmcs_write(HOST_ES_SELECTOR, SEL_DATA);
    vmcs_write(HOST_FS_SELECTOR, SEL_DATA);
    vmcs_write(HOST_GS_SELECTOR, SEL_DATA);
    vmcs_write(HOST_TR_SELECTOR, SEL_TSS);
    vmcs_write(HOST_FS_BASE, 0);
    vmcs_write(HOST_GS_BASE, 0);
    vmcs_write(HOST_TR_BASE, (u32)l1_tss);
    vmcs_write(HOST_GDTR_BASE, (u32)l1_gdt);
    vmcs_write(HOST_IDTR_BASE, idtr.base);
    vmcs_write(HOST_SYSENTER_CS, 0);
    vmcs_write(HOST_SYSENTER_ESP, 0);
    vmcs_write(HOST_SYSENTER_EIP, 0);
    vmcs_write(HOST_RIP, (u32)vm_exit); /* HOST_RSP: vm_enter writes it */
}

static void write_controls(void)
{
    vmcs_write(PIN_CONTROLS, controls(MSR_VMX_PINBASED_CTLS, 0, "pin-based"));
    vmcs_write(PRIMARY_CONTROLS, controls(MSR_VMX_PROCBASED_CTLS,
                                          CPU_HLT_EXITING | CPU_UNCONDITIONAL_IO_EXITING | CPU_USE_MSR_BITMAPS, "processor-based"));
    vmcs_write(EXIT_CONTROLS, controls(MSR_VMX_EXIT_CTLS, 0, "VM-exit"));
    vmcs_write(ENTRY_CONTROLS, controls(MSR_VMX_ENTRY_CTLS, 0, "VM-entry"));
    vmcs_write(EXCEPTION_BITMAP, 0); /* L2 handles its own exceptions */
    vmcs_write(EXIT_MSR_STORE_COUNT, 0);
    vmcs_write(EXIT_MSR_LOAD_COUNT, 0);
    vmcs_write(ENTRY_MSR_LOAD_COUNT, 0);
    vmcs_write(ENTRY_INTERRUPTION_INFO, 0);
    build_msr_bitmap();
    vmcs_write(MSR_BITMAP, (u32)msr_bitmap);
    vmcs_write(MSR_BITMAP_HIGH, 0);
}

/* VMXON needs VMX enabled in IA32_FEATURE_CONTROL and CR0 and CR4 as their FIXED MSRs say (paging
 * is on already: nestvisor.c). Then the VMCS is made current, with its controls and host state. */
static void vmx_enable(void)
{
    u32 control = (u32)rdmsr(MSR_FEATURE_CONTROL);
    if (!(control & FEATURE_CONTROL_LOCKED))
        wrmsr(MSR_FEATURE_CONTROL, control | FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX);
    else if (!(control & FEATURE_CONTROL_VMX))
        fail("the firmware locked VMX off (IA32_FEATURE_CONTROL)");
    write_cr4((read_cr4() | (u32)rdmsr(MSR_VMX_CR4_FIXED0)) & (u32)rdmsr(MSR_VMX_CR4_FIXED1));
    write_cr0((read_cr0() | (u32)rdmsr(MSR_VMX_CR0_FIXED0)) & (u32)rdmsr(MSR_VMX_CR0_FIXED1));

    *(u32 *)vmxon_region = (u32)rdmsr(MSR_VMX_BASIC) & 0x7fffffff; /* the VMCS revision ID */
    if (VMX_FAILED(vmxon((u32)vmxon_region)))
        fail("VMXON failed");
    *(u32 *)vmcs_region = *(u32 *)vmxon_region;
    if (VMX_FAILED(vmclear((u32)vmcs_region)) || VMX_FAILED(vmptrld((u32)vmcs_region)))
        fail("VMCLEAR or VMPTRLD of the VMCS failed");
}

static int paging_on(void) { return (vmread(CR0_READ_SHADOW) & CR0_PG) != 0; }

/* The CR3 the CPU uses for L2, and which loads may skip the exit. */
static void apply_cr3(void)
{
    vmcs_write(GUEST_CR3, paging_on() ? l2.cr3 : (u32)flat_directory);
    vmcs_write(CR3_TARGET_COUNT, paging_on() ? l2.target_count : 0);
}

/* nestvisor's page tables for L2 while its paging is off: its 16 MiB one to one, nothing else. */
static void build_flat_tables(void)
{
    for (u32 t = 0; t < sizeof flat_tables / sizeof flat_tables[0]; t++) {
        for (u32 i = 0; i < 1024; i++)
            flat_tables[t][i] = (t * 1024 + i) * PAGE | 7; /* present, writable, user */
        flat_directory[t] = (u32)flat_tables[t] | 7;
    }
}

static void segment_state(enum segment seg, u32 selector, u32 base, u32 limit, u32 access_rights)
{
    vmcs_write(GUEST_ES_SELECTOR + 2 * seg, selector);
    vmcs_write(GUEST_ES_BASE + 2 * seg, base);
    vmcs_write(GUEST_ES_LIMIT + 2 * seg, limit);
    vmcs_write(GUEST_ES_ACCESS_RIGHTS + 2 * seg, access_rights);
}

/* L2's CR0 as it believes it to be, and as the CPU runs it: with the bits VMX fixes, unless L2
 * starts in real mode, which keeps its CR0 (and fails the entry). */
static void write_cr0_state(u32 believed, int real_mode)
{
    vmcs_write(CR0_GUEST_HOST_MASK, l2.cr0_fixed0);
    vmcs_write(CR0_READ_SHADOW, believed);
    vmcs_write(GUEST_CR0, real_mode ? believed : (believed | l2.cr0_fixed0) & l2.cr0_fixed1);
}

static void vmx_boot_l2(struct guest_regs *regs, const struct l2_start *start)
{
    write_controls();
    write_host_state();
    build_flat_tables();
    l2.cr0_fixed0 = (u32)rdmsr(MSR_VMX_CR0_FIXED0);
    l2.cr0_fixed1 = (u32)rdmsr(MSR_VMX_CR0_FIXED1);
    l2.cr4_fixed0 = (u32)rdmsr(MSR_VMX_CR4_FIXED0);
    u32 cpu_targets = ((u32)rdmsr(MSR_VMX_MISC) >> 16) & 0x1ff;
    l2.target_max = cpu_targets < CR3_TARGETS ? cpu_targets : CR3_TARGETS;

    for (enum segment seg = SEG_ES; seg <= SEG_GS; seg++) {
        u32 rights = seg == SEG_CS ? 0x9b : 0x93;
        if (start->real_mode)
            segment_state(seg, 0, 0, 0xffff, rights);
        else
            segment_state(seg, seg == SEG_CS ? L2_SEL_CODE : L2_SEL_DATA, 0, 0xffffffff, 0xc000 | rights);
    }
    segment_state(SEG_LDTR, 0, 0, 0, 1u << 16); /* unusable */
    segment_state(SEG_TR, L2_SEL_TSS, L2_TSS, L2_TSS_LIMIT, 0x8b);
    vmcs_write(GUEST_GDTR_BASE, L2_GDT);
    vmcs_write(GUEST_GDTR_LIMIT, L2_GDT_LIMIT);
    vmcs_write(GUEST_IDTR_BASE, 0);
    vmcs_write(GUEST_IDTR_LIMIT, start->real_mode ? 0x3ff : 0); /* the real-mode vector table */
    /* L2 sees PE and ET set (protected mode, paging off, as Multiboot leaves it), or only ET. */
    write_cr0_state(start->real_mode ? CR0_ET : CR0_PE | CR0_ET, start->real_mode);
    vmcs_write(CR4_GUEST_HOST_MASK, l2.cr4_fixed0);
    vmcs_write(CR4_READ_SHADOW, 0);
    vmcs_write(GUEST_CR4, l2.cr4_fixed0);
    apply_cr3();

    vmcs_write(GUEST_RIP, start->eip);
    vmcs_write(GUEST_RSP, start->real_mode ? start->eip : 0); /* a boot sector's stack: below it */
    vmcs_write(GUEST_RFLAGS, 2); /* IF = 0 */
    memset(regs, 0, sizeof *regs);
    regs->eax = start->eax;
    regs->ebx = start->ebx;

    vmcs_write(GUEST_DR7, 0x400);
    vmcs_write(GUEST_DEBUGCTL, 0);
    vmcs_write(GUEST_DEBUGCTL_HIGH, 0);
    vmcs_write(GUEST_SYSENTER_CS, 0);
    vmcs_write(GUEST_SYSENTER_ESP, 0);
    vmcs_write(GUEST_SYSENTER_EIP, 0);
    vmcs_write(GUEST_INTERRUPTIBILITY, 0);
    vmcs_write(GUEST_ACTIVITY_STATE, 0);
    vmcs_write(GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
    vmcs_write(VMCS_LINK_POINTER, 0xffffffff); /* no shadow VMCS */
    vmcs_write(VMCS_LINK_POINTER_HIGH, 0xffffffff);
}

static void inject_exception(u32 vector, int error_code)
{
    /* valid, type 3 (hardware exception), deliver error code (0) */
    vmcs_write(ENTRY_INTERRUPTION_INFO, 0x80000000u | (3u << 8) | vector | (error_code ? 1u << 11 : 0));
    if (error_code)
        vmcs_write(ENTRY_EXCEPTION_ERROR_CODE, 0);
}

static void skip_instruction(void)
{
    vmcs_write(GUEST_RIP, vmread(GUEST_RIP) + vmread(EXIT_INSTRUCTION_LENGTH));
}

/* General register n as the SDM numbers them in exit qualifications (4 = ESP, in the VMCS). */
static u32 *gpr(struct guest_regs *regs, u32 n)
{
    u32 *in_order[8] = {&regs->eax, &regs->ecx, &regs->edx, &regs->ebx, 0, &regs->ebp, &regs->esi, &regs->edi};
    return in_order[n & 7];
}

static u32 read_gpr(struct guest_regs *regs, u32 n) { return (n & 7) == 4 ? vmread(GUEST_RSP) : *gpr(regs, n); }

static void write_gpr(struct guest_regs *regs, u32 n, u32 value)
{
    if ((n & 7) == 4)
        vmcs_write(GUEST_RSP, value);
    else
        *gpr(regs, n) = value;
}

static void add_cr3_target(u32 cr3)
{
    for (u32 i = 0; i < l2.target_count; i++)
        if (l2.targets[i] == cr3)
            return;
    if (l2.target_count == l2.target_max)
        return;
    vmcs_write(CR3_TARGET_0 + 2 * l2.target_count, cr3);
    l2.targets[l2.target_count++] = cr3;
}

static enum verdict mov_to_cr0(u32 value)
{
    if (!(value & CR0_PE)) {
        print_line_break();
        puts("nestvisor: L2 left protected mode, which VMX without unrestricted guest cannot run\n");
        return STOP;
    }
    write_cr0_state(value, 0);
    apply_cr3(); /* paging may have changed hands */
    return RESUME;
}

static enum verdict cr_exit(struct guest_regs *regs)
{
    u32 q = vmread(EXIT_QUALIFICATION);
    u32 cr = q & 15, access = (q >> 4) & 3, reg = (q >> 8) & 15;
    enum verdict verdict = RESUME;
    if (access == 0 && cr == 0) {
        verdict = mov_to_cr0(read_gpr(regs, reg));
    } else if (access == 0 && cr == 3) {
        l2.cr3 = read_gpr(regs, reg);
        if (paging_on())
            add_cr3_target(l2.cr3);
        apply_cr3();
    } else if (access == 1 && cr == 3) {
        /* Under a CR3-target load the CPU changed GUEST_CR3 without telling us. */
        if (paging_on())
            l2.cr3 = vmread(GUEST_CR3);
        write_gpr(regs, reg, l2.cr3);
    } else if (access == 0 && cr == 4) {
        inject_exception(EXCEPTION_GP, 1); /* CR4.VMXE: this CPU has no VMX for L2 */
        return RESUME;
    } else {
        print_line_break();
        kprintf("nestvisor: unexpected control-register access (qualification %x)\n", q);
        return STOP;
    }
    if (verdict == RESUME)
        skip_instruction();
    return verdict;
}

static enum verdict io_exit(struct guest_regs *regs)
{
    u32 q = vmread(EXIT_QUALIFICATION);
    u32 size = (q & 7) + 1, in = (q >> 3) & 1, string = (q >> 4) & 1, port = q >> 16;
    enum verdict verdict = l2_port_io(regs, port, size, in, string);
    if (verdict == RESUME)
        skip_instruction();
    return verdict;
}

static enum verdict handle_exit(struct guest_regs *regs)
{
    u32 reason = vmread(EXIT_REASON);
    u32 basic = reason & 0xffff;
    if (basic < EXIT_REASON_COUNT)
        exit_counts[basic]++;
    if (reason & EXIT_REASON_ENTRY_FAILURE) {
        print_line_break();
        kprintf("nestvisor: VM entry failed: exit reason %u, qualification %u\n", basic, vmread(EXIT_QUALIFICATION));
        return STOP;
    }
    switch (basic) {
    case EXIT_CPUID:
        l2_cpuid(regs);
        skip_instruction();
        return RESUME;
    case EXIT_HLT:
        return l2_halted();
    case EXIT_CR_ACCESS:
        return cr_exit(regs);
    case EXIT_IO:
        return io_exit(regs);
    case EXIT_RDMSR:
    case EXIT_WRMSR:
        inject_exception(EXCEPTION_GP, 1);
        return RESUME;
    case EXIT_INVD:
        skip_instruction();
        return RESUME;
    case EXIT_TRIPLE_FAULT:
        return l2_stopped("triple fault", vmread(GUEST_RIP));
    case EXIT_TASK_SWITCH:
        return l2_stopped("task switch (not emulated)", vmread(GUEST_RIP));
    default:
        if (basic >= EXIT_VMCALL && basic <= EXIT_VMXON) {
            inject_exception(EXCEPTION_UD, 0);
            return RESUME;
        }
        print_line_break();
        kprintf("nestvisor: unexpected exit reason %u (qualification %x) at EIP %x\n", basic,
                vmread(EXIT_QUALIFICATION), vmread(GUEST_RIP));
        return STOP;
    }
}

static enum verdict vmx_run(struct guest_regs *regs)
{
    u32 flags = vm_enter(regs, launched);
    if (flags) {
        print_line_break();
        if (flags & 1)
            puts("nestvisor: VM entry failed: VMfailInvalid\n");
        else
            kprintf("nestvisor: VM entry failed: VM-instruction error %u\n", vmread(VM_INSTRUCTION_ERROR));
        return STOP;
    }
    launched = 1;
    return handle_exit(regs);
}

static void vmx_print_exit_counts(void) { print_exit_counts(exit_counts, reason_names, EXIT_REASON_COUNT, 0); }

static void vmx_disable(void) { vmxoff(); }

const struct backend vmx_backend = {
    .name = "VMX",
    .ready = "VMCS loaded",
    .offered = vmx_offered,
    .enable = vmx_enable,
    .boot_l2 = vmx_boot_l2,
    .run = vmx_run,
    .print_exit_counts = vmx_print_exit_counts,
    .disable = vmx_disable,
};
