/* exits.c - what nestvisor does at each of L2's VM exits, and the count of each reason.
 *
 * Exits L2 takes (the VMCS nestvisor.c builds asks for these and no others):
 *   CPUID (10)        always exits: answered from the real CPUID, with nestvisor's identity in
 *                     leaf 0x40000000, CPUID.1:ECX.HYPERVISOR set and CPUID.1:ECX.VMX clear;
 *   HLT (12)          L2 has no interrupt source here, so a halt ends it;
 *   CR access (28)    MOV to CR0 changing PE, NE or PG (the bits VMX fixes: L2 sees them through
 *                     the read shadow), MOV to CR4 setting VMXE, and every MOV to or from CR3 but
 *                     loads of one of the CR3-target values (below);
 *   I/O (30)          every port (unconditional I/O exiting): COM1 is emulated and L2's output
 *                     forwarded with a "[L2] " prefix, a write to the debug-exit port 0xF4 ends
 *                     L2 with that status, any other port has nothing behind it (reads all ones);
 *   RDMSR/WRMSR (31/32) every MSR but SYSENTER_CS/ESP/EIP (which VMX switches with the guest):
 *                     L2 gets #GP, as on a CPU without the MSR;
 *   VMCALL and the VMX instructions (18-27): #UD, since L2's CPUID shows no VMX;
 *   INVD (13)         done as a no-op;
 *   triple fault (2), task switch (9), a failed entry (33, 34): L2 stops with a message.
 *
 * Paging. L2 believes paging is off at first, but VMX without unrestricted guest needs CR0.PG:
 * L2 runs on nestvisor's one-to-one tables (l2.c) and its own CR3 value is only remembered.
 * When L2 sets CR0.PG, its CR3 goes into the VMCS and the CPU walks L2's own tables. From then
 * on the first four distinct CR3 values L2 loads become the CR3-target values, whose loads do
 * not exit: a process switch among four address spaces costs no exit. */
#include "nestvisor.h"

#define COM1 0x3f8
#define COM1_LAST 0x3ff
#define UART_LCR 3
#define UART_LSR 5
#define UART_SCRATCH 7
#define LCR_DLAB 0x80
#define LSR_TRANSMITTER_EMPTY 0x60 /* THRE and TEMT: ready for the next byte at once */
#define DEBUG_EXIT_PORT 0xf4
#define CR3_TARGETS 4 /* at most; IA32_VMX_MISC says how many this CPU has */
#define HYPERVISOR_LEAF 0x40000000u
#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define EXCEPTION_UD 6
#define EXCEPTION_GP 13

static u32 exit_counts[EXIT_REASON_COUNT];

/* What L2 believes about its control registers and COM1, and how it ended. */
static struct {
    u32 cr3;                   /* the last CR3 value L2 loaded (used once its paging is on) */
    u32 cr0_fixed0, cr0_fixed1, cr4_fixed0;
    u32 targets[CR3_TARGETS];
    u32 target_count, target_max;
    u32 flat_directory;        /* nestvisor's tables, for while L2's paging is off */
    u8 uart[8];                /* COM1's registers as last written */
    int line_started;          /* L2 wrote part of a line */
    int ended;
    u32 status;
} l2;

static const char *const reason_names[EXIT_REASON_COUNT] = {
    [EXIT_TRIPLE_FAULT] = "triple fault", [EXIT_TASK_SWITCH] = "task switch", [EXIT_CPUID] = "CPUID",
    [EXIT_HLT] = "HLT", [EXIT_INVD] = "INVD", [EXIT_VMCALL] = "VMCALL", [EXIT_CR_ACCESS] = "CR access",
    [EXIT_IO] = "I/O instruction", [EXIT_RDMSR] = "RDMSR", [EXIT_WRMSR] = "WRMSR",
    [EXIT_INVALID_GUEST_STATE] = "entry failure: guest state", [EXIT_MSR_LOADING] = "entry failure: MSR loading",
};

static int paging_on(void) { return (vmread(CR0_READ_SHADOW) & CR0_PG) != 0; }

/* The CR3 the CPU uses for L2, and which loads may skip the exit. */
static void apply_cr3(void)
{
    vmcs_write(GUEST_CR3, paging_on() ? l2.cr3 : l2.flat_directory);
    vmcs_write(CR3_TARGET_COUNT, paging_on() ? l2.target_count : 0);
}

void exits_init(void)
{
    l2.flat_directory = l2_flat_page_directory();
    l2.cr0_fixed0 = (u32)rdmsr(MSR_VMX_CR0_FIXED0);
    l2.cr0_fixed1 = (u32)rdmsr(MSR_VMX_CR0_FIXED1);
    l2.cr4_fixed0 = (u32)rdmsr(MSR_VMX_CR4_FIXED0);
    u32 cpu_targets = ((u32)rdmsr(MSR_VMX_MISC) >> 16) & 0x1ff;
    l2.target_max = cpu_targets < CR3_TARGETS ? cpu_targets : CR3_TARGETS;
    /* L2 sees PE and ET set (protected mode, paging off, as Multiboot leaves it); the CPU gets
     * the bits VMX needs as well. The mask gives nestvisor the bits VMX fixes. */
    vmcs_write(CR0_GUEST_HOST_MASK, l2.cr0_fixed0);
    vmcs_write(CR0_READ_SHADOW, CR0_PE | CR0_ET);
    vmcs_write(GUEST_CR0, ((CR0_PE | CR0_ET) | l2.cr0_fixed0) & l2.cr0_fixed1);
    vmcs_write(CR4_GUEST_HOST_MASK, l2.cr4_fixed0);
    vmcs_write(CR4_READ_SHADOW, 0);
    vmcs_write(GUEST_CR4, l2.cr4_fixed0);
    apply_cr3();
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

static void end_l2(u32 status)
{
    l2.ended = 1;
    l2.status = status;
}

u32 l2_status(void) { return l2.ended ? l2.status : 1; }

void print_line_break(void)
{
    if (l2.line_started)
        serial_putc('\n');
    l2.line_started = 0;
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

static enum verdict cpuid_exit(struct guest_regs *regs)
{
    u32 leaf = regs->eax;
    if (leaf >= HYPERVISOR_LEAF && leaf < HYPERVISOR_LEAF + 0x100) {
        /* Only our identity leaf: the highest hypervisor leaf is 0x40000000 itself. */
        regs->eax = HYPERVISOR_LEAF;
        memcpy(&regs->ebx, "Nest", 4);
        memcpy(&regs->ecx, "Visor", 4); /* "NestVisor" and three NULs, as KVM pads "KVMKVMKVM" */
        memcpy(&regs->edx, "r\0\0\0", 4);
        if (leaf != HYPERVISOR_LEAF)
            regs->eax = regs->ebx = regs->ecx = regs->edx = 0;
    } else {
        __asm__ volatile("cpuid" : "=a"(regs->eax), "=b"(regs->ebx), "=c"(regs->ecx), "=d"(regs->edx) : "a"(leaf), "c"(regs->ecx));
        if (leaf == 1)
            regs->ecx = (regs->ecx | CPUID1_ECX_HYPERVISOR) & ~CPUID1_ECX_VMX;
    }
    skip_instruction();
    return RESUME;
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
    vmcs_write(CR0_READ_SHADOW, value);
    vmcs_write(GUEST_CR0, (value | l2.cr0_fixed0) & l2.cr0_fixed1);
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

/* L2's byte for COM1: the line it belongs to gets the "[L2] " prefix. */
static void forward_byte(u8 c)
{
    if (!l2.line_started)
        puts("[L2] ");
    serial_putc((char)c);
    l2.line_started = c != '\n';
}

static u32 com1_in(u32 offset)
{
    if (offset == UART_LSR)
        return LSR_TRANSMITTER_EMPTY;
    if (offset == UART_LCR || offset == UART_SCRATCH)
        return l2.uart[offset];
    return 0; /* no received byte, no interrupt, no modem lines */
}

static void com1_out(u32 offset, u8 value)
{
    if (offset == 0 && !(l2.uart[UART_LCR] & LCR_DLAB))
        forward_byte(value);
    else
        l2.uart[offset] = value;
}

static enum verdict io_exit(struct guest_regs *regs)
{
    u32 q = vmread(EXIT_QUALIFICATION);
    u32 size = (q & 7) + 1, in = (q >> 3) & 1, string = (q >> 4) & 1, port = q >> 16;
    if (string) {
        print_line_break();
        kprintf("nestvisor: L2 used string I/O on port %x, which nestvisor does not emulate\n", port);
        return STOP;
    }
    if (in) {
        u32 value = port >= COM1 && port <= COM1_LAST ? com1_in(port - COM1) : 0xffffffff;
        u32 mask = size == 4 ? 0xffffffff : (1u << (8 * size)) - 1;
        regs->eax = (regs->eax & ~mask) | (value & mask);
    } else if (port >= COM1 && port <= COM1_LAST) {
        com1_out(port - COM1, (u8)regs->eax);
    } else if (port == DEBUG_EXIT_PORT) {
        end_l2(regs->eax & 0xff);
        return STOP;
    }
    skip_instruction();
    return RESUME;
}

static enum verdict stop_with(const char *what)
{
    print_line_break();
    kprintf("nestvisor: L2 stopped: %s at EIP %x\n", what, vmread(GUEST_RIP));
    return STOP;
}

enum verdict handle_exit(struct guest_regs *regs)
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
        return cpuid_exit(regs);
    case EXIT_HLT:
        end_l2(0);
        print_line_break();
        puts("nestvisor: L2 halted, and nothing would wake it\n");
        return STOP;
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
        return stop_with("triple fault");
    case EXIT_TASK_SWITCH:
        return stop_with("task switch (not emulated)");
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

void print_exit_counts(void)
{
    print_line_break();
    puts("nestvisor: L2's exits by reason:\n");
    for (u32 r = 0; r < EXIT_REASON_COUNT; r++) {
        if (exit_counts[r])
            kprintf("  %2u %s: %u\n", r, reason_names[r] ? reason_names[r] : "other", exit_counts[r]);
    }
}
