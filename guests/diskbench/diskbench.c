/* diskbench.c - the same megabytes through the three ways to the disk, to show what I/O design
 * costs under virtualization: the ATA disk with one IN/OUT per 16-bit word (256 VM exits per
 * sector), the ATA disk with REP INSW/OUTSW (one exit per sector), and wasmvisor's paravirtual
 * block device (requests of 64 KiB chained in a ring, one doorbell OUT per batch). For each path
 * and direction it prints the VM exits per KiB (from the exit-count hypercall, wasmvisor only)
 * and KiB per second of the PIT's time, so run it with `--clock real` for host-time throughput:
 *
 *     wasmvisor run guests/diskbench.elf --disk IMAGE --clock real [--cmdline MiB]
 *
 * The image must hold the megabytes asked for (1 by default); they are overwritten. Every path
 * reads back what another path wrote, and a checksum mismatch fails the run (exit status 1). */
#include "../pc/pc.h"
#include "../lib/hypercall.h"

#define CHUNK_SECTORS 128 /* 64 KiB per command or request */
#define MAX_MIB 16

static u8 buffer[MAX_MIB << 20] __attribute__((aligned(4096)));
static int wasmvisor;

/* Exits of every reason but VMCALL (which the counting itself causes) so far. */
static u32 exits_so_far(void)
{
    static const u32 reasons[] = {0, 1, 7, 10, 12, 28, 30, 48, 52};
    u32 total = 0;
    for (u32 i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        total += (u32)hypercall64(HC_EXIT_COUNT, reasons[i]);
    return total;
}

static void fill(u32 bytes, u32 seed)
{
    u32 *words = (u32 *)buffer;
    for (u32 i = 0; i < bytes / 4; i++)
        words[i] = seed + i * 2654435761u;
}

static u32 checksum(u32 bytes)
{
    u32 sum = 0, *words = (u32 *)buffer;
    for (u32 i = 0; i < bytes / 4; i++)
        sum = (sum << 5 | sum >> 27) ^ words[i];
    return sum;
}

enum path { ATA_WORDS, ATA_REP, PV };
static const char *const names[] = {"ATA, IN/OUT per word ", "ATA, REP INSW/OUTSW  ", "paravirtual ring     "};

static int transfer(enum path path, int write, u32 sectors)
{
    for (u32 at = 0; at < sectors; at += CHUNK_SECTORS) {
        u8 *buf = buffer + at * 512;
        int err;
        if (path == PV) {
            pv_queue(write ? PV_WRITE : PV_READ, at, CHUNK_SECTORS, buf);
            err = 0;
        } else if (write) {
            err = ata_write(at, CHUNK_SECTORS, buf, path == ATA_REP);
        } else {
            err = ata_read(at, CHUNK_SECTORS, buf, path == ATA_REP);
        }
        if (err)
            return err;
    }
    if (path == PV) {
        if (write)
            pv_queue(PV_FLUSH, 0, 0, 0);
        return pv_submit();
    }
    return 0;
}

static void report(enum path path, int write, u32 kib, u32 exits, u32 micros)
{
    u32 whole = exits / kib, thousandths = (exits % kib) * 1000 / kib; /* no 64-bit division here */
    u32 units = micros / 64 ? micros / 64 : 1; /* 1000000 = 15625 * 64, kept within 32 bits */
    u32 kib_per_s = kib * 15625 / units;
    kprintf("%s %s %6u KiB %9u exits %6u.%03u exits/KiB %8u KiB/s\n", names[path], write ? "write" : "read ",
            kib, exits, whole, thousandths, kib_per_s);
}

static int run(enum path path, int write, u32 sectors)
{
    u32 exits = wasmvisor ? exits_so_far() : 0, start = pit_micros();
    int err = transfer(path, write, sectors);
    u32 micros = pit_micros() - start;
    exits = wasmvisor ? exits_so_far() - exits : 0;
    if (err) {
        kprintf("%s%s failed (%d)\n", names[path], write ? "write" : "read", err);
        return 1;
    }
    report(path, write, sectors / 2, exits, micros);
    return 0;
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    u32 mib = mb_cmdline_number(mb, 1);
    if (mib < 1 || mib > MAX_MIB)
        mib = 1;
    u32 sectors = mib * 2048, bytes = mib << 20;
    pc_init();
    sti();
    pit_start(1000);
    u32 id[4];
    __asm__ volatile("cpuid" : "=a"(id[0]), "=b"(id[1]), "=c"(id[2]), "=d"(id[3]) : "a"(0x40000000));
    wasmvisor = !memcmp(&id[1], "wasmvisor\0\0\0", 12);

    u32 ata_sectors, pv_sectors;
    char model[41];
    if (ata_identify(&ata_sectors, model)) {
        puts("diskbench: no ATA disk (run with --disk IMAGE)\n");
        return 1;
    }
    int have_pv = pv_init(&pv_sectors) == 0;
    kprintf("diskbench: %u MiB through each path; ATA disk \"%s\", %u sectors; paravirtual device %s\n", mib, model,
            ata_sectors, have_pv ? "present" : "absent");
    if (ata_sectors < sectors) {
        puts("diskbench: the disk image is smaller than the megabytes asked for\n");
        return 1;
    }

    int failed = 0;
    static const enum path paths[] = {ATA_WORDS, ATA_REP, PV};
    for (u32 p = 0; p < 3; p++) {
        enum path path = paths[p];
        if (path == PV && !have_pv)
            continue;
        u32 seed = 0x1234567u * (p + 1);
        fill(bytes, seed);
        u32 written = checksum(bytes);
        failed |= run(path, 1, sectors);
        memset(buffer, 0, bytes);
        /* read back through the next path, so each path reads what another one wrote */
        enum path reader = paths[(p + 1) % 3] == PV && !have_pv ? ATA_WORDS : paths[(p + 1) % 3];
        failed |= run(reader, 0, sectors);
        if (checksum(bytes) != written) {
            kprintf("diskbench: %s read back something else than %s wrote\n", names[reader], names[path]);
            failed = 1;
        }
    }
    pit_stop();
    puts(failed ? "diskbench: FAILED\n" : "diskbench: all data read back intact\n");
    return failed;
}
