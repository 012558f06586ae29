// End to end: the demo page shows graphics modes on its canvas at the guest's resolution, scaled
// to fit. guests/gfxpicture draws its static picture in mode 13h and in a dispi mode; once the run
// has stopped the canvas must have that mode's size and aspect ratio and hold exactly the pixels
// the CLI's --screenshot saves for the same guest (which test/guests/graphics.test.ts compares
// with QEMU's screen). Canvas size, ratio and pixels are read in one evaluate.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PNG } from "pngjs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoPage, demoTitle, hasChromium, openDemo, waitUntilStopped } from "../support/demo-page.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const RUN_MS = 120_000;

/** The CLI's --screenshot of gfxpicture with `cmdline`, as RGBA. */
function cliPicture(cmdline: string): { width: number; height: number; data: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), "wasmvisor-canvas-"));
  try {
    const file = join(dir, "cli.png");
    const result = spawnSync(process.execPath, [join(root, "dist/cli.js"), "run", "guests/gfxpicture.elf", "--cmdline", cmdline, "--screenshot", file], { cwd: root, encoding: "utf8", timeout: RUN_MS });
    expect(result.status, result.stderr).toBe(0);
    return PNG.sync.read(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasChromium)(demoTitle("graphics modes on the page's canvas"), () => {
  let demo: DemoPage;
  let page: Page;

  beforeAll(async () => {
    demo = await openDemo();
    ({ page } = demo);
  }, 120_000);

  afterAll(async () => {
    await demo?.close();
  });

  for (const [cmdline, width, height] of [["13h", 320, 200], ["800 600 24", 800, 600]] as const) {
    it(`shows gfxpicture ${cmdline} at ${width}x${height}, scaled to fit, pixel for pixel the CLI's screenshot`, async () => {
      await page.fill("#cmdline", cmdline);
      await page.dispatchEvent("#cmdline", "change");
      await demo.bootSample("gfxpicture");
      // The console is cleared at boot, so this line is this run's (the state line may still show the last run's stop).
      await expect.poll(() => demo.flatConsole(), { timeout: RUN_MS }).toContain(`picture drawn: ${width}x${height}`);
      await waitUntilStopped(page, "gfxpicture", RUN_MS);
      const shown = await page.evaluate(() => {
        const canvas = document.getElementById("screen") as HTMLCanvasElement;
        const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
        let binary = ""; // the pixels as base64: far cheaper to carry out of the page than an array of numbers
        for (let at = 0; at < data.length; at += 0x8000) binary += String.fromCharCode(...data.subarray(at, at + 0x8000));
        return { width: canvas.width, height: canvas.height, ratio: canvas.clientWidth / canvas.clientHeight, fits: canvas.clientWidth <= canvas.parentElement!.clientWidth, pixels: btoa(binary) };
      });
      expect([shown.width, shown.height]).toEqual([width, height]);
      expect(shown.ratio).toBeCloseTo(width / height, 1);
      expect(shown.fits).toBe(true);
      const cli = cliPicture(cmdline);
      const pixels = Buffer.from(shown.pixels, "base64");
      expect(pixels.length).toBe(cli.data.length);
      let differing = 0;
      for (let i = 0; i < cli.data.length; i++) if (cli.data[i] !== pixels[i]) differing++;
      expect(differing).toBe(0);
    }, RUN_MS * 2);
  }
});
