/* tour.c - what `npm start` boots: a few seconds through what wasmvisor offers a guest, shown on
 * COM1 and the VGA screen, ending by itself with status 0.
 *  1. who is underneath: CPUID's vendor and the hypervisor leaves (0x40000000 on);
 *  2. timer interrupts: the PIT at 100 Hz through the PIC, the CPU halted between ticks;
 *  3. address spaces: five page directories that map the same linear page to five different
 *     frames, switched round and round with MOV to CR3, then only three of them; under wasmvisor
 *     the exit-count hypercall shows the CR3-target list at work (up to four address spaces
 *     switch without a VM exit, a fifth costs one per switch);
 *  4. a disk, if one is attached (--disk): the ATA disk's identity and sector 0 through both the
 *     ATA disk and the paravirtual device;
 *  5. the date from the CMOS clock.
 * It runs on QEMU too, without the wasmvisor-only parts. */
#include "../pc/pc.h"
#include "../lib/hypercall.h"

#define SPACES 5
#define WINDOW 0x40000000u /* the linear page each address space maps elsewhere */
#define BANNER 0x1f

static u32 directory[SPACES][1024] __attribute__((aligned(4096)));
static u32 table[SPACES][1024] __attribute__((aligned(4096)));
static u32 frame[SPACES][1024] __attribute__((aligned(4096)));
static int wasmvisor;

static void heading(const char *text)
{
    vga_set_attr(0x0e);
    con_puts(text);
    vga_set_attr(0x07);
}

static void cpuid(u32 leaf, u32 r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

static void who(void)
{
    u32 r[4];
    char text[13] = {0};
    heading("1. Who is underneath\n");
    cpuid(0, r);
    memcpy(text, &r[1], 4), memcpy(text + 4, &r[3], 4), memcpy(text + 8, &r[2], 4);
    con_puts("   CPU vendor ");
    con_puts(text);
    cpuid(1, r);
    if (!(r[2] & (1u << 31))) {
        con_puts(", no hypervisor announced (CPUID.1:ECX[31] = 0)\n");
        return;
    }
    cpuid(0x40000000, r);
    memcpy(text, &r[1], 12);
    con_puts(", hypervisor \"");
    con_puts(text);
    con_puts("\"\n");
    wasmvisor = !memcmp(text, "wasmvisor\0\0\0", 12);
    if (wasmvisor) {
        cpuid(0x40000001, r);
        con_puts("   wasmvisor hypercall ABI version ");
        con_dec(r[0]);
        con_puts(", functions 1-");
        con_dec(r[1]);
        con_puts("\n");
    }
}

static void timer(void)
{
    heading("2. Timer interrupts\n");
    pit_start(100);
    u32 start = pit_ticks;
    while (pit_ticks - start < 25)
        wait_for(&pit_ticks, pit_ticks);
    pit_stop();
    con_puts("   25 ticks of the PIT at 100 Hz taken through the PIC, halted in between\n");
}

static u32 cr3_exits(void) { return wasmvisor ? (u32)hypercall64(HC_EXIT_COUNT, 28) : 0; }

/* Switches among the first `count` spaces `rounds` times, checking each sees its own frame. */
static int switch_spaces(u32 count, u32 rounds)
{
    for (u32 round = 0; round < rounds; round++)
        for (u32 s = 0; s < count; s++) {
            write_cr3((u32)directory[s]);
            if (*(volatile u32 *)WINDOW != 0x5ace0000u + s)
                return -1;
        }
    return 0;
}

static void spaces(void)
{
    heading("3. Address spaces\n");
    u32 r[4];
    cpuid(1, r);
    if (!(r[3] & (1u << 3))) {
        con_puts("   no 4 MiB pages (CPUID PSE): skipped\n");
        return;
    }
    for (u32 s = 0; s < SPACES; s++) {
        for (u32 i = 0; i < 4; i++) /* 0-16 MiB identity-mapped with 4 MiB pages */
            directory[s][i] = (i << 22) | PDE_PS | PTE_W | PTE_P;
        directory[s][WINDOW >> 22] = (u32)table[s] | PTE_W | PTE_P;
        table[s][0] = (u32)frame[s] | PTE_W | PTE_P;
        frame[s][0] = 0x5ace0000u + s;
    }
    write_cr4(read_cr4() | CR4_PSE);
    write_cr3((u32)directory[0]);
    write_cr0(read_cr0() | CR0_PG);
    u32 before = cr3_exits();
    int ok = switch_spaces(SPACES, 200);
    u32 five = cr3_exits() - before;
    before = cr3_exits();
    ok |= switch_spaces(3, 200);
    u32 three = cr3_exits() - before;
    write_cr0(read_cr0() & ~CR0_PG);
    if (ok) {
        con_puts("   paging did not map the window as asked: FAILED\n");
        return;
    }
    con_puts("   5 page directories map 0x40000000 to 5 frames: 1000 CR3 switches, all right\n");
    if (!wasmvisor)
        return;
    con_puts("   CR3 loads that exited: ");
    con_dec(five);
    con_puts(" of 1000 among 5 spaces, ");
    con_dec(three);
    con_puts(" of 600 among 3\n   (the CR3-target list holds 4: a fifth space costs a VM exit per switch)\n");
}

static void disk(void)
{
    static u8 sector[512] __attribute__((aligned(16)));
    heading("4. A disk\n");
    u32 sectors;
    char model[41];
    if (ata_identify(&sectors, model)) {
        con_puts("   no disk attached (wasmvisor run ... --disk IMAGE)\n");
        return;
    }
    con_puts("   ATA disk \"");
    con_puts(model);
    con_puts("\", ");
    con_dec(sectors / 2);
    con_puts(" KiB, sector 0 by PIO: ");
    int err = ata_read(0, 1, sector, 1);
    for (int i = 0; i < 8 && !err; i++)
        con_hex(sector[i], 2);
    con_puts(err ? "read error\n" : "\n");
    if (pv_init(&sectors))
        return;
    memset(sector, 0, sizeof sector);
    pv_queue(PV_READ, 0, 1, sector);
    err = pv_submit();
    con_puts("   the same sector through the paravirtual ring: ");
    for (int i = 0; i < 8 && !err; i++)
        con_hex(sector[i], 2);
    con_puts(err ? "read error\n" : "\n");
}

static void clock(void)
{
    char buf[20];
    heading("5. The clock\n");
    rtc_now(buf);
    con_puts("   the CMOS clock says ");
    con_puts(buf);
    con_puts("\n");
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic, (void)mb;
    pc_init();
    vga_clear(0x07);
    vga_fill_row(0, BANNER);
    vga_write_at(0, 2, "wasmvisor tour", BANNER);
    vga_goto(2, 0);
    sti();
    con_puts("Hello from the wasmvisor tour: a guest kernel taking a look around.\n\n");
    who();
    timer();
    spaces();
    disk();
    clock();
    con_puts("\nThe tour is over; the exit statistics follow from the VMM.\n");
    return 0;
}
