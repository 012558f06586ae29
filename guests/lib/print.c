/* print.c - tiny output helpers on top of serial_putc: strings, fixed-width hex, decimal and
 * a small printf (%s %c %d %u %x with optional 0-padding and a width, which may be *, a '+'
 * flag for %d, and %%). */
#include "guest.h"
#include <stdarg.h>

void puts(const char *s)
{
    while (*s)
        serial_putc(*s++);
}

void puthex(u32 v, int digits)
{
    for (int i = digits - 1; i >= 0; i--)
        serial_putc("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

static void put_padded(const char *s, int len, int width, char pad)
{
    for (; width > len; width--)
        serial_putc(pad);
    while (len--)
        serial_putc(*s++);
}

static int utoa(u32 v, unsigned base, char *buf) /* writes digits backwards into buf[..12] */
{
    int n = 0;
    do {
        buf[11 - n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    return n;
}

void putdec(u32 v)
{
    char buf[12];
    int n = utoa(v, 10, buf);
    put_padded(buf + 12 - n, n, 0, ' ');
}

void kvprintf(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            serial_putc(*fmt);
            continue;
        }
        char pad = ' ';
        int width = 0, plus = 0;
        fmt++;
        if (*fmt == '+')
            plus = 1, fmt++;
        if (*fmt == '0')
            pad = '0', fmt++;
        if (*fmt == '*')
            width = va_arg(ap, int), fmt++;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        char buf[13];
        int n;
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            put_padded(s, (int)strlen(s), width, ' ');
            break;
        }
        case 'c':
            buf[0] = (char)va_arg(ap, int);
            put_padded(buf, 1, width, ' ');
            break;
        case 'd': {
            int v = va_arg(ap, int);
            u32 mag = v < 0 ? 0u - (u32)v : (u32)v;
            n = utoa(mag, 10, buf);
            if (v < 0 || plus)
                buf[11 - n++] = v < 0 ? '-' : '+';
            put_padded(buf + 12 - n, n, width, pad);
            break;
        }
        case 'u':
        case 'x':
            n = utoa(va_arg(ap, u32), *fmt == 'u' ? 10 : 16, buf);
            put_padded(buf + 12 - n, n, width, pad);
            break;
        case '%':
            serial_putc('%');
            break;
        default: /* unknown conversion: print it literally */
            serial_putc('%');
            serial_putc(*fmt);
            break;
        }
    }
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
}
