/* gfxpicture.c - a static test picture in one graphics mode, for comparing screens pixel for pixel
 * with QEMU's -vga std. The command line picks the mode: "13h" (the default) for VGA mode 13h set
 * from the register tables, or "WIDTH HEIGHT BPP" for a dispi mode with the LFB found from PCI
 * BAR 0 (8, 24 or 32 bpp). The picture: every palette index (or a grid of colours), gradients,
 * a pattern that changes every pixel, a one-pixel border and a diagonal, so a pixel out of place,
 * a wrong pitch or a wrong colour conversion shows. 8-bpp modes load their own palette: every
 * 6-bit level of red, green and blue appears. Integer arithmetic only. When the picture is drawn
 * the guest says so on COM1 and exits; with "hold" last on the command line it halts for good
 * instead, so QEMU keeps the screen until its monitor captures it. "13h wrap" then moves the
 * CRTC start address so that the frame runs past the end of the 64 KiB window (wrap_start()). */
#include "../gfx/gfx.h"

static u32 width, height, bpp, pitch;
static volatile u8 *fb;

static void put(u32 x, u32 y, u32 rgb_or_index)
{
    volatile u8 *p = fb + y * pitch + x * (bpp / 8);
    if (bpp == 8) {
        p[0] = (u8)rgb_or_index;
        return;
    }
    p[0] = (u8)rgb_or_index; /* blue, green, red in memory */
    p[1] = (u8)(rgb_or_index >> 8);
    p[2] = (u8)(rgb_or_index >> 16);
    if (bpp == 32)
        p[3] = 0;
}

static void load_palette(void)
{
    for (u32 i = 0; i < 256; i++)
        vga_set_palette((u8)i, (u8)(i & 0x3f), (u8)(i >> 2), (u8)(((i * 5) >> 2) & 0x3f));
}

/* The colour of pixel x, y: its palette index in 8-bpp modes, 0xRRGGBB otherwise. */
static u32 colour(u32 x, u32 y)
{
    if (x == 0 || y == 0 || x == width - 1 || y == height - 1 || x * height == y * width)
        return bpp == 8 ? 255 : 0xffffff; /* border and diagonal */
    if (y < height / 2) { /* the upper half: a 16 x 16 grid of colours */
        u32 cell = (y * 16 / (height / 2)) * 16 + x * 16 / width;
        if (bpp == 8)
            return cell;
        return (cell & 0xf) * 17 << 16 | (cell >> 4) * 17 << 8 | (cell * 37 & 0xff);
    }
    if (bpp == 8) /* the lower half: a pattern that differs from pixel to pixel */
        return ((x + y * 3) ^ (x >> 3)) & 0xff;
    return (x * 255 / (width - 1)) << 16 | ((y - height / 2) * 255 / (height - height / 2)) << 8 | ((x ^ y) & 0xff);
}

/* The window's last 1,536 bytes get stripes, video memory from 64 KiB on (through the LFB at
 * BAR 0, which reaches it in any mode) a pattern, and the frame then starts 16,384 bytes before the
 * window's end: QEMU scans video memory on past the window, as its CRTC address does. */
static void wrap_start(void)
{
    for (u32 at = MODE13H_WIDTH * MODE13H_HEIGHT; at < 0x10000; at++)
        fb[at] = (u8)(((at / 8) & 1) ? 0x40 + (at & 0x3f) : 0xc0);
    volatile u8 *video = (volatile u8 *)dispi_lfb();
    if (video)
        for (u32 at = 0x10000; at < 0x20000; at++)
            video[at] = (u8)((at >> 4) ^ (at >> 9));
    u16 start = 0xc000 / 4; /* the CRTC counts 4-byte units in chain-4 mode */
    outb(0x3d4, 0x0c);
    outb(0x3d5, (u8)(start >> 8));
    outb(0x3d4, 0x0d);
    outb(0x3d5, (u8)start);
}

/* Whether the command line's last word is "hold". */
static int hold(const char *s)
{
    u32 n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        n--;
    return n >= 4 && memcmp(s + n - 4, "hold", 4) == 0 && (n == 4 || s[n - 5] == ' ');
}

static u32 next_number(const char **s)
{
    u32 v = 0;
    while (**s == ' ')
        (*s)++;
    while (**s >= '0' && **s <= '9')
        v = v * 10 + (u32)(*(*s)++ - '0');
    return v;
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    const char *args = mb_cmdline_args(mb);
    int holding = hold(args);
    if (args[0] < '0' || args[0] > '9' || (args[0] == '1' && args[1] == '3' && args[2] == 'h')) {
        vga_set_mode13h();
        width = MODE13H_WIDTH, height = MODE13H_HEIGHT, bpp = 8, pitch = MODE13H_WIDTH;
        fb = MODE13H_FB;
    } else {
        width = next_number(&args);
        height = next_number(&args);
        bpp = next_number(&args);
        if (bpp != 8 && bpp != 24 && bpp != 32) {
            kprintf("gfxpicture: %u bpp? use 8, 24 or 32\n", bpp);
            return 2;
        }
        fb = dispi_set_mode((u16)width, (u16)height, (u16)bpp);
        if (!fb) {
            puts("gfxpicture: no std-VGA on the PCI bus\n");
            return 1;
        }
        pitch = dispi_read(DISPI_INDEX_VIRT_WIDTH) * (bpp / 8);
    }
    if (bpp == 8)
        load_palette();
    for (u32 y = 0; y < height; y++)
        for (u32 x = 0; x < width; x++)
            put(x, y, colour(x, y));
    if (bpp == 8 && fb == MODE13H_FB && has_word(args, "wrap"))
        wrap_start();
    kprintf("picture drawn: %ux%u, %u bpp\n", width, height, bpp);
    while (holding)
        __asm__ volatile("cli; hlt");
    return 0;
}
