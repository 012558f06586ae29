// End to end: the graphics demos (guests/gfxdemo.elf, running for ever) under each of the four
// display updates, switched live with the page's VGA radio buttons. Under each strategy the
// canvas must keep changing and show exactly the guest's pixels:
// - sprite (800x600x32): every pixel is the static picture's colour at its place, as the guest
//   computes it (background() in gfxdemo.c), or the ball's yellow, no more of it than one ball's;
//   and the ball moves from one look to the next;
// - plasma (mode 13h): each sampled line of the canvas is, pixel for pixel and through the DAC
//   palette the guest loaded, the line the guest draws for some frame t (the picture repeats
//   every 256 frames, so t runs over 0-255); the frames found differ from one look to the next.
// The guest reports its rectangles under every strategy ("pv" on its command line), which only pv
// copies. Each check polls for a bounded time; none compares rates.

import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sixToEight } from "../../src/devices/vga-dac.js";
import { DISPLAY_UPDATES } from "../../src/vmm/display-update.js";
import { type DemoPage, demoTitle, hasChromium, openDemo, setChecked } from "../support/demo-page.js";

const SHOWS_WITHIN_MS = 30_000;
const BALL = 24;
/** The pixels of gfxdemo's ball: in_ball() over its 24x24 square. */
const BALL_PIXELS = Array.from({ length: BALL * BALL }, (_, i) => [(i % BALL) * 2 + 1 - BALL, Math.floor(i / BALL) * 2 + 1 - BALL]).filter(([cx, cy]) => cx * cx + cy * cy <= BALL * BALL).length;

/** gfxdemo's wave table and plasma palette (make_wave, plasma_palette), as RGB bytes. */
const WAVE = new Uint8Array(256);
for (let i = 0; i < 128; i++) {
  const half = Math.floor((i * (128 - i) * 63) / 4096);
  WAVE[i] = 63 + half;
  WAVE[i + 128] = 63 - half;
}
const PALETTE = Array.from({ length: 256 }, (_, i) => [WAVE[i & 255] >> 1, WAVE[(i + 85) & 255] >> 1, WAVE[(i + 170) & 255] >> 1].map(sixToEight));

/** Plasma's palette index at (x, y) in frame t (plasma_frame). */
function plasmaIndex(x: number, y: number, t: number): number {
  const row = WAVE[(y * 2 + t) & 255] + WAVE[(y + t * 3) & 255];
  return (row + WAVE[(x + t * 2) & 255] + WAVE[(x + y + t) & 255]) & 255;
}

/**
 * The frame t (mod 256) whose line y is `rgba` (RGBA bytes of 320 pixels), or -1. A line caught
 * while the guest draws it (left to right) is frame t up to some pixel and frame t - 1 after it.
 */
function plasmaFrameOf(y: number, rgba: number[]): number {
  const shows = (x: number, t: number) => {
    const [r, g, b] = PALETTE[plasmaIndex(x, y, t & 255)];
    return rgba[x * 4] === r && rgba[x * 4 + 1] === g && rgba[x * 4 + 2] === b;
  };
  for (let t = 0; t < 256; t++) {
    let x = 0;
    while (x < 320 && shows(x, t)) x++;
    while (x < 320 && shows(x, t + 255)) x++;
    if (x === 320) return t;
  }
  return -1;
}

const PLASMA_LINES = [0, 57, 123, 199];

for (const [demo, cmdline] of [
  ["sprite", "sprite+0+800+600+32+pv"],
  ["plasma", "plasma+0+pv"],
] as const) {
  describe.skipIf(!hasChromium)(demoTitle(`gfxdemo ${demo} on the canvas under each display update, switched live`), () => {
    let session: DemoPage;
    let page: Page;

    beforeAll(async () => {
      // pv to start: under trap the sprite's static picture alone takes 480,000 exits
      session = await openDemo(undefined, `#guest=gfxdemo&cmdline=${cmdline}&vga=pv`);
      ({ page } = session);
    }, 120_000);

    afterAll(async () => {
      await session?.close();
    });

    /** The sprite on the canvas: pixels neither the picture's nor the ball's, the ball's pixels and their centre. */
    const sprite = () =>
      page.evaluate(() => {
        const canvas = document.getElementById("screen") as HTMLCanvasElement;
        const { width, height } = canvas;
        const { data } = canvas.getContext("2d")!.getImageData(0, 0, width, height);
        let wrong = 0, ball = 0, sx = 0, sy = 0;
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            const at = (y * width + x) * 4;
            const [r, g, b] = [data[at], data[at + 1], data[at + 2]];
            if (r === 0xff && g === 0xe0 && b === 0x40) {
              ball++, sx += x, sy += y;
            } else if (r !== Math.floor((x * 255) / width) || g !== Math.floor((y * 255) / height) || b !== ((Math.floor(x / 32) + Math.floor(y / 32)) & 1 ? 0x60 : 0x20)) {
              wrong++;
            }
          }
        }
        return { size: `${width}x${height}`, wrong, ball, at: ball ? `${Math.round(sx / ball)},${Math.round(sy / ball)}` : "" };
      });

    /** The plasma on the canvas: its size and, for each sampled line, the frame it shows (-1: none). */
    const plasma = async () => {
      const shown = await page.evaluate((lines) => {
        const canvas = document.getElementById("screen") as HTMLCanvasElement;
        const context = canvas.getContext("2d")!;
        return { size: `${canvas.width}x${canvas.height}`, lines: lines.map((y) => [...context.getImageData(0, y, canvas.width, 1).data]) };
      }, PLASMA_LINES);
      return { size: shown.size, frames: shown.size === "320x200" ? shown.lines.map((rgba, i) => plasmaFrameOf(PLASMA_LINES[i], rgba)) : [] };
    };

    it("boots from the link and runs", async () => {
      await expect.poll(() => session.state(), { timeout: 60_000 }).toBe("gfxdemo: running");
    }, 90_000);

    it.each(DISPLAY_UPDATES)("%s: the canvas changes and shows the guest's pixels", async (strategy) => {
      await setChecked(page, `input[name="vga"][value="${strategy}"]`, true);
      if (strategy !== "refresh") await expect.poll(() => page.url()).toContain(`vga=${strategy}`); // the default is left out
      if (demo === "sprite") {
        // The ball over the exact picture, then elsewhere. Under trap and the refreshes a look may
        // catch the ball half erased or half drawn, so it is the ball's pixels that must move, and
        // every other pixel must be the picture's (counted from the first look with a ball: until
        // then the picture may still be being drawn).
        let first = "", wrong = -1;
        await expect.poll(async () => {
          const now = await sprite();
          if (now.size !== "800x600" || (wrong < 0 && now.ball === 0)) return false;
          wrong = Math.max(wrong, now.wrong);
          first ||= now.at;
          return now.ball > 0 && now.ball <= BALL_PIXELS && now.at !== first;
        }, { timeout: SHOWS_WITHIN_MS, interval: 200 }).toBe(true);
        expect(wrong, "pixels that are neither the picture's nor the ball's").toBe(0);
      } else {
        // Every sampled line is one of the guest's frames (once one was: until then the first frame
        // may still be being drawn); then other frames show.
        let first = "", strays = 0;
        await expect.poll(async () => {
          const now = await plasma();
          if (now.size !== "320x200") return false;
          if (!first && now.frames.includes(-1)) return false;
          if (now.frames.includes(-1)) strays++;
          first ||= now.frames.join();
          return now.frames.join() !== first;
        }, { timeout: SHOWS_WITHIN_MS, interval: 200 }).toBe(true);
        expect(strays, "looks at lines that are none of the guest's frames").toBe(0);
      }
    }, 90_000);
  });
}
