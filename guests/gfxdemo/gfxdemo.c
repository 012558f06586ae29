/* gfxdemo.c - two animations for comparing the ways a VMM shows a frame buffer (wasmvisor
 * --display-update trap|refresh|dirty-log|pv). Integer arithmetic only: the CPU has no FPU.
 *
 *   gfxdemo plasma [FRAMES] [pv]                     mode 13h, every pixel changes each frame
 *   gfxdemo sprite [FRAMES [WIDTH HEIGHT BPP]] [pv]  a dispi mode (default 640x480x32, LFB from
 *                                                    PCI BAR 0): a 24x24 ball moves over a static
 *                                                    picture, a small change per frame
 *
 * FRAMES 0 runs for ever. With "pv", and only when CPUID says the hypervisor is wasmvisor with
 * the display-rect hypercall, each frame reports the rectangle it drew (HC_DISPLAY_RECT). Under
 * wasmvisor the guest says "gfxdemo: frames start" before the first frame and prints frames per second of the virtual clock (HC_CLOCK: 100 million
 * instructions a second) at the end, or every REPORT_FRAMES frames when it runs for ever; elsewhere
 * the frame count. */
#include "../gfx/gfx.h"
#include "hypercall.h"

#define INSTRUCTIONS_PER_MS 100000u /* wasmvisor's virtual clock: 10 ns per instruction */
#define REPORT_FRAMES 50
#define BALL 24

static u32 width, height, bpp, pitch, pixel_bytes;
static volatile u8 *fb;
static int pv, clock_ok;
static u32 start_clock;

/* The numbers on the command line after the demo's name, in order. */
static u32 numbers(const char *s, u32 *out, u32 max)
{
    u32 n = 0;
    const char *begin = s;
    while (*s && n < max) {
        if (*s >= '0' && *s <= '9' && (s == begin || s[-1] == ' ')) {
            u32 v = 0;
            while (*s >= '0' && *s <= '9')
                v = v * 10 + (u32)(*s++ - '0');
            out[n++] = v;
        } else {
            s++;
        }
    }
    return n;
}

/* ---- plasma: mode 13h ---------------------------------------------------------------------- */

static u8 wave[256]; /* one period of a sine-like wave, 0..126: two parabolas */

static void make_wave(void)
{
    for (u32 i = 0; i < 128; i++) {
        u32 half = i * (128 - i) * 63 / 4096; /* 0 at the ends, 63 in the middle */
        wave[i] = (u8)(63 + half);
        wave[i + 128] = (u8)(63 - half);
    }
}

static void plasma_palette(void)
{
    for (u32 i = 0; i < 256; i++) {
        u32 r = wave[i & 255] >> 1, g = wave[(i + 85) & 255] >> 1, b = wave[(i + 170) & 255] >> 1;
        vga_set_palette((u8)i, (u8)r, (u8)g, (u8)b);
    }
}

/* Every pixel, four at a time (one 32-bit store each). */
static void plasma_frame(u32 t)
{
    volatile u32 *line = (volatile u32 *)fb;
    for (u32 y = 0; y < height; y++, line += width / 4) {
        u32 row = wave[(y * 2 + t) & 255] + wave[(y + t * 3) & 255];
        for (u32 x = 0; x < width; x += 4) {
            u32 quad = 0;
            for (u32 k = 0; k < 4; k++)
                quad |= ((row + wave[(x + k + t * 2) & 255] + wave[(x + k + y + t) & 255]) & 255) << (k * 8);
            line[x / 4] = quad;
        }
    }
    if (pv)
        hc_display_rect(0, 0, width, height);
}

/* ---- sprite: a dispi mode -------------------------------------------------------------------- */

/* The static picture's colour at x, y: a palette index in 8 bpp, 0xRRGGBB otherwise. */
static u32 background(u32 x, u32 y)
{
    if (bpp == 8)
        return 16 + ((x / 16 + y / 16) & 1) * 8 + (y * 7 / height);
    return (x * 255 / width) << 16 | (y * 255 / height) << 8 | ((x / 32 + y / 32) & 1 ? 0x60 : 0x20);
}

static void put(u32 x, u32 y, u32 colour)
{
    volatile u8 *p = fb + y * pitch + x * pixel_bytes;
    if (bpp == 32) {
        *(volatile u32 *)p = colour;
        return;
    }
    p[0] = (u8)colour;
    if (bpp == 24) {
        p[1] = (u8)(colour >> 8);
        p[2] = (u8)(colour >> 16);
    }
}

/* Whether pixel dx, dy of the ball's square is inside the ball (radius BALL / 2). */
static int in_ball(u32 dx, u32 dy)
{
    int cx = (int)dx * 2 + 1 - BALL, cy = (int)dy * 2 + 1 - BALL;
    return cx * cx + cy * cy <= BALL * BALL;
}

static void draw_ball(u32 x0, u32 y0, int erase)
{
    for (u32 dy = 0; dy < BALL; dy++)
        for (u32 dx = 0; dx < BALL; dx++)
            if (in_ball(dx, dy))
                put(x0 + dx, y0 + dy, erase ? background(x0 + dx, y0 + dy) : bpp == 8 ? 15 : 0xffe040);
}

static u32 ball_x = 10, ball_y = 10;
static int step_x = 3, step_y = 2;

static void sprite_frame(u32 t)
{
    (void)t;
    u32 old_x = ball_x, old_y = ball_y;
    draw_ball(old_x, old_y, 1);
    if ((step_x < 0 && ball_x < (u32)-step_x) || (step_x > 0 && ball_x + step_x + BALL > width))
        step_x = -step_x;
    if ((step_y < 0 && ball_y < (u32)-step_y) || (step_y > 0 && ball_y + step_y + BALL > height))
        step_y = -step_y;
    ball_x += step_x, ball_y += step_y;
    draw_ball(ball_x, ball_y, 0);
    if (pv) { /* the old place and the new one: the union of the two squares */
        u32 x = old_x < ball_x ? old_x : ball_x, y = old_y < ball_y ? old_y : ball_y;
        u32 x1 = (old_x > ball_x ? old_x : ball_x) + BALL, y1 = (old_y > ball_y ? old_y : ball_y) + BALL;
        hc_display_rect(x, y, x1 - x, y1 - y);
    }
}

static void sprite_picture(void)
{
    if (bpp == 8)
        for (u32 i = 0; i < 16; i++) /* 16..31: two checker shades of seven blues; 15: the ball */
            vga_set_palette((u8)(16 + i), (u8)(i * 2), (u8)(i * 2), (u8)(20 + i * 2));
    for (u32 y = 0; y < height; y++)
        for (u32 x = 0; x < width; x++)
            put(x, y, background(x, y));
    if (pv)
        hc_display_rect(0, 0, width, height);
}

/* ---- both --------------------------------------------------------------------------------- */

static void report(u32 frames, const char *demo, int last)
{
    if (!clock_ok) {
        if (last)
            kprintf("gfxdemo: %s %ux%ux%u: %u frames\n", demo, width, height, bpp, frames);
        return;
    }
    u32 ms = ((u32)hc_clock() - start_clock) / INSTRUCTIONS_PER_MS;
    kprintf("gfxdemo: %s %ux%ux%u%s: %u frames in %u ms of virtual time: %u fps\n", demo, width, height, bpp, pv ? " pv" : "",
            frames, ms, ms ? frames * 1000 / ms : 0);
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    const char *args = mb_cmdline_args(mb);
    u32 n[4] = {0, 0, 0, 0};
    u32 count = numbers(args, n, 4);
    u32 frames = count >= 1 ? n[0] : 100;
    int sprite = has_word(args, "sprite");
    u32 functions = hc_functions();
    clock_ok = functions >= HC_CLOCK;
    pv = has_word(args, "pv") && functions >= HC_DISPLAY_RECT;
    if (has_word(args, "pv") && !pv)
        puts("gfxdemo: no display-rect hypercall here: pv is off\n");
    if (!sprite) {
        vga_set_mode13h();
        width = MODE13H_WIDTH, height = MODE13H_HEIGHT, bpp = 8, pitch = MODE13H_WIDTH, pixel_bytes = 1;
        fb = MODE13H_FB;
        make_wave();
        plasma_palette();
    } else {
        width = count >= 4 ? n[1] : 640, height = count >= 4 ? n[2] : 480, bpp = count >= 4 ? n[3] : 32;
        if ((bpp != 8 && bpp != 24 && bpp != 32) || width < BALL || height < BALL) {
            kprintf("gfxdemo: %ux%ux%u? use at least %ux%u and 8, 24 or 32 bpp\n", width, height, bpp, BALL, BALL);
            return 2;
        }
        fb = dispi_set_mode((u16)width, (u16)height, (u16)bpp);
        if (!fb) {
            puts("gfxdemo: no std-VGA on the PCI bus\n");
            return 1;
        }
        pixel_bytes = bpp / 8;
        pitch = dispi_read(DISPI_INDEX_VIRT_WIDTH) * pixel_bytes;
        sprite_picture();
    }
    const char *demo = sprite ? "sprite" : "plasma";
    puts("gfxdemo: frames start\n"); /* wasmvisor bench counts from here, after the static picture */
    if (clock_ok)
        start_clock = (u32)hc_clock();
    for (u32 t = 1; frames == 0 || t <= frames; t++) {
        if (sprite)
            sprite_frame(t);
        else
            plasma_frame(t);
        if (frames == 0 && t % REPORT_FRAMES == 0) /* only when running for ever: a bench counts exits */
            report(t, demo, 0);
    }
    report(frames, demo, 1);
    return 0;
}
