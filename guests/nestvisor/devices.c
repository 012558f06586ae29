/* devices.c - what L2 sees beyond its CPU, the same under either backend: CPUID with nestvisor's
 * identity, COM1 (L2's output forwarded with a "[L2] " prefix), the debug-exit port that ends L2,
 * and the report of L2's exits at the end.
 *
 *   CPUID     answered from the real CPUID, with nestvisor's identity in leaf 0x40000000,
 *             CPUID.1:ECX.HYPERVISOR set and no VMX (CPUID.1:ECX.VMX) or SVM (80000001h:ECX.SVM)
 *             for L2: nestvisor does not nest further;
 *   I/O       COM1 is emulated: a transmitter always ready, no received byte, no interrupts;
 *             a write to the debug-exit port 0xF4 ends L2 with that status; any other port has
 *             nothing behind it (reads all ones). */
#include "nestvisor.h"
#include "svm.h"

#define COM1 0x3f8
#define COM1_LAST 0x3ff
#define UART_LCR 3
#define UART_LSR 5
#define UART_SCRATCH 7
#define LCR_DLAB 0x80
#define LSR_TRANSMITTER_EMPTY 0x60 /* THRE and TEMT: ready for the next byte at once */
#define DEBUG_EXIT_PORT 0xf4
#define HYPERVISOR_LEAF 0x40000000u
#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_HYPERVISOR (1u << 31)


/* COM1 as L2 last wrote it, and how L2 ended. */
static struct {
    u8 uart[8];       /* COM1's registers as last written */
    int line_started; /* L2 wrote part of a line */
    int ended;
    u32 status;
} l2;

void l2_cpuid(struct guest_regs *regs)
{
    u32 leaf = regs->eax;
    if (leaf >= HYPERVISOR_LEAF && leaf < HYPERVISOR_LEAF + 0x100) {
        /* Only our identity leaf: the highest hypervisor leaf is 0x40000000 itself. */
        regs->eax = HYPERVISOR_LEAF;
        memcpy(&regs->ebx, "Nest", 4);
        memcpy(&regs->ecx, "Viso", 4);
        memcpy(&regs->edx, "r\0\0\0", 4); /* "NestVisor" and three NULs, as KVM pads "KVMKVMKVM" */
        if (leaf != HYPERVISOR_LEAF)
            regs->eax = regs->ebx = regs->ecx = regs->edx = 0;
        return;
    }
    __asm__ volatile("cpuid" : "=a"(regs->eax), "=b"(regs->ebx), "=c"(regs->ecx), "=d"(regs->edx) : "a"(leaf), "c"(regs->ecx));
    if (leaf == 1)
        regs->ecx = (regs->ecx | CPUID1_ECX_HYPERVISOR) & ~CPUID1_ECX_VMX;
    if (leaf == 0x80000001u)
        regs->ecx &= ~CPUID_80000001_ECX_SVM;
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

enum verdict l2_port_io(struct guest_regs *regs, u32 port, u32 size, int in, int string)
{
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
    return RESUME;
}

/* L2 has no interrupt source here, so a halt ends it. */
enum verdict l2_halted(void)
{
    end_l2(0);
    print_line_break();
    puts("nestvisor: L2 halted, and nothing would wake it\n");
    return STOP;
}

enum verdict l2_stopped(const char *what, u32 eip)
{
    print_line_break();
    kprintf("nestvisor: L2 stopped: %s at EIP %x\n", what, eip);
    return STOP;
}

void print_exit_counts(const u32 *counts, const char *const *names, u32 n, int hex)
{
    print_line_break();
    puts("nestvisor: L2's exits by reason:\n");
    for (u32 r = 0; r < n; r++) {
        if (!counts[r])
            continue;
        const char *name = names[r] ? names[r] : "other";
        if (hex)
            kprintf("  %2x %s: %u\n", r, name, counts[r]);
        else
            kprintf("  %2u %s: %u\n", r, name, counts[r]);
    }
}
