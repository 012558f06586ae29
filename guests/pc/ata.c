/* ata.c - the primary ATA disk by programmed I/O, as the slow path of diskbench: LBA28 READ
 * SECTORS and WRITE SECTORS, each 512-byte block moved through the 16-bit data port either one
 * IN/OUT per word or with REP INSW/OUTSW, and IRQ 14 (acknowledged by reading Status) waited for
 * once per sector. A disk whose ports stop answering (Status reads all ones: none attached, or
 * the VMM no longer passes its ports to it) ends the call with -1, never a wait without end. */
#include "pc.h"

#define DATA 0x1f0
#define STATUS 0x1f7
#define ALT_STATUS 0x3f6
#define BSY 0x80
#define DRQ 0x08
#define ERR 0x01
#define FLOATING 0xff /* what IN reads where no device answers */

static volatile u32 irqs;
static volatile u8 last_status;

static void ata_irq(void)
{
    last_status = inb(STATUS);
    irqs++;
}

static int gone(void) { return inb(ALT_STATUS) == FLOATING; }

/* IRQ 14 once more than `seen` times, or -1 if the disk stopped answering meanwhile. */
static int wait_irq(u32 seen) { return wait_for_unless(&irqs, seen, gone); }

static int command(u32 lba, u32 count, u8 cmd)
{
    u8 status;
    while ((status = inb(ALT_STATUS)) & BSY)
        if (status == FLOATING)
            return -1;
    outb(0x1f6, 0xe0 | ((lba >> 24) & 0x0f));
    outb(0x1f2, count & 0xff);
    outb(0x1f3, lba & 0xff);
    outb(0x1f4, (lba >> 8) & 0xff);
    outb(0x1f5, (lba >> 16) & 0xff);
    outb(STATUS, cmd);
    return 0;
}

static void read_block(u16 *buf, int rep)
{
    if (rep) {
        __asm__ volatile("rep insw" : "+D"(buf) : "c"(256), "d"(DATA) : "memory");
        return;
    }
    for (int i = 0; i < 256; i++)
        buf[i] = inw(DATA);
}

static void write_block(const u16 *buf, int rep)
{
    if (rep) {
        __asm__ volatile("rep outsw" : "+S"(buf) : "c"(256), "d"(DATA) : "memory");
        return;
    }
    for (int i = 0; i < 256; i++)
        outw(DATA, buf[i]);
}

int ata_identify(u32 *sectors, char model[41])
{
    static u16 id[256];
    if (inb(STATUS) == 0xff) /* floating bus: no controller */
        return -1;
    irq_install(14, ata_irq);
    outb(ALT_STATUS, 0x00); /* nIEN clear: interrupts on */
    u32 seen = irqs;
    outb(0x1f6, 0xa0);
    outb(STATUS, 0xec);
    if (wait_irq(seen) || last_status & ERR || !(last_status & DRQ))
        return -1;
    read_block(id, 1);
    for (int i = 0; i < 20; i++) {
        model[2 * i] = (char)(id[27 + i] >> 8);
        model[2 * i + 1] = (char)id[27 + i];
    }
    model[40] = 0;
    for (int i = 39; i >= 0 && model[i] == ' '; i--)
        model[i] = 0;
    *sectors = id[60] | (u32)id[61] << 16;
    return 0;
}

int ata_read(u32 lba, u32 count, void *buf, int rep)
{
    u32 seen = irqs;
    if (command(lba, count, 0x20))
        return -1;
    for (u32 s = 0; s < count; s++) {
        if (wait_irq(seen++) || last_status & ERR)
            return -1;
        read_block((u16 *)buf + 256 * s, rep);
    }
    return 0;
}

int ata_write(u32 lba, u32 count, const void *buf, int rep)
{
    u32 seen = irqs;
    if (command(lba, count, 0x30))
        return -1;
    for (u32 s = 0; s < count; s++) {
        while ((inb(ALT_STATUS) & (BSY | DRQ)) != DRQ) /* the first block is asked for without an IRQ */
            if (inb(ALT_STATUS) & ERR)
                return -1;
        write_block((const u16 *)buf + 256 * s, rep);
        if (wait_irq(seen++) || last_status & ERR)
            return -1;
    }
    seen = irqs;
    if (command(0, 0, 0xe7) || wait_irq(seen)) /* FLUSH CACHE */
        return -1;
    return last_status & ERR ? -1 : 0;
}
