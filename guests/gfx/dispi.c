/* dispi.c - the Bochs/QEMU display interface: registers selected at port 0x1CE and read or
 * written at 0x1CF. A mode is set with ENABLE off, then XRES, YRES, BPP, then ENABLE with the
 * LFB flag; the frame buffer is the std-VGA's PCI BAR 0 (memory, prefetchable: the low 4 bits
 * are flags). */
#include "gfx.h"

#define DISPI_PORT_INDEX 0x1ce
#define DISPI_PORT_DATA 0x1cf

void dispi_write(u16 index, u16 value)
{
    outw(DISPI_PORT_INDEX, index);
    outw(DISPI_PORT_DATA, value);
}

u16 dispi_read(u16 index)
{
    outw(DISPI_PORT_INDEX, index);
    return inw(DISPI_PORT_DATA);
}

u32 dispi_lfb(void)
{
    int slot = pci_find(PCI_VENDOR_BOCHS, PCI_DEVICE_STD_VGA);
    if (slot < 0)
        return 0;
    return pci_read32(0, (u32)slot, 0, 0x10) & ~0xfu;
}

volatile u8 *dispi_set_mode(u16 width, u16 height, u16 bpp)
{
    u32 lfb = dispi_lfb();
    if (lfb == 0)
        return 0;
    dispi_write(DISPI_INDEX_ENABLE, 0);
    dispi_write(DISPI_INDEX_XRES, width);
    dispi_write(DISPI_INDEX_YRES, height);
    dispi_write(DISPI_INDEX_BPP, bpp);
    dispi_write(DISPI_INDEX_ENABLE, DISPI_ENABLED | DISPI_LFB_ENABLED);
    return (volatile u8 *)lfb;
}
