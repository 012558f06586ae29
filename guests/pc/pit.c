/* pit.c - the 8254's channel 0 as the system timer: mode 2 (rate generator) at `hz`, IRQ 0. */
#include "pc.h"

#define PIT_HZ 1193182u
volatile u32 pit_ticks;
static u32 reload, tick_us;

static void tick(void) { pit_ticks++; }

void pit_start(u32 hz)
{
    u32 count = (PIT_HZ + hz / 2) / hz;
    reload = count;
    tick_us = 1000000u / hz;
    outb(0x43, 0x34); /* channel 0, LSB then MSB, mode 2 */
    outb(0x40, count & 0xff);
    outb(0x40, count >> 8);
    irq_install(0, tick);
}

void pit_stop(void)
{
    outb(0x21, inb(0x21) | 1);
    outb(0x43, 0x30); /* mode 0 with no count written: the channel waits, no more edges */
}

u32 pit_micros(void)
{
    u32 ticks, count;
    do {
        ticks = pit_ticks;
        outb(0x43, 0x00); /* latch channel 0 */
        count = inb(0x40);
        count |= (u32)inb(0x40) << 8;
    } while (ticks != pit_ticks); /* a tick came in between: read again */
    return ticks * tick_us + (reload - count) * 1000u / (PIT_HZ / 1000u);
}
