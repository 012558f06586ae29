/* redpill - Joanna Rutkowska's Red Pill (2004): detect a VMM with one unprivileged instruction.
 * SIDT stores the IDT register, and IA-32 lets any privilege level execute it without a fault,
 * so a VMM of the pre-VT kind, which must keep its own IDT loaded while the guest runs, cannot
 * hide it: the guest sees the monitor's table, high in the address space (Red Pill's test is a
 * base above 0xd0000000), instead of the one its kernel loaded. Under VT-x the guest's IDTR is
 * part of its own state, so SIDT shows the guest's table and the pill finds nothing. SGDT and
 * SMSW leak in the same way; they are printed for comparison. */
#include "guest.h"

struct table_register {
    u16 limit;
    u32 base;
} __attribute__((packed));

static u32 idt[2 * 256] __attribute__((aligned(8))); /* all gates absent: no interrupt is ever taken */

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    (void)mb;
    struct table_register mine = {sizeof idt - 1, (u32)idt}, seen, gdtr;
    u32 msw;
    __asm__ volatile("lidt %0" : : "m"(mine));
    __asm__ volatile("sidt %0" : "=m"(seen));
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    __asm__ volatile("smsw %0" : "=r"(msw));
    kprintf("redpill: loaded IDT base 0x%08x; SIDT says base 0x%08x limit 0x%04x\n", mine.base, seen.base, seen.limit);
    kprintf("redpill: SGDT base 0x%08x limit 0x%04x; SMSW 0x%08x\n", gdtr.base, gdtr.limit, msw);
    if (seen.base >> 24 > 0xd0)
        puts("redpill: inside the Matrix: SIDT shows a VMM's IDT, not ours\n");
    else
        puts("redpill: not in the Matrix: SIDT shows our own IDT\n");
    return 0;
}
