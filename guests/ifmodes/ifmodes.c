/* ifmodes - the interrupt flag under wasmvisor's three --if-mode settings. An interrupt handler
 * (vector 0x40) counts interrupts and fills a buffer; the main program reads the buffer in a
 * critical section guarded the usual way, `pushf; cli; ... popf`. Interrupts come from the VMM's
 * "inject vector N after K instructions" hypercall, so this guest runs under wasmvisor only.
 * One line per experiment:
 *  - what PUSHF shows after CLI;
 *  - an interrupt with IF=1;
 *  - an interrupt that comes due inside pushf/cli/popf: held off inside, delivered after POPF;
 *  - the STI shadow: an interrupt waiting while IF=0 arrives after the instruction following STI;
 *  - `sti; hlt`: the interrupt wakes the halted CPU;
 *  - periodic interrupts filling the buffer while the main program reads it.
 * Under vt and trap every line shows the architecture's behaviour. Under classic (pre-VT
 * deprivileging) PUSHF shows the real IF, which is always 1, and POPF and IRET cannot restore the
 * virtual IF that CLI and the interrupt gate cleared, so interrupts wait for the next STI or are
 * lost: the flaw Popek and Goldberg's criteria catch in x86. */
#include "guest.h"
#include "hypercall.h"

#define TICK 0x40
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define PERIOD 400
#define BUFFER_SIZE 8

struct table_register {
    u16 limit;
    u32 base;
} __attribute__((packed));

struct interrupt_frame {
    u32 eip, cs, eflags;
};

static u32 gdt[3][2] __attribute__((aligned(8)));
static u32 idt[256][2] __attribute__((aligned(8)));

static volatile u32 ticks;          /* interrupts taken */
static volatile u32 marker, seen;   /* `seen` = what `marker` held when the last interrupt came */
static volatile u32 buffer[BUFFER_SIZE], buffered;
static volatile u32 periodic;       /* interrupts the handler still schedules */

__attribute__((interrupt)) static void tick(struct interrupt_frame *frame)
{
    (void)frame;
    seen = marker;
    ticks++;
    if (buffered < BUFFER_SIZE)
        buffer[buffered++] = ticks;
    if (periodic) {
        periodic--;
        hc_inject_after(TICK, PERIOD);
    }
}

__attribute__((interrupt)) static void general_protection(struct interrupt_frame *frame, u32 error)
{
    kprintf("ifmodes: unexpected #GP (error 0x%x) at 0x%08x\n", error, frame->eip);
    guest_exit(2);
}

static void set_segment(u32 *d, u32 access) /* flat 4 GiB, 32-bit, ring 0 */
{
    d[0] = 0xffff;
    d[1] = 0x000f0000 | (access << 8) | (0xcu << 20);
}

static void set_interrupt_gate(u32 vector, u32 handler)
{
    idt[vector][0] = (handler & 0xffff) | ((u32)SEL_CODE << 16);
    idt[vector][1] = (handler & 0xffff0000) | 0x8e00; /* present, ring 0, 32-bit interrupt gate */
}

static void tables_init(void)
{
    set_segment(gdt[1], 0x9b);
    set_segment(gdt[2], 0x93);
    struct table_register g = {sizeof gdt - 1, (u32)gdt}, i = {sizeof idt - 1, (u32)idt};
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp $0x08, $1f\n"
                     "1:\tmovw %w1, %%ds\n\tmovw %w1, %%es\n\tmovw %w1, %%ss\n\tmovw %w1, %%fs\n\tmovw %w1, %%gs"
                     : : "m"(g), "r"(SEL_DATA) : "memory");
    set_interrupt_gate(TICK, (u32)tick);
    set_interrupt_gate(13, (u32)general_protection);
    __asm__ volatile("lidt %0" : : "m"(i));
}

static inline void sti(void) { __asm__ volatile("sti" : : : "memory"); }
static inline void cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline u32 irq_save(void) /* pushf; cli */
{
    u32 flags;
    __asm__ volatile("pushfl\n\tpopl %0\n\tcli" : "=r"(flags) : : "memory");
    return flags;
}
static inline void irq_restore(u32 flags) /* popf */
{
    __asm__ volatile("pushl %0\n\tpopfl" : : "r"(flags) : "memory", "cc");
}
static void spin(u32 n)
{
    for (volatile u32 i = 0; i < n; i++)
        ;
}

static void pushf_after_cli(void)
{
    cli();
    u32 flags;
    __asm__ volatile("pushfl\n\tpopl %0" : "=r"(flags));
    kprintf("ifmodes: after cli, pushf shows IF=%u\n", (flags >> 9) & 1);
}

static void interrupt_with_if_set(void)
{
    u32 before = ticks;
    sti();
    hc_inject_after(TICK, 100);
    spin(1000);
    kprintf("ifmodes: with IF=1: %u interrupt(s) taken\n", ticks - before);
}

static void critical_section(void)
{
    sti();
    u32 before = ticks;
    u32 flags = irq_save();
    hc_inject_after(TICK, 100);
    spin(1000);
    u32 inside = ticks - before;
    irq_restore(flags);
    spin(10);
    u32 after = ticks - before;
    sti();
    spin(10);
    kprintf("ifmodes: pushf/cli/popf: %u inside, %u after popf, %u after the next sti\n", inside, after, ticks - before);
}

static void sti_shadow(void)
{
    cli();
    marker = 0;
    hc_inject_after(TICK, 0); /* due at once, waits while IF=0 */
    spin(100);
    __asm__ volatile("sti\n\tmovl $1, %0\n\tmovl $2, %0" : "=m"(marker) : : "memory");
    kprintf("ifmodes: sti shadow: the waiting interrupt came %u instruction(s) after sti\n", seen);
}

static void sti_hlt(void)
{
    cli();
    u32 before = ticks;
    hc_inject_after(TICK, 50);
    __asm__ volatile("sti\n\thlt" : : : "memory");
    kprintf("ifmodes: sti; hlt: %s\n", ticks == before + 1 ? "woken by the interrupt" : "not woken");
}

static void periodic_buffer(void)
{
    u32 got = 0, in_order = 1, first = 0;
    sti();
    buffered = 0;
    periodic = BUFFER_SIZE - 1;
    hc_inject_after(TICK, PERIOD);
    unsigned long long deadline = hc_clock() + 100000;
    while (got < BUFFER_SIZE && hc_clock() < deadline) {
        u32 flags = irq_save();
        for (u32 i = 0; i < buffered; i++, got++) {
            if (got == 0)
                first = buffer[i];
            in_order &= buffer[i] == first + got;
        }
        buffered = 0;
        irq_restore(flags);
        spin(50);
    }
    kprintf("ifmodes: buffer: %u of %u periodic interrupts arrived%s\n", got, BUFFER_SIZE,
            got == BUFFER_SIZE && in_order ? ", in order" : "");
    periodic = 0;
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    (void)mb;
    tables_init();
    pushf_after_cli();
    interrupt_with_if_set();
    critical_section();
    sti_shadow();
    sti_hlt();
    periodic_buffer();
    cli();
    puts("ifmodes: done\n");
    return 0;
}
