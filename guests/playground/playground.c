/* playground - a guest that never ends, causing every kind of VM exit at a rate you can watch,
 * and keys (on COM1 or the PS/2 keyboard) change what it does. At each tick of the PIT (100 Hz)
 * it runs its activities (activities.c: CPUID, COM1 output, CR3 switches among address spaces,
 * ATA disk sectors, VGA writes, CLI/STI pairs), computes for a quarter of a tick (250,000 instructions of
 * arithmetic that exit nothing: the guest's own work, which also paces it where time is counted
 * in instructions, as under wasmvisor's virtual clock), then waits for the next tick with HLT.
 * Keys:
 *   c o p d v i h   switch an activity on or off (h: spin instead of HLT between ticks)
 *   1-5             how many address spaces the CR3 activity switches among (4 to start with:
 *                   the CPU's 4 CR3 targets hold them all; 5 make every switch exit)
 *   + -             operations per tick and activity, doubled or halved (1-64; 4 to start with)
 * The VGA screen shows the activities, their counts and the keys; COM1 gets a ticker line
 * rewritten in place (the COM1 activity), a line of counts every 100 ticks, and a line for each
 * key. Runs the same under QEMU (no VMM: nothing exits, but everything runs). */
#include "playground.h"

#define TITLE 0x1f
#define HEADER 0x0e
#define TEXT 0x07
#define ON 0x0a
#define OFF 0x08
#define FIRST_ROW 3        /* the activity table's first row */
#define EVENT_ROW 14       /* the last key's effect */
#define REFRESH_TICKS 10   /* the counters on the screen are rewritten every 10 ticks */
#define TICKER_BYTES 32   /* "\r" and 31 columns */
#define SUMMARY_TICKS 100  /* a line of counts on COM1 every 100 ticks */
#define WORK_ITERATIONS 31250 /* of the 8-instruction loop in work(): 250,000 instructions */

static u32 ops = 4;
static u32 ticks;
static char event[VGA_COLUMNS + 1] = "press a key";

/* ---- the COM1 ticker: "\r" and a status line of fixed width, written a few bytes a tick ---- */

static char ticker[TICKER_BYTES + 1];
static u32 ticker_at = TICKER_BYTES;

static char *append(char *at, const char *s)
{
    while (*s)
        *at++ = *s++;
    return at;
}

static char *append_dec(char *at, u32 v, int width)
{
    char digits[12];
    format_dec(digits, v, 0);
    for (int n = (int)strlen(digits); n < width; n++)
        *at++ = ' ';
    return append(at, digits);
}

static u32 all_errors(void)
{
    u32 errors = 0;
    for (int i = 0; i < ACTIVITIES; i++)
        errors += activities[i].errors;
    return errors;
}

/* "tick N, errors E", short enough not to wrap on a narrow terminal (a wrapped line's \r would
 * go back only to its last row, and every rewrite would scroll). */
static void ticker_start(void)
{
    char *at = append(ticker, "\rtick ");
    at = append_dec(at, ticks, 0);
    at = append(at, ", errors ");
    at = append_dec(at, all_errors(), 0);
    while (at < ticker + TICKER_BYTES)
        *at++ = ' ';
    *at = 0;
    ticker_at = 0;
}

/* Over the ticker's line, `text` and a newline; the ticker starts a new line after it. */
static void log_line(const char *text)
{
    puts("\r");
    puts(text);
    for (u32 n = strlen(text); n < TICKER_BYTES - 1; n++)
        serial_putc(' ');
    puts("\n");
    ticker_at = TICKER_BYTES;
}

/* Every SUMMARY_TICKS: the tick, the operations of CPUID, CR3 switches, disk sectors, VGA cells and
 * CLI/STI pairs so far, and the errors of all activities (a disk that stopped answering, a window
 * page that was not its own). */
static void summary(void)
{
    static const struct { const char *label; int activity; } fields[] = {
        {" cpuid ", CPUID}, {" cr3 ", SPACES}, {" disk ", DISK}, {" vga ", VGA}, {" cli ", CLI_STI}};
    char line[VGA_COLUMNS + 1];
    char *at = append(line, "tick ");
    at = append_dec(at, ticks, 0);
    for (u32 i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        at = append(at, fields[i].label);
        at = append_dec(at, activities[fields[i].activity].done, 0);
    }
    at = append(at, " err ");
    *append_dec(at, all_errors(), 0) = 0;
    log_line(line);
}

void ticker_write(u32 count)
{
    for (u32 i = 0; i < count; i++) {
        if (ticker_at == TICKER_BYTES)
            ticker_start();
        serial_putc(ticker[ticker_at++]);
    }
}

/* ---- the screen ---- */

static void write_row(int row, const char *text, u8 attr)
{
    vga_fill_row(row, attr);
    vga_write_at(row, 0, text, attr);
}

#define NAME_COLUMN 3
#define STATE_COLUMN 18
#define DONE_COLUMN 22   /* nine digits */
#define CAUSES_COLUMN 33

static void show_counts(void)
{
    char line[VGA_COLUMNS + 1];
    for (int i = 0; i < ACTIVITIES; i++) {
        *append_dec(line, activities[i].done, 9) = 0;
        vga_write_at(FIRST_ROW + i, DONE_COLUMN, line, TEXT);
    }
    char *at = append(line, "errors ");
    *append_dec(at, all_errors(), 0) = 0;
    vga_write_at(FIRST_ROW + ACTIVITIES + 1, 66, line, TEXT);
    at = append(line, "tick ");
    *append_dec(at, ticks, 0) = 0;
    vga_write_at(0, 60, line, TITLE);
}

static void show_activities(void)
{
    for (int i = 0; i < ACTIVITIES; i++) {
        const struct activity *a = &activities[i];
        int row = FIRST_ROW + i;
        char key[2] = {a->key, 0};
        vga_fill_row(row, TEXT);
        vga_write_at(row, 1, key, HEADER);
        vga_write_at(row, NAME_COLUMN, a->name, TEXT);
        vga_write_at(row, STATE_COLUMN, a->on ? "on" : "off", a->on ? ON : OFF);
        vga_write_at(row, CAUSES_COLUMN, a->causes, a->on ? TEXT : OFF);
    }
    char line[VGA_COLUMNS + 1];
    char *at = append(line, " + - operations a tick: ");
    at = append_dec(at, ops, 0);
    at = append(at, "   1-5 address spaces: ");
    at = append_dec(at, spaces_in_use, 0);
    *at = 0;
    write_row(FIRST_ROW + ACTIVITIES + 1, line, TEXT);
    write_row(EVENT_ROW, event, HEADER);
    show_counts();
}

static void draw_screen(void)
{
    vga_clear(TEXT);
    write_row(0, " wasmvisor playground: a guest that never ends", TITLE);
    write_row(2, " key activity    state      done", HEADER);
    vga_write_at(2, CAUSES_COLUMN, "the VM exits it causes", HEADER);
    write_row(EVENT_ROW + 1, " Each key changes what the guest does; the VMM's controls change what exits.", TEXT);
    write_row(EVENT_ROW + 2, " Keys come from COM1 (the serial console) or the PS/2 keyboard (the screen).", TEXT);
    write_row(EVENT_ROW + 3, " Each tick: the activities, then 250,000 instructions of work, then HLT.", TEXT);
    vga_goto(VGA_ROWS - 1, VGA_COLUMNS - 1);
    show_activities();
}

/* ---- keys ---- */

/* What a key did, on the screen's event row and as a line on COM1 (over the ticker's line). */
static void report(const char *what)
{
    char *at = append(event, " ");
    at = append(at, what);
    *at = 0;
    log_line(event + 1);
    show_activities();
}

static void key(int c)
{
    char what[VGA_COLUMNS];
    char *at = what;
    if (c >= '1' && c <= '0' + MAX_SPACES) {
        spaces_in_use = (u32)(c - '0');
        at = append(at, "address spaces: ");
        at = append_dec(at, spaces_in_use, 0);
    } else if (c == '+' || c == '=' || c == '-') {
        ops = c == '-' ? (ops > 1 ? ops / 2 : 1) : (ops < MAX_OPS ? ops * 2 : MAX_OPS);
        at = append(at, "operations per tick: ");
        at = append_dec(at, ops, 0);
    } else {
        struct activity *a = 0;
        for (int i = 0; i < ACTIVITIES; i++)
            if (activities[i].key == c)
                a = &activities[i];
        if (!a)
            return;
        if (a == &activities[DISK] && !disk_present) {
            at = append(at, "disk sectors: no disk attached");
        } else {
            a->on = !a->on;
            at = append(at, a->name);
            at = append(at, a->on ? ": on" : ": off");
        }
    }
    *at = 0;
    report(what);
}

static int next_key(void)
{
    cli();
    int c = kbd_getc();
    if (c < 0)
        c = uart_getc();
    sti();
    return c;
}

/* ---- the main loop ---- */

/* The guest's own computing: register arithmetic, 8 instructions an iteration, no exits. */
static u32 work(u32 seed)
{
    u32 a = seed, b = 0x9e3779b9u, n = WORK_ITERATIONS;
    __asm__ volatile("1: addl %1, %0\n xorl $0x5bd1e995, %1\n roll $5, %0\n leal 7(%0,%1), %1\n"
                     " subl $3, %0\n orl $1, %1\n decl %2\n jnz 1b"
                     : "+r"(a), "+r"(b), "+r"(n) : : "cc");
    return a ^ b;
}

/* Until the next tick: HLT (woken by the PIT's interrupt, or any other), or a spin on the count. */
static void wait_tick(void)
{
    u32 seen = pit_ticks;
    if (activities[HALT].on) {
        wait_for(&pit_ticks, seen);
        activities[HALT].done++;
    } else {
        while (pit_ticks == seen)
            __asm__ volatile("pause");
    }
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic, (void)mb;
    pc_init();
    kbd_init();
    uart_rx_init();
    sti();
    puts("wasmvisor playground: a guest that never ends; keys change what it does.\n"
         "keys (COM1 or the keyboard): c CPUID, o COM1 output, p address spaces, d disk,\n"
         "  v VGA writes, i CLI/STI, h HLT or spin, 1-5 address spaces, + - operations a tick\n");
    activities_init();
    if (disk_present)
        kprintf("disk: ATA \"%s\", %u KiB\n", disk_model, disk_kib);
    else
        puts("disk: none attached, so no disk sectors\n");
    draw_screen();
    pit_start(TICK_HZ);
    u32 checksum = 0;
    for (;;) {
        wait_tick();
        ticks++;
        for (int c; (c = next_key()) >= 0;)
            key(c);
        for (int i = 0; i < ACTIVITIES; i++)
            if (activities[i].on && activities[i].run)
                activities[i].run(&activities[i], ops);
        if (ticks % SUMMARY_TICKS == 0)
            summary();
        checksum = work(checksum);
        if (ticks % REFRESH_TICKS == 0)
            show_counts();
    }
}
