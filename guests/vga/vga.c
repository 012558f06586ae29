/* vga.c - draws a VGA text screen and keeps a counter on it updated: a title bar, a frame in
 * code page 437's box-drawing characters, all 16 foreground colours on all 8 backgrounds, text
 * placed by moving the hardware cursor, and a counter rewritten N times (the first number on
 * the command line, 20000 by default) with a little arithmetic between updates. Under
 * wasmvisor's default the frame buffer is plain RAM and costs no exits; with --vga-trap every
 * character written exits, which is what this guest exists to measure. COM1 gets a summary. */
#include "../pc/pc.h"

#define BLUE_ON_GREY 0x71
#define WHITE_ON_BLUE 0x1f
#define YELLOW_ON_BLUE 0x1e

static void frame(int top, int left, int bottom, int right, u8 attr)
{
    static char line[VGA_COLUMNS + 1];
    for (int c = left + 1; c < right; c++)
        line[c - left - 1] = (char)0xcd; /* double horizontal */
    line[right - left - 1] = 0;
    vga_write_at(top, left + 1, line, attr);
    vga_write_at(bottom, left + 1, line, attr);
    for (int r = top + 1; r < bottom; r++) {
        vga_write_at(r, left, "\xba", attr);
        vga_write_at(r, right, "\xba", attr);
    }
    vga_write_at(top, left, "\xc9", attr);
    vga_write_at(top, right, "\xbb", attr);
    vga_write_at(bottom, left, "\xc8", attr);
    vga_write_at(bottom, right, "\xbc", attr);
}

static void colour_chart(int top, int left)
{
    for (int bg = 0; bg < 8; bg++)
        for (int fg = 0; fg < 16; fg++) {
            char cell[3] = {"0123456789ABCDEF"[fg], "01234567"[bg], 0};
            vga_write_at(top + bg, left + 3 * fg, cell, (u8)(bg << 4 | fg));
        }
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    u32 updates = mb_cmdline_number(mb, 20000);
    vga_clear(WHITE_ON_BLUE);
    vga_fill_row(0, BLUE_ON_GREY);
    vga_write_at(0, 2, "wasmvisor VGA text mode: 80x25, 16 colours, code page 437", BLUE_ON_GREY);
    frame(2, 4, 22, 75, YELLOW_ON_BLUE);
    colour_chart(4, 16);
    vga_write_at(13, 16, "Box drawing: \xda\xc4\xc2\xc4\xbf \xc9\xcd\xcb\xcd\xbb  shades: \xb0\xb1\xb2\xdb  arrows: \x18\x19\x1a\x1b", WHITE_ON_BLUE);
    vga_goto(15, 16);
    vga_set_attr(WHITE_ON_BLUE);
    vga_puts("The hardware cursor follows this text.");
    vga_write_at(17, 16, "counter:", YELLOW_ON_BLUE);

    char digits[12];
    u32 x = 1;
    for (u32 i = 1; i <= updates; i++) {
        for (int k = 0; k < 50; k++) /* work between updates: a small xorshift */
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        format_dec(digits, i, 10);
        vga_write_at(17, 26, digits, WHITE_ON_BLUE);
    }
    vga_goto(19, 16);
    vga_puts("done.");
    kprintf("vga: drew the screen and counted to %u (xorshift %08x)\n", updates, x);
    return 0;
}
