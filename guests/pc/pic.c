/* pic.c - the 8259 PIC pair remapped to vectors 0x20-0x2f, every line masked until a driver
 * installs its handler. Handlers run with interrupts off and the EOI already sent; a spurious
 * IRQ 7 or 15 (no ISR bit behind it) is counted and gets no EOI, or only the master's. */
#include "pc.h"

#define PIC1 0x20
#define PIC2 0xa0
#define OCW3_READ_ISR 0x0b
#define EOI 0x20

static irq_handler *handlers[16];
volatile u32 spurious_irqs;

static int in_service(u16 pic, int bit)
{
    outb(pic, OCW3_READ_ISR);
    return inb(pic) & (1 << bit);
}

static void irq_entry(struct frame *f)
{
    int irq = (int)f->vec - IRQ_VECTOR(0);
    if ((irq == 7 || irq == 15) && !in_service(irq == 7 ? PIC1 : PIC2, 7)) {
        spurious_irqs++;
        if (irq == 15)
            outb(PIC1, EOI); /* the master did see IRQ 2 */
        return;
    }
    if (irq >= 8)
        outb(PIC2, EOI);
    outb(PIC1, EOI);
    if (handlers[irq])
        handlers[irq]();
}

void pc_init(void)
{
    pm_init();
    static const u8 init[2][4] = {{0x11, 0x20, 0x04, 0x01}, {0x11, 0x28, 0x02, 0x01}};
    for (int chip = 0; chip < 2; chip++) {
        u16 port = chip ? PIC2 : PIC1;
        outb(port, init[chip][0]);     /* ICW1: edge, cascade, ICW4 follows */
        outb(port + 1, init[chip][1]); /* ICW2: vector base */
        outb(port + 1, init[chip][2]); /* ICW3: slave on IRQ 2 / slave id 2 */
        outb(port + 1, init[chip][3]); /* ICW4: 8086 mode */
    }
    outb(PIC1 + 1, 0xfb); /* everything masked but the cascade */
    outb(PIC2 + 1, 0xff);
    for (int irq = 0; irq < 16; irq++)
        pm_set_handler(IRQ_VECTOR(irq), irq_entry);
}

int wait_for_unless(volatile u32 *counter, u32 seen, int (*give_up)(void))
{
    int status = 0;
    for (int woken = 0;; woken = 1) {
        cli();
        if (*counter != seen)
            break;
        if (woken && give_up && give_up()) { /* asked only after a wake-up that changed nothing */
            status = -1;
            break;
        }
        sti_hlt(); /* no interrupt can slip in between the test and the HLT */
    }
    sti();
    return status;
}

void wait_for(volatile u32 *counter, u32 seen) { wait_for_unless(counter, seen, 0); }

void irq_install(int irq, irq_handler *handler)
{
    handlers[irq] = handler;
    u16 port = irq < 8 ? PIC1 + 1 : PIC2 + 1;
    outb(port, inb(port) & ~(1 << (irq & 7)));
}
