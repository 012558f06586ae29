/* frames.c - an animation on the VGA text screen, to compare the ways a VMM can show a frame
 * buffer (wasmvisor --display-update trap|refresh|dirty-log|pv). Arguments: the number of frames
 * (200 by default), then `full` (every cell changes each frame, by REP STOSW and a plain store
 * loop) or `small` (the default: a 10-cell counter changes over a static screen), and `pv` to report
 * each frame's rectangle to wasmvisor by hypercall (HC_DISPLAY_RECT). Under wasmvisor it
 * prints the frames per second of the virtual clock (HC_CLOCK: 100 million instructions a
 * second); elsewhere (QEMU) only the frame count. */
#include "guest.h"
#include "hypercall.h"

#define COLUMNS 80
#define ROWS 25
#define COUNTER_ROW 12
#define COUNTER_COLUMN 35
#define COUNTER_CELLS 10
#define INSTRUCTIONS_PER_MS 100000u /* wasmvisor's virtual clock: 10 ns per instruction */

static volatile u16 *const screen = (volatile u16 *)0xb8000;

static int under_wasmvisor(void)
{
    u32 a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000), "c"(0));
    return b == 0x6d736177 && c == 0x6f736976 && d == 0x00000072; /* "wasmvisor\0\0\0" */
}

/* Every cell: REP STOSW fills the screen (the string instruction's bulk path), then a plain
 * loop draws a diagonal band that moves with the frame (ordinary stores). */
static void draw_full(u32 frame)
{
    u32 cell = (u32)('0' + frame % 10) | (u32)(1 + frame % 7) << 12 | 0x0f00;
    u32 count = COLUMNS * ROWS;
    void *at = (void *)screen;
    __asm__ volatile("cld; rep stosw" : "+D"(at), "+c"(count) : "a"(cell) : "memory");
    for (u32 r = 0; r < ROWS; r++)
        screen[r * COLUMNS + (r + frame) % COLUMNS] = (u16)('#' | 0x4e00);
}

static void draw_static(void)
{
    for (u32 i = 0; i < COLUMNS * ROWS; i++)
        screen[i] = (u16)((i % 7 == 0 ? '.' : ' ') | 0x1700);
}

static void draw_counter(u32 frame)
{
    for (int i = COUNTER_CELLS - 1; i >= 0; i--, frame /= 10)
        screen[COUNTER_ROW * COLUMNS + COUNTER_COLUMN + i] = (u16)(('0' + frame % 10) | 0x2f00);
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    const char *args = mb_cmdline_args(mb);
    u32 frames = mb_cmdline_number(mb, 200);
    int full = has_word(args, "full");
    int wasmvisor = under_wasmvisor();
    int pv = wasmvisor && has_word(args, "pv");
    if (!full) {
        draw_static();
        if (pv)
            hc_display_rect(0, 0, COLUMNS, ROWS);
    }
    u32 start = wasmvisor ? (u32)hc_clock() : 0;
    for (u32 frame = 1; frame <= frames; frame++) {
        if (full) {
            draw_full(frame);
            if (pv)
                hc_display_rect(0, 0, COLUMNS, ROWS);
        } else {
            draw_counter(frame);
            if (pv)
                hc_display_rect(COUNTER_COLUMN, COUNTER_ROW, COUNTER_CELLS, 1);
        }
    }
    if (wasmvisor) {
        u32 ms = ((u32)hc_clock() - start) / INSTRUCTIONS_PER_MS;
        kprintf("frames: %u %s frames in %u ms of virtual time: %u fps\n", frames, full ? "full" : "small", ms, ms ? frames * 1000 / ms : 0);
    } else {
        kprintf("frames: %u %s frames\n", frames, full ? "full" : "small");
    }
    return 0;
}
