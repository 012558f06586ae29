/* markers.c - phase markers (markers.h). The wait for the host's byte uses the protected-mode
 * and PC kits (../pm, ../pc): COM1's receive interrupt through the remapped PICs wakes a HLT. */
#include "markers.h"
#include "../pc/pc.h"

static int markers_on, ack_on;

int cmdline_has_word(const struct mb_info *mb, const char *word)
{
    u32 len = strlen(word);
    for (const char *s = mb_cmdline_args(mb); *s;) {
        const char *w = s;
        while (*s && *s != ' ')
            s++;
        if ((u32)(s - w) == len && memcmp(w, word, len) == 0)
            return 1;
        while (*s == ' ')
            s++;
    }
    return 0;
}

void markers_init(const struct mb_info *mb, int always)
{
    ack_on = cmdline_has_word(mb, "ack");
    markers_on = always || ack_on || cmdline_has_word(mb, "markers");
    if (!markers_on)
        return;
    pc_init(); /* the same machine set-up on every host, acknowledged or not */
    if (ack_on)
        uart_rx_init();
    cli();
}

/* Sleeps until the host's byte has arrived, and takes it; returns with interrupts off. */
static void wait_for_host(void)
{
    for (;;) {
        cli();
        if (uart_getc() >= 0)
            return;
        sti_hlt(); /* no interrupt can slip in between the test and the HLT */
    }
}

static void marker(char which, const char *label)
{
    kprintf("@%c %s\n", which, label);
    if (ack_on)
        wait_for_host();
}

void phase_begin(const char *label)
{
    if (markers_on)
        marker('1', label);
}

void phase_end(const char *label)
{
    if (markers_on) {
        marker('2', label);
        marker('3', label);
    }
}
