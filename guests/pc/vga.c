/* vga.c - the 80x25 colour text screen: characters and attributes straight into the frame
 * buffer at 0xB8000, scrolling by copying rows up, and the hardware cursor through CRTC
 * registers 0x0E/0x0F. */
#include "pc.h"

static volatile u16 *const screen = (volatile u16 *)0xb8000;
static int row, column;
static u8 attr = 0x07;

static void place_cursor(void)
{
    u32 at = (u32)(row * VGA_COLUMNS + column);
    outb(0x3d4, 0x0e);
    outb(0x3d5, at >> 8);
    outb(0x3d4, 0x0f);
    outb(0x3d5, at & 0xff);
}

void vga_set_attr(u8 a) { attr = a; }

void vga_fill_row(int r, u8 a)
{
    for (int c = 0; c < VGA_COLUMNS; c++)
        screen[r * VGA_COLUMNS + c] = (u16)(' ' | a << 8);
}

void vga_clear(u8 a)
{
    attr = a;
    for (int r = 0; r < VGA_ROWS; r++)
        vga_fill_row(r, a);
    vga_goto(0, 0);
}

void vga_goto(int r, int c)
{
    row = r;
    column = c;
    place_cursor();
}

static void scroll(void)
{
    for (int i = 0; i < (VGA_ROWS - 1) * VGA_COLUMNS; i++)
        screen[i] = screen[i + VGA_COLUMNS];
    vga_fill_row(VGA_ROWS - 1, attr);
    row = VGA_ROWS - 1;
}

static void put(char c)
{
    if (c == '\n') {
        column = 0;
        row++;
    } else if (c == '\r') {
        column = 0;
    } else if (c == '\b') {
        if (column > 0)
            screen[row * VGA_COLUMNS + --column] = (u16)(' ' | attr << 8);
    } else {
        screen[row * VGA_COLUMNS + column] = (u16)((u8)c | attr << 8);
        if (++column == VGA_COLUMNS) {
            column = 0;
            row++;
        }
    }
    if (row == VGA_ROWS)
        scroll();
}

void vga_putc(char c)
{
    put(c);
    place_cursor();
}

void vga_puts(const char *s)
{
    while (*s)
        put(*s++);
    place_cursor();
}

void vga_write_at(int r, int c, const char *s, u8 a)
{
    for (; *s && c < VGA_COLUMNS; s++, c++)
        screen[r * VGA_COLUMNS + c] = (u16)((u8)*s | a << 8);
}
