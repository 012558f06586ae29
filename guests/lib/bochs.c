/* bochs.c - ending a run under Bochs, which has no debug-exit port: Bochs stops when the bytes of
 * "Shutdown" are written to port 0x8900 (a port with nothing behind it on QEMU and wasmvisor). It
 * stops at once, so COM1 first sends its last bytes. Only the guests that run under Bochs link
 * this (guests/build.sh); they call bochs_shutdown() and then exit as every guest does. */
#include "guest.h"

#define COM1_LSR 0x3fd
#define LSR_TEMT 0x40 /* transmitter empty */
#define BOCHS_SHUTDOWN_PORT 0x8900

void bochs_shutdown(void)
{
    while (!(inb(COM1_LSR) & LSR_TEMT))
        ;
    for (const char *s = "Shutdown"; *s; s++)
        outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
}
