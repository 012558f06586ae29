/* pci.c - PCI configuration mechanism #1: write the enable bit, bus, device, function and dword
 * register to 0xCF8, then read or write the data window 0xCFC-0xCFF at the register's byte. */
#include "gfx.h"

#define PCI_ADDRESS 0xcf8
#define PCI_DATA 0xcfc

static void pci_select(u32 bus, u32 dev, u32 fn, u32 reg)
{
    outl(PCI_ADDRESS, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc));
}

u32 pci_read32(u32 bus, u32 dev, u32 fn, u32 reg)
{
    pci_select(bus, dev, fn, reg);
    return inl(PCI_DATA);
}

u16 pci_read16(u32 bus, u32 dev, u32 fn, u32 reg)
{
    pci_select(bus, dev, fn, reg);
    return inw((u16)(PCI_DATA + (reg & 2)));
}

u8 pci_read8(u32 bus, u32 dev, u32 fn, u32 reg)
{
    pci_select(bus, dev, fn, reg);
    return inb((u16)(PCI_DATA + (reg & 3)));
}

void pci_write32(u32 bus, u32 dev, u32 fn, u32 reg, u32 v)
{
    pci_select(bus, dev, fn, reg);
    outl(PCI_DATA, v);
}

int pci_find(u16 vendor, u16 device)
{
    for (u32 dev = 0; dev < 32; dev++)
        if (pci_read32(0, dev, 0, 0) == ((u32)device << 16 | vendor))
            return (int)dev;
    return -1;
}
