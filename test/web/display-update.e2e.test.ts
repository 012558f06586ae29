// End to end: the four display updates as a live control of the page. guests/frames runs a
// counter over a static text screen and reports each frame's rectangle by hypercall (pv); the
// page's VGA radio buttons switch the strategy while it runs. Under trap every write exits (48);
// under refresh and pv none does; under dirty-log a few do (one a refresh). Whatever the strategy,
// the canvas shows the counter's green cells. Samples come every ~250 ms on a shared machine, so
// each check polls for a bounded time and none compares rates.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { type DemoPage, demoTitle, hasChromium, openDemo, setChecked } from "../support/demo-page.js";

const SHOWS_WITHIN_MS = 20_000;
const WRITE_TRAP = 48;
const GREEN = [0x00, 0xaa, 0x00];
const BLUE = [0x00, 0x00, 0xaa];

describe.skipIf(!hasChromium)(demoTitle("the display update, switched live in Chromium"), () => {
  let demo: DemoPage;
  let page: Page;

  beforeAll(async () => {
    demo = await openDemo(undefined, "#guest=frames&cmdline=100000000+small+pv&vga=dirty-log");
    ({ page } = demo);
  }, 120_000);

  afterAll(async () => {
    await demo?.close();
  });

  // The counter's first cell (row 12, column 35) at its blank top row, and a static cell, on the 9x16-cell canvas.
  const cells = () =>
    page.evaluate(() => {
      const context = (document.getElementById("screen") as HTMLCanvasElement).getContext("2d")!;
      const at = (x: number, y: number) => [...context.getImageData(x, y, 1, 1).data.slice(0, 3)];
      return { counter: at(35 * 9 + 1, 12 * 16), background: at(1, 100) };
    });
  const choose = (strategy: string) => setChecked(page, `input[name="vga"][value="${strategy}"]`, true);
  const writeTraps = () => demo.exitCount(WRITE_TRAP);

  /** Waits until the write-trap count stands still over two samples, then checks it stays so. */
  async function expectNoWriteTraps(): Promise<void> {
    let last = -1;
    await expect.poll(async () => {
      const now = await writeTraps();
      const still = now === last;
      last = now;
      return still;
    }, { timeout: SHOWS_WITHIN_MS, interval: 1000 }).toBe(true);
    await page.waitForTimeout(1500);
    expect(await writeTraps()).toBe(last);
  }

  it("boots from the link under dirty-log: a few write traps, and the screen shows the guest's", async () => {
    await expect.poll(() => demo.state(), { timeout: 30_000 }).toBe("frames: running");
    expect(await page.locator('input[name="vga"][value="dirty-log"]').isChecked()).toBe(true);
    await expect.poll(writeTraps, { timeout: SHOWS_WITHIN_MS }).toBeGreaterThan(0);
    await expect.poll(cells, { timeout: SHOWS_WITHIN_MS }).toEqual({ counter: GREEN, background: BLUE });
  }, 60_000);

  it("trap: every write exits", async () => {
    const before = await writeTraps();
    await choose("trap");
    await expect.poll(writeTraps, { timeout: SHOWS_WITHIN_MS }).toBeGreaterThan(before + 1000);
    expect(await cells()).toEqual({ counter: GREEN, background: BLUE });
    expect(page.url()).toContain("vga=trap");
  }, 60_000);

  it.each(["refresh", "pv"])("%s: no write exits, and the screen still shows the counter", async (strategy) => {
    await choose(strategy);
    await expectNoWriteTraps();
    await expect.poll(cells, { timeout: SHOWS_WITHIN_MS }).toEqual({ counter: GREEN, background: BLUE });
    expect(await page.locator('p.expect[data-control="displayUpdate"]').innerText()).toMatch(strategy === "pv" ? /hypercall/ : /5 times a second/);
  }, 60_000);
});
