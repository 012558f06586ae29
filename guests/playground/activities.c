/* activities.c - what the playground does at every tick, one activity per kind of VM exit. Each
 * runs `ops` operations a tick (1-64, keys + and -) while it is on:
 *   CPUID       CPUID over a few leaves: always exits (reason 10);
 *   COM1        the COM1 ticker's next bytes (playground.c): a status read and a data write per
 *               byte, I/O exits (30) while the I/O bitmap intercepts COM1;
 *   spaces      MOV to CR3 round a ring of 1-5 page directories, each mapping 0x40000000 to a
 *               frame of its own (checked after every switch): a CR3-load exit (28) only when the
 *               directory is not among the CR3-target values, so 5 spaces against 4 targets exit
 *               at every switch and 4 or fewer do not;
 *   disk        ATA sectors (ops / 4, at least one) written with REP OUTSW and read back with REP
 *               INSW, compared: one I/O exit per sector plus the command's, and IRQ 14 waited
 *               for with HLT;
 *   VGA         cells of a moving bar on the lower screen rows: write-trap exits (48) when every
 *               write to the text buffer traps, none under periodic refresh;
 *   CLI/STI     pairs of CLI and STI: exits (0x100, 0x101) only when the IF mode traps them.
 * The seventh, HLT, is how the main loop waits for the next tick (playground.c). */
#include "playground.h"

#define WINDOW 0x40000000u /* the linear page each address space maps to its own frame */
#define SPACE_MARK 0x5ace0000u
#define DISK_FIRST_LBA 1
#define DISK_LBAS 64 /* the sectors the disk activity cycles over */

static void run_cpuid(struct activity *self, u32 ops);
static void run_com1(struct activity *self, u32 ops);
static void run_spaces(struct activity *self, u32 ops);
static void run_disk(struct activity *self, u32 ops);
static void run_vga(struct activity *self, u32 ops);
static void run_cli_sti(struct activity *self, u32 ops);

struct activity activities[ACTIVITIES] = {
    [CPUID] = {'c', "CPUID", "CPUID (10), always", 1, 0, 0, run_cpuid},
    [COM1_OUT] = {'o', "COM1 output", "I/O (30) while COM1 is intercepted", 1, 0, 0, run_com1},
    [SPACES] = {'p', "address spaces", "CR3 load (28) if not a CR3 target", 1, 0, 0, run_spaces},
    [DISK] = {'d', "disk sectors", "I/O (30) while disks are intercepted", 1, 0, 0, run_disk},
    [VGA] = {'v', "VGA cells", "write trap (48) if VGA traps writes", 1, 0, 0, run_vga},
    [CLI_STI] = {'i', "CLI/STI pairs", "CLI, STI (256, 257) in IF mode trap", 1, 0, 0, run_cli_sti},
    [HALT] = {'h', "HLT till tick", "HLT (12) with HLT exiting; off: spin", 1, 0, 0, 0},
};

u32 spaces_in_use = 4;
int disk_present;
char disk_model[41];
u32 disk_kib;

static u32 directory[MAX_SPACES][1024] __attribute__((aligned(4096)));
static u32 table[MAX_SPACES][1024] __attribute__((aligned(4096)));
static u32 frame[MAX_SPACES][1024] __attribute__((aligned(4096)));
static u32 current_space;

static void run_cpuid(struct activity *self, u32 ops)
{
    static const u32 leaves[] = {0, 1, 0x40000000, 0x80000000};
    for (u32 i = 0; i < ops; i++) {
        u32 a, b, c, d;
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaves[self->done++ % 4]), "c"(0));
    }
}

static void run_com1(struct activity *self, u32 ops)
{
    ticker_write(ops);
    self->done += ops;
}

static void run_spaces(struct activity *self, u32 ops)
{
    for (u32 i = 0; i < ops; i++) {
        current_space = (current_space + 1) % spaces_in_use;
        write_cr3((u32)directory[current_space]);
        if (*(volatile u32 *)WINDOW != SPACE_MARK + current_space)
            self->errors++;
        self->done++;
    }
}

/* Even operations write a sector stamped with its number, odd ones read it back and compare. */
static void run_disk(struct activity *self, u32 ops)
{
    static u32 sector[128] __attribute__((aligned(16)));
    if (!disk_present)
        return;
    for (u32 i = 0; i < (ops + 3) / 4; i++) {
        u32 n = self->done++, lba = DISK_FIRST_LBA + n / 2 % DISK_LBAS, stamp = n / 2 * 2654435761u;
        int failed;
        if (n % 2 == 0) {
            for (u32 w = 0; w < 128; w++)
                sector[w] = stamp + w;
            failed = ata_write(lba, 1, sector, 1);
        } else {
            memset(sector, 0, sizeof sector);
            failed = ata_read(lba, 1, sector, 1) || sector[0] != stamp || sector[127] != stamp + 127;
        }
        if (failed)
            self->errors++;
    }
}

/* A bar of eight cells running along rows 18-24, its colour changing at each lap. */
static void run_vga(struct activity *self, u32 ops)
{
    static volatile u16 *const screen = (volatile u16 *)0xb8000;
    enum { FIRST = 18 * VGA_COLUMNS, CELLS = (VGA_ROWS - 18) * VGA_COLUMNS, BAR = 8 };
    for (u32 i = 0; i < ops * 4; i++) {
        u32 at = self->done++ % CELLS, lap = self->done / CELLS;
        u8 colour = (u8)(1 + lap % 7);
        screen[FIRST + at] = (u16)(0xdb | colour << 8);                          /* the bar's head */
        screen[FIRST + (at + CELLS - BAR) % CELLS] = (u16)(0xfa | 0x08 << 8);     /* its tail: a dot */
    }
}

static void run_cli_sti(struct activity *self, u32 ops)
{
    for (u32 i = 0; i < ops; i++)
        __asm__ volatile("cli; sti" ::: "memory");
    self->done += ops;
}

/* Five page directories: 0-16 MiB identity-mapped with 4 MiB pages in each, and the window page
 * mapped to a frame of its own, holding its number. Paging stays on from here. */
static void paging_init(void)
{
    for (u32 s = 0; s < MAX_SPACES; s++) {
        for (u32 i = 0; i < 4; i++)
            directory[s][i] = (i << 22) | PDE_PS | PTE_W | PTE_P;
        directory[s][WINDOW >> 22] = (u32)table[s] | PTE_W | PTE_P;
        table[s][0] = (u32)frame[s] | PTE_W | PTE_P;
        frame[s][0] = SPACE_MARK + s;
    }
    write_cr4(read_cr4() | CR4_PSE);
    write_cr3((u32)directory[0]);
    write_cr0(read_cr0() | CR0_PG);
}

void activities_init(void)
{
    paging_init();
    u32 sectors;
    disk_present = ata_identify(&sectors, disk_model) == 0;
    disk_kib = disk_present ? sectors / 2 : 0;
    activities[DISK].on = disk_present;
}
