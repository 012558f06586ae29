/* shell.c - a tiny interactive kernel: a prompt on COM1 and on the VGA screen, lines typed on
 * the PS/2 keyboard or arriving on COM1 (both by interrupt; the CPU sleeps in HLT in between),
 * and a few commands:
 *   help             the commands
 *   cpuid            vendor, and the hypervisor CPUID leaves announce
 *   time             date and time from the CMOS clock
 *   mem              memory sizes from the Multiboot information and from CMOS
 *   stats            VM exits so far by reason (wasmvisor's exit-count hypercall)
 *   disk read ata|pv LBA          the first bytes of a sector, through either block device
 *   disk write ata|pv LBA TEXT    TEXT written at the start of the sector
 *   exit [N]         end the run with status N
 * Output, echo included, goes to COM1 and the screen alike. */
#include "../pc/pc.h"
#include "../lib/hypercall.h"

static const struct mb_info *boot;
static int wasmvisor;

static void prompt(void) { con_puts("wv> "); }

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static int next_word(const char **s, char *word, int size)
{
    while (**s == ' ')
        (*s)++;
    int n = 0;
    while (**s && **s != ' ' && n < size - 1)
        word[n++] = *(*s)++;
    word[n] = 0;
    return n;
}

static u32 number(const char *w)
{
    u32 v = 0;
    while (*w >= '0' && *w <= '9')
        v = v * 10 + (u32)(*w++ - '0');
    return v;
}

static void cmd_cpuid(void)
{
    u32 r[4];
    char text[13] = {0};
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(0));
    memcpy(text, &r[1], 4), memcpy(text + 4, &r[3], 4), memcpy(text + 8, &r[2], 4);
    con_puts("vendor: ");
    con_puts(text);
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(1));
    if (!(r[2] & (1u << 31))) {
        con_puts(", no hypervisor bit\n");
        return;
    }
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(0x40000000));
    memcpy(text, &r[1], 12);
    con_puts(", hypervisor: ");
    con_puts(text);
    con_puts("\n");
}

static void cmd_time(void)
{
    char buf[20];
    rtc_now(buf);
    con_puts(buf);
    con_puts(" (CMOS clock)\n");
}

static void cmd_mem(void)
{
    con_puts("multiboot: lower ");
    con_dec(boot->mem_lower);
    con_puts(" KiB, upper ");
    con_dec(boot->mem_upper);
    con_puts(" KiB\ncmos: base ");
    con_dec(cmos_read(0x15) | cmos_read(0x16) << 8);
    con_puts(" KiB, extended ");
    con_dec(cmos_read(0x30) | cmos_read(0x31) << 8);
    con_puts(" KiB\n");
}

static void cmd_stats(void)
{
    static const struct { u32 reason; const char *name; } reasons[] = {
        {1, "external interrupt"}, {7, "interrupt window"}, {10, "CPUID"}, {12, "HLT"},
        {18, "VMCALL"}, {30, "I/O instruction"}, {52, "preemption timer"}};
    if (!wasmvisor) {
        con_puts("stats: not under wasmvisor\n");
        return;
    }
    for (u32 i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        con_puts("  ");
        con_puts(reasons[i].name);
        con_puts(": ");
        con_dec((u32)hypercall64(HC_EXIT_COUNT, reasons[i].reason));
        con_puts("\n");
    }
}

static void cmd_disk(const char *args)
{
    static u8 sector[512] __attribute__((aligned(16)));
    char op[8], dev[4], lba_word[12];
    next_word(&args, op, sizeof op);
    next_word(&args, dev, sizeof dev);
    next_word(&args, lba_word, sizeof lba_word);
    int write = streq(op, "write"), pv = streq(dev, "pv");
    if ((!write && !streq(op, "read")) || (!pv && !streq(dev, "ata")) || !*lba_word) {
        con_puts("usage: disk read|write ata|pv LBA [TEXT]\n");
        return;
    }
    u32 sectors, lba = number(lba_word);
    char model[41];
    if (pv ? pv_init(&sectors) : ata_identify(&sectors, model)) {
        con_puts("disk: no such device (run with --disk IMAGE)\n");
        return;
    }
    int err;
    if (write) {
        while (*args == ' ')
            args++;
        memset(sector, 0, sizeof sector);
        memcpy(sector, args, strlen(args));
        if (pv) {
            pv_queue(PV_WRITE, lba, 1, sector);
            err = pv_submit();
        } else {
            err = ata_write(lba, 1, sector, 1);
        }
    } else if (pv) {
        pv_queue(PV_READ, lba, 1, sector);
        err = pv_submit();
    } else {
        err = ata_read(lba, 1, sector, 1);
    }
    if (err) {
        con_puts("disk: the device reported an error\n");
        return;
    }
    if (write) {
        con_puts("written\n");
        return;
    }
    for (int i = 0; i < 64; i++)
        con_putc(sector[i] >= 32 && sector[i] < 127 ? (char)sector[i] : '.');
    con_puts("\n");
}

static int execute(const char *line)
{
    char word[16];
    const char *rest = line;
    next_word(&rest, word, sizeof word);
    if (!*word)
        return -1;
    if (streq(word, "help"))
        con_puts("commands: help cpuid time mem stats disk exit\n"
                 "  disk read ata|pv LBA, disk write ata|pv LBA TEXT, exit [status]\n");
    else if (streq(word, "cpuid"))
        cmd_cpuid();
    else if (streq(word, "time"))
        cmd_time();
    else if (streq(word, "mem"))
        cmd_mem();
    else if (streq(word, "stats"))
        cmd_stats();
    else if (streq(word, "disk"))
        cmd_disk(rest);
    else if (streq(word, "exit")) {
        next_word(&rest, word, sizeof word);
        return (int)number(word);
    } else {
        con_puts(word);
        con_puts(": unknown command (try help)\n");
    }
    return -1;
}

/* The next character from either input; sleeps until one comes. */
static int getc_any(void)
{
    for (;;) {
        cli();
        int c = kbd_getc();
        if (c < 0)
            c = uart_getc();
        if (c >= 0) {
            sti();
            return c;
        }
        sti_hlt();
    }
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    boot = mb;
    pc_init();
    vga_clear(0x07);
    kbd_init();
    uart_rx_init();
    sti();
    u32 id[4];
    __asm__ volatile("cpuid" : "=a"(id[0]), "=b"(id[1]), "=c"(id[2]), "=d"(id[3]) : "a"(0x40000000));
    wasmvisor = !memcmp(&id[1], "wasmvisor\0\0\0", 12);
    con_puts("wasmvisor shell: type help\n");
    static char line[80];
    u32 length = 0;
    prompt();
    for (;;) {
        int c = getc_any();
        if (c == '\r' || c == '\n') {
            con_puts("\n");
            line[length] = 0;
            int status = execute(line);
            if (status >= 0)
                return status;
            length = 0;
            prompt();
        } else if ((c == '\b' || c == 0x7f) && length > 0) {
            length--;
            con_puts("\b \b");
        } else if (c >= 32 && c < 127 && length < sizeof line - 1) {
            line[length++] = (char)c;
            con_putc((char)c);
        }
    }
}
