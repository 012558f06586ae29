/* console.c - text to COM1 and the VGA screen at once (the guests' console is both), and the
 * number formatting the screen needs (lib/print.c formats for COM1 only). */
#include "pc.h"

void con_putc(char c)
{
    serial_putc(c);
    vga_putc(c);
}

void con_puts(const char *s)
{
    puts(s);
    vga_puts(s);
}

char *format_dec(char *buf, u32 v, int width)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (; width > n; width--)
        *buf++ = '0';
    while (n)
        *buf++ = digits[--n];
    *buf = 0;
    return buf;
}

void con_dec(u32 v)
{
    char buf[12];
    format_dec(buf, v, 0);
    con_puts(buf);
}

void con_hex(u32 v, int digits)
{
    char buf[9];
    for (int i = 0; i < digits; i++)
        buf[i] = "0123456789abcdef"[(v >> (4 * (digits - 1 - i))) & 15];
    buf[digits] = 0;
    con_puts(buf);
}
