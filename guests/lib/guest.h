/* guest.h - what every C guest includes: fixed-width types, port I/O, the Multiboot info
 * structure, COM1 output and the print helpers (lib/serial.c, lib/print.c, lib/cmdline.c). */
#ifndef GUEST_H
#define GUEST_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef unsigned long long u64;

#define MB_BOOT_MAGIC 0x2BADB002u
#define MB_INFO_MEMORY (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)

/* The first fields of the Multiboot v1 information structure (all we use). */
struct mb_info {
    u32 flags;
    u32 mem_lower; /* KiB below 1 MiB, valid if flags bit 0 */
    u32 mem_upper; /* KiB above 1 MiB, valid if flags bit 0 */
    u32 boot_device;
    u32 cmdline; /* physical address of a NUL-terminated string, valid if flags bit 2 */
};

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
    u8 v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* serial.c */
void serial_init(void);
void serial_putc(char c);
void guest_exit(u32 code) __attribute__((noreturn));

/* bochs.c (linked only into the guests that run under Bochs) */
void bochs_shutdown(void);

/* print.c */
void puts(const char *s); /* no newline added */
void puthex(u32 v, int digits);
void putdec(u32 v);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, __builtin_va_list ap);

/* cmdline.c - the arguments after the kernel's name, and the first all-digit word in them */
const char *mb_cmdline_args(const struct mb_info *mb);
u32 mb_cmdline_number(const struct mb_info *mb, u32 dflt);

/* string.c - gcc may emit calls to these even in freestanding code */
void *memset(void *d, int c, unsigned n);
void *memcpy(void *d, const void *s, unsigned n);
int memcmp(const void *a, const void *b, unsigned n);
unsigned strlen(const char *s);
/* Whether `word` stands in `s` as a whole word (between spaces or the ends). */
static inline int has_word(const char *s, const char *word)
{
    unsigned n = strlen(word);
    for (const char *p = s; *p; p++)
        if ((p == s || p[-1] == ' ') && !memcmp(p, word, n) && (p[n] == ' ' || p[n] == 0))
            return 1;
    return 0;
}

#endif
