/* gfx.h - graphics for guests, with no BIOS: the PCI configuration space (mechanism #1), VGA
 * mode 13h set from the standard register tables, and the Bochs/QEMU "dispi" interface with the
 * linear frame buffer found from the std-VGA's PCI BAR 0, exactly as on qemu-system-i386 -vga std.
 * Integer arithmetic only: the guest CPU has no FPU. */
#ifndef GFX_H
#define GFX_H
#include "guest.h"

static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline u16 inw(u16 port)
{
    u16 v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u32 inl(u16 port)
{
    u32 v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* pci.c - configuration mechanism #1: address at 0xCF8, data at 0xCFC-0xCFF */
#define PCI_VENDOR_BOCHS 0x1234
#define PCI_DEVICE_STD_VGA 0x1111
u32 pci_read32(u32 bus, u32 dev, u32 fn, u32 reg);
u16 pci_read16(u32 bus, u32 dev, u32 fn, u32 reg);
u8 pci_read8(u32 bus, u32 dev, u32 fn, u32 reg);
void pci_write32(u32 bus, u32 dev, u32 fn, u32 reg, u32 v);
/* The slot (device number on bus 0) holding vendor:device, or -1. */
int pci_find(u16 vendor, u16 device);

/* vga.c - mode 13h: 320x200, 256 colours, chain-4 at 0xA0000, the DAC's 6-bit components */
#define MODE13H_WIDTH 320
#define MODE13H_HEIGHT 200
#define MODE13H_FB ((volatile u8 *)0xa0000)
void vga_set_mode13h(void);
void vga_set_palette(u8 index, u8 r6, u8 g6, u8 b6);

/* dispi.c - the Bochs dispi interface (index 0x1CE, data 0x1CF) and the LFB from BAR 0 */
#define DISPI_INDEX_ID 0
#define DISPI_INDEX_XRES 1
#define DISPI_INDEX_YRES 2
#define DISPI_INDEX_BPP 3
#define DISPI_INDEX_ENABLE 4
#define DISPI_INDEX_BANK 5
#define DISPI_INDEX_VIRT_WIDTH 6
#define DISPI_INDEX_VIRT_HEIGHT 7
#define DISPI_INDEX_X_OFFSET 8
#define DISPI_INDEX_Y_OFFSET 9
#define DISPI_INDEX_VIDEO_MEMORY_64K 10
#define DISPI_ENABLED 0x01
#define DISPI_8BIT_DAC 0x20
#define DISPI_LFB_ENABLED 0x40
#define DISPI_NOCLEARMEM 0x80
void dispi_write(u16 index, u16 value);
u16 dispi_read(u16 index);
/* The linear frame buffer's address from the std-VGA's BAR 0, or 0 if there is no std-VGA. */
u32 dispi_lfb(void);
/* Sets width x height x bpp with the LFB enabled (the DAC stays 6-bit); returns the LFB or 0. */
volatile u8 *dispi_set_mode(u16 width, u16 height, u16 bpp);

#endif
