// End to end: the compiling tier as a live control of the demo. The statistics line shows the share
// of the last interval's instructions that compiled code retired (#summary's data-compiled-share);
// the playground, the default guest, runs mostly compiled, clearing the box makes the share 0 from
// the next whole interval on, ticking it again brings compiled code back, and the link and the
// "what to expect" line follow. Samples come every ~250 ms on a shared machine, so each check polls
// for a bounded time.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { type DemoPage, demoTitle, hasChromium, openDemo, setChecked } from "../support/demo-page.js";

const SHOWS_WITHIN_MS = 20_000;

describe.skipIf(!hasChromium)(demoTitle("the compiling tier, switched live in Chromium"), () => {
  let demo: DemoPage;
  let page: Page;

  beforeAll(async () => {
    demo = await openDemo();
    ({ page } = demo);
  }, 120_000);

  afterAll(async () => {
    await demo?.close();
  });

  const share = async () => Number(await page.locator("#summary").getAttribute("data-compiled-share"));
  const setTier = (on: boolean) => setChecked(page, "#jit", on);
  const note = () => page.locator('p.expect[data-control="compilingTier"]').innerText();

  it("the playground runs mostly compiled, and the statistics line says so", async () => {
    await expect.poll(() => demo.state(), { timeout: 30_000 }).toBe("playground: running");
    expect(await page.locator("#jit").isChecked()).toBe(true);
    await expect.poll(share, { timeout: SHOWS_WITHIN_MS }).toBeGreaterThan(0.5);
    expect(await page.locator("#summary").innerText()).toMatch(/MIPS \([\d,.]+ average\), \d+% compiled/);
  }, 60_000);

  it("off: nothing retires compiled, the link says jit=off, and the guest runs on", async () => {
    const before = await demo.exitCount(10);
    await setTier(false);
    await expect.poll(share, { timeout: SHOWS_WITHIN_MS }).toBe(0);
    expect(page.url()).toContain("jit=off");
    expect(await note()).toContain("Every instruction is interpreted");
    await expect.poll(() => demo.exitCount(10), { timeout: SHOWS_WITHIN_MS }).toBeGreaterThan(before); // CPUID exits go on
    expect(await demo.state()).toBe("playground: running");
  }, 60_000);

  it("on again: compiled code comes back", async () => {
    await setTier(true);
    await expect.poll(share, { timeout: SHOWS_WITHIN_MS }).toBeGreaterThan(0.5);
    expect(page.url()).not.toContain("jit=");
    expect(await note()).toContain("Hot blocks run as compiled WebAssembly");
  }, 60_000);
});
