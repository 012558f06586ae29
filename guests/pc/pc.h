/* pc.h - drivers for the PC devices wasmvisor models, for guests that use interrupts (vga,
 * shell, tour, diskbench). Built on the protected-mode kit in ../pm (GDT, IDT, per-vector
 * handlers): pc_init() sets that up, remaps the PICs to vectors 0x20-0x2f with every line masked,
 * and each driver unmasks its own IRQ. Every driver also works under QEMU (-kernel), which is
 * how the guests are checked against device models nobody here wrote; the paravirtual block
 * device is wasmvisor's own and is reported absent elsewhere. */
#ifndef PC_H
#define PC_H
#include "guest.h"
#include "../pm/pm.h"

static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
/* Enable interrupts and wait for one, atomically (STI's shadow covers the HLT). */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
#define IRQ_VECTOR(irq) (0x20 + (irq))

/* pic.c: the 8259 pair at vectors 0x20-0x2f; handlers run with the EOI already sent. */
typedef void irq_handler(void);
void pc_init(void);
void irq_install(int irq, irq_handler *handler);
extern volatile u32 spurious_irqs;
/* Sleeps (STI; HLT) until an interrupt handler has moved *counter on from `seen`. */
void wait_for(volatile u32 *counter, u32 seen);
/* The same, but after each wake-up that did not move the counter, give_up() may end the wait:
 * returns -1 then, 0 once the counter moved. */
int wait_for_unless(volatile u32 *counter, u32 seen, int (*give_up)(void));

/* pit.c: channel 0 at `hz` (mode 2), counting ticks on IRQ 0. */
void pit_start(u32 hz);
void pit_stop(void);
extern volatile u32 pit_ticks;
/* Microseconds since pit_start(), from the tick count and the latched count of channel 0. */
u32 pit_micros(void);

/* vga.c: the 80x25 text screen at 0xB8000 with a hardware cursor. */
#define VGA_COLUMNS 80
#define VGA_ROWS 25
void vga_clear(u8 attr);
void vga_putc(char c);
void vga_puts(const char *s);
void vga_set_attr(u8 attr);
void vga_goto(int row, int column);
void vga_write_at(int row, int column, const char *s, u8 attr);
void vga_fill_row(int row, u8 attr);

/* console.c: output to COM1 and the VGA screen at once. */
void con_putc(char c);
void con_puts(const char *s);
void con_dec(u32 v);
void con_hex(u32 v, int digits);
/* v in decimal with at least `width` digits (zero-padded); returns the end of the string. */
char *format_dec(char *buf, u32 v, int width);

/* uart.c: COM1 receive by interrupt (IRQ 4). */
void uart_rx_init(void);
int uart_getc(void); /* -1 if nothing has arrived */

/* kbd.c: the PS/2 keyboard by interrupt (IRQ 1), scan code set 1 to ASCII. */
void kbd_init(void);
int kbd_getc(void); /* -1 if no key */

/* rtc.c: the CMOS clock. */
struct rtc_time { u32 year, month, day, hour, minute, second; };
void rtc_read(struct rtc_time *t);
/* The date and time now as "YYYY-MM-DD hh:mm:ss" in buf[20]. */
void rtc_now(char *buf);
u32 cmos_read(u8 reg);

/* ata.c: the primary ATA disk by PIO, waiting for IRQ 14 for each sector. Every call returns -1
 * rather than wait forever once the disk stops answering (Status reads all ones). */
int ata_identify(u32 *sectors, char model[41]);
int ata_read(u32 lba, u32 count, void *buf, int rep); /* rep: REP INSW instead of one INW per word */
int ata_write(u32 lba, u32 count, const void *buf, int rep);

/* pvblk.c: wasmvisor's paravirtual block device (ring in guest memory, doorbell, IRQ 11). */
#define PV_READ 1
#define PV_WRITE 2
#define PV_FLUSH 3
int pv_init(u32 *sectors); /* 0 if present */
/* Queue a request; pv_submit() rings the doorbell for everything queued and waits for it. */
void pv_queue(u32 op, u32 lba, u32 count, void *buf);
int pv_submit(void); /* 0, or the first failing request's status */
extern volatile u32 pv_interrupts;

#endif
