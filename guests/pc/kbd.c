/* kbd.c - the PS/2 keyboard through the 8042: translation to scan code set 1 on, IRQ 1, make
 * codes turned into ASCII (US layout, Shift and Ctrl; Enter is '\n', Backspace '\b'), break
 * codes and E0-prefixed keys ignored. */
#include "pc.h"

static const char plain[0x3a] = {
    0, 27, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', '\b', '\t',
    'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\n', 0, 'a', 's',
    'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0, '\\', 'z', 'x', 'c', 'v',
    'b', 'n', 'm', ',', '.', '/', 0, '*', 0, ' '};
static const char shifted[0x3a] = {
    0, 27, '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+', '\b', '\t',
    'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\n', 0, 'A', 'S',
    'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0, '|', 'Z', 'X', 'C', 'V',
    'B', 'N', 'M', '<', '>', '?', 0, '*', 0, ' '};

static volatile u8 ring[64];
static volatile u32 head, tail;
static int shift, ctrl, extended;

static void kbd_irq(void)
{
    while (inb(0x64) & 1) {
        u8 code = inb(0x60);
        if (code == 0xe0) {
            extended = 1;
            continue;
        }
        int release = code & 0x80, key = code & 0x7f;
        if (extended) {
            extended = 0;
            continue;
        }
        if (key == 0x2a || key == 0x36)
            shift = !release;
        else if (key == 0x1d)
            ctrl = !release;
        else if (!release && key < 0x3a && plain[key]) {
            char c = shift ? shifted[key] : plain[key];
            if (ctrl && c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 1);
            if (head - tail < sizeof ring)
                ring[head++ % sizeof ring] = (u8)c;
        }
    }
}

static void write_config(u8 config)
{
    outb(0x64, 0x60);
    outb(0x60, config);
}

void kbd_init(void)
{
    /* A key that came before the PIC was set up has its edge on IRQ 1 lost: drop the line
     * (interrupt off), then raise it again once the handler is in, so such a key is delivered. */
    write_config(0x44); /* system flag, translation to set 1 */
    irq_install(1, kbd_irq);
    write_config(0x45); /* ... and the keyboard interrupt */
}

int kbd_getc(void)
{
    if (head == tail)
        return -1;
    return ring[tail++ % sizeof ring];
}
