/* gfxprobe.c - prints what a guest can read of the PC's graphics hardware, so wasmvisor's answers
 * can be compared with QEMU's (-vga std) line for line: the PCI configuration space of the host
 * bridge and the std-VGA (dwords, and words and bytes at every offset of the first 16 bytes), an
 * empty slot, BAR 0 sized by writing all ones, the dispi interface's ID and video memory, the
 * registers read back after absurd modes (0x0, 10000x10000, bad bpp), and the DAC read back after
 * garbage. BAR 0's address is left out: it is the firmware's choice. The expected output comes
 * from QEMU with 2 MiB of video memory (-global VGA.vgamem_mb=2), as wasmvisor has: the largest
 * mode's frame buffer, 800x600x32, rounded up to a power of two. */
#include "../gfx/gfx.h"

static void dump_function(u32 dev)
{
    kprintf("00:%02x.0", dev);
    for (u32 reg = 0; reg < 0x40; reg += 4) {
        u32 v = pci_read32(0, dev, 0, reg);
        if (reg == 0x10 && dev != 0)
            v &= 0xf; /* BAR 0's address is the firmware's choice: SeaBIOS's depends on its size */
        kprintf("%s%08x", reg % 16 ? " " : "\n  ", v);
    }
    puts("\n  words");
    for (u32 reg = 0; reg < 16; reg += 2)
        kprintf(" %04x", pci_read16(0, dev, 0, reg));
    puts("\n  bytes");
    for (u32 reg = 0; reg < 16; reg++)
        kprintf(" %02x", pci_read8(0, dev, 0, reg));
    puts("\n");
}

static void size_bar(u32 dev, u32 reg)
{
    u32 saved = pci_read32(0, dev, 0, reg);
    pci_write32(0, dev, 0, reg, 0xffffffffu);
    u32 sized = pci_read32(0, dev, 0, reg);
    pci_write32(0, dev, 0, reg, saved);
    kprintf("00:%02x.0 reg %02x: all ones read back %08x, restored: %s\n", dev, reg, sized,
            pci_read32(0, dev, 0, reg) == saved ? "yes" : "no");
}

static void try_mode(u16 xres, u16 yres, u16 bpp)
{
    dispi_write(DISPI_INDEX_ENABLE, 0);
    dispi_write(DISPI_INDEX_XRES, xres);
    dispi_write(DISPI_INDEX_YRES, yres);
    dispi_write(DISPI_INDEX_BPP, bpp);
    dispi_write(DISPI_INDEX_ENABLE, DISPI_ENABLED | DISPI_LFB_ENABLED | DISPI_NOCLEARMEM);
    kprintf("mode %ux%ux%u:", xres, yres, bpp);
    for (u16 i = 0; i <= DISPI_INDEX_VIDEO_MEMORY_64K; i++)
        kprintf(" %04x", dispi_read(i));
    puts("\n");
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    (void)mb;
    dump_function(0);
    int vga = pci_find(PCI_VENDOR_BOCHS, PCI_DEVICE_STD_VGA);
    kprintf("std-vga at slot %d\n", vga);
    if (vga < 0)
        return 1;
    dump_function((u32)vga);
    kprintf("empty slot 00:1f.0 reads %08x\n", pci_read32(0, 31, 0, 0));
    pci_write32(0, (u32)vga, 0, 0x3c, 0xffffffffu); /* interrupt line: only the low byte is writable */
    kprintf("interrupt line/pin after all ones: %08x\n", pci_read32(0, (u32)vga, 0, 0x3c));
    pci_write32(0, (u32)vga, 0, 0, 0); /* the IDs are read-only */
    kprintf("ids after a write: %08x\n", pci_read32(0, (u32)vga, 0, 0));
    size_bar((u32)vga, 0x10);
    size_bar((u32)vga, 0x18);
    size_bar((u32)vga, 0x30);
    size_bar(0, 0x10);

    kprintf("dispi id %04x\n", dispi_read(DISPI_INDEX_ID));
    try_mode(640, 480, 8);
    try_mode(800, 600, 32);
    try_mode(0, 0, 0);
    try_mode(10000, 10000, 32);
    try_mode(10000, 10000, 8);
    try_mode(641, 479, 24);
    try_mode(800, 600, 7);
    try_mode(800, 600, 15);
    dispi_write(DISPI_INDEX_ENABLE, 0);

    /* The DAC: an entry changes on its third write (the seventh write here is left pending), the
     * byte is kept whole (the display uses 6 bits), and reading follows its own index. */
    vga_set_palette(7, 1, 2, 3);
    outb(0x3c8, 5);
    for (u32 i = 0; i < 7; i++)
        outb(0x3c9, (u8)(0xc3 + i * 17));
    outb(0x3c7, 5);
    puts("dac 5-7:");
    for (u32 i = 0; i < 9; i++)
        kprintf(" %02x", inb(0x3c9));
    kprintf("\ndac state %02x, write index %02x\n", inb(0x3c7), inb(0x3c8));
    puts("done\n");
    return 0;
}
