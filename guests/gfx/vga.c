/* vga.c - VGA mode 13h without a BIOS: the standard register table for 320x200x256 (miscellaneous
 * output, sequencer, CRTC, graphics controller, attribute controller), written in the order a
 * BIOS writes them; and the DAC palette, 6 bits per component, through 0x3C8/0x3C9. */
#include "gfx.h"

#define VGA_AC_INDEX 0x3c0
#define VGA_MISC_WRITE 0x3c2
#define VGA_SEQ_INDEX 0x3c4
#define VGA_DAC_WRITE_INDEX 0x3c8
#define VGA_DAC_DATA 0x3c9
#define VGA_GC_INDEX 0x3ce
#define VGA_CRTC_INDEX 0x3d4
#define VGA_INSTAT_READ 0x3da
#define VGA_AC_PALETTE_ENABLE 0x20 /* attribute index bit 5: the screen shows (clear: blanked) */

static const u8 misc_13h = 0x63;
static const u8 seq_13h[5] = {0x03, 0x01, 0x0f, 0x00, 0x0e};
static const u8 crtc_13h[25] = {
    0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x9c, 0x0e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff,
};
static const u8 gc_13h[9] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff};
static const u8 ac_13h[21] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
    0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x41, 0x00, 0x0f, 0x00, 0x00,
};

void vga_set_mode13h(void)
{
    outb(VGA_MISC_WRITE, misc_13h);
    for (u8 i = 0; i < sizeof seq_13h; i++) {
        outb(VGA_SEQ_INDEX, i);
        outb(VGA_SEQ_INDEX + 1, seq_13h[i]);
    }
    /* CRTC registers 0-7 are write-protected while bit 7 of register 0x11 is set. */
    outb(VGA_CRTC_INDEX, 0x11);
    outb(VGA_CRTC_INDEX + 1, inb(VGA_CRTC_INDEX + 1) & 0x7f);
    for (u8 i = 0; i < sizeof crtc_13h; i++) {
        outb(VGA_CRTC_INDEX, i);
        outb(VGA_CRTC_INDEX + 1, crtc_13h[i]);
    }
    for (u8 i = 0; i < sizeof gc_13h; i++) {
        outb(VGA_GC_INDEX, i);
        outb(VGA_GC_INDEX + 1, gc_13h[i]);
    }
    /* The attribute controller takes index and data at one port: reading input status 1 puts
     * its flip-flop back on "index". */
    for (u8 i = 0; i < sizeof ac_13h; i++) {
        (void)inb(VGA_INSTAT_READ);
        outb(VGA_AC_INDEX, i);
        outb(VGA_AC_INDEX, ac_13h[i]);
    }
    (void)inb(VGA_INSTAT_READ);
    outb(VGA_AC_INDEX, VGA_AC_PALETTE_ENABLE);
}

void vga_set_palette(u8 index, u8 r6, u8 g6, u8 b6)
{
    outb(VGA_DAC_WRITE_INDEX, index);
    outb(VGA_DAC_DATA, r6);
    outb(VGA_DAC_DATA, g6);
    outb(VGA_DAC_DATA, b6);
}
