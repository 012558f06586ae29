/* serial.c - the two devices every guest talks to. COM1 output through a 16550 UART at 0x3F8:
 * each byte waits for the transmit holding register to be empty (LSR bit 5, THRE) before it
 * is written, as real hardware needs; nothing is read back but the line status register. And
 * guest_exit, which waits until the UART has sent its last byte (LSR bit 6, TEMT: a byte still
 * in the shift register is lost when the machine goes, as QEMU's is when its stdout pipe is full
 * at that moment), then writes the exit code to QEMU's isa-debug-exit port 0xF4 (QEMU then exits
 * with status (code << 1) | 1; wasmvisor exits with status = code). */
#include "guest.h"

#define COM1 0x3F8
#define COM1_IER (COM1 + 1)
#define COM1_LCR (COM1 + 3)
#define COM1_LSR (COM1 + 5)
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define DEBUG_EXIT_PORT 0xF4

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

void guest_exit(u32 code)
{
    while (!(inb(COM1_LSR) & LSR_TEMT))
        ;
    outb(DEBUG_EXIT_PORT, (u8)code);
    for (;;) /* no debug-exit device: stop here */
        __asm__ volatile("cli; hlt");
}
