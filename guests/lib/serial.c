/* serial.c - COM1 output through a 16550 UART at 0x3F8. Each byte waits for the transmit
 * holding register to be empty (LSR bit 5, THRE) before it is written, as real hardware
 * needs; nothing is ever read back except the line status register. */
#include "guest.h"

#define COM1 0x3F8
#define COM1_IER (COM1 + 1)
#define COM1_LCR (COM1 + 3)
#define COM1_LSR (COM1 + 5)
#define LSR_THRE 0x20

void serial_init(void)
{
    outb(COM1_IER, 0x00);  /* no interrupts */
    outb(COM1_LCR, 0x80);  /* DLAB on: next two ports are the divisor */
    outb(COM1 + 0, 0x01);  /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1_LCR, 0x03);  /* DLAB off, 8 data bits, no parity, 1 stop bit */
}

void serial_putc(char c)
{
    while (!(inb(COM1_LSR) & LSR_THRE))
        ;
    outb(COM1, (u8)c);
}
