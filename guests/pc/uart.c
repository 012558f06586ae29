/* uart.c - COM1 input by interrupt: received data raises IRQ 4 through MCR.OUT2, and the handler
 * moves every byte waiting (LSR.DR) into a ring the program reads. The FIFOs are left as they
 * are: enabling or clearing them would throw away what arrived before this driver started. */
#include "pc.h"

#define COM1 0x3f8
static volatile u8 ring[256];
static volatile u32 head, tail;

static void uart_irq(void)
{
    u8 status;
    /* All ones is no UART answering (its ports no longer passed to it): nothing to read. */
    while ((status = inb(COM1 + 5)) != 0xff && status & 1) {
        u8 byte = inb(COM1);
        if (head - tail < sizeof ring)
            ring[head++ % sizeof ring] = byte;
    }
}

void uart_rx_init(void)
{
    outb(COM1 + 4, 0x0b); /* MCR: DTR, RTS, OUT2 (the PC's interrupt gate) */
    irq_install(4, uart_irq);
    outb(COM1 + 1, 0x01); /* IER: received data available */
}

int uart_getc(void)
{
    if (head == tail)
        return -1;
    return ring[tail++ % sizeof ring];
}
