/* rtc.c - the date and time from the CMOS clock: wait until no update is in progress, read
 * twice until two reads agree, convert from BCD unless status register B says binary. */
#include "pc.h"

u32 cmos_read(u8 reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static u32 bcd(u32 v, int binary) { return binary ? v : (v >> 4) * 10 + (v & 15); }

static void read_once(struct rtc_time *t)
{
    while (cmos_read(0x0a) & 0x80)
        ;
    int binary = cmos_read(0x0b) & 4;
    t->second = bcd(cmos_read(0x00), binary);
    t->minute = bcd(cmos_read(0x02), binary);
    t->hour = bcd(cmos_read(0x04), binary);
    t->day = bcd(cmos_read(0x07), binary);
    t->month = bcd(cmos_read(0x08), binary);
    t->year = bcd(cmos_read(0x32), binary) * 100 + bcd(cmos_read(0x09), binary);
}

void rtc_read(struct rtc_time *t)
{
    struct rtc_time again;
    read_once(t);
    for (;;) {
        read_once(&again);
        if (!memcmp(t, &again, sizeof again))
            return;
        *t = again;
    }
}

void rtc_now(char *buf)
{
    struct rtc_time t;
    rtc_read(&t);
    char *p = format_dec(buf, t.year, 4);
    *p++ = '-';
    p = format_dec(p, t.month, 2), *p++ = '-';
    p = format_dec(p, t.day, 2), *p++ = ' ';
    p = format_dec(p, t.hour, 2), *p++ = ':';
    p = format_dec(p, t.minute, 2), *p++ = ':';
    format_dec(p, t.second, 2);
}
