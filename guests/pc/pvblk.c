/* pvblk.c - wasmvisor's paravirtual block device (src/devices/pv-block.ts has the register map
 * and ring layout): requests are queued in a ring in this kernel's memory, one OUT to the
 * doorbell hands over the whole batch, and one IRQ 11 says it is done. Under QEMU nothing
 * answers at 0xA00 (the magic reads as all ones), so the device is absent there. */
#include "pc.h"

#define PV 0xa00
#define MAGIC 0x4b425657u
#define SLOTS 64

struct pv_slot {
    u32 op, status, lba_lo, lba_hi, count, buffer, cookie, reserved;
};
static struct {
    volatile u32 completed, reserved[3];
    struct pv_slot slot[SLOTS];
} ring __attribute__((aligned(16)));
static u32 produced, submitted;
volatile u32 pv_interrupts;

static void pv_irq(void)
{
    inl(PV + 0x20); /* ISR: acknowledges */
    pv_interrupts++;
}

int pv_init(u32 *sectors)
{
    if (inl(PV) != MAGIC)
        return -1;
    *sectors = inl(PV + 0x08);
    outl(PV + 0x14, (u32)&ring);
    outl(PV + 0x18, SLOTS);
    produced = submitted = 0;
    irq_install(11, pv_irq);
    return 0;
}

void pv_queue(u32 op, u32 lba, u32 count, void *buf)
{
    if (produced - submitted == SLOTS) /* ring full: hand over what is there first */
        pv_submit();
    struct pv_slot *s = &ring.slot[produced % SLOTS];
    s->op = op;
    s->status = 0xff;
    s->lba_lo = lba;
    s->lba_hi = 0;
    s->count = count;
    s->buffer = (u32)buf;
    s->cookie = produced;
    produced++;
}

int pv_submit(void)
{
    u32 seen = pv_interrupts;
    outl(PV + 0x1c, produced);
    wait_for(&pv_interrupts, seen);
    int failed = 0;
    for (; submitted != produced; submitted++)
        if (!failed && ring.slot[submitted % SLOTS].status)
            failed = (int)ring.slot[submitted % SLOTS].status;
    return failed;
}
