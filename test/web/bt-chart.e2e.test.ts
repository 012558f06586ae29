// End to end: under --if-mode bt the exit chart shows why exits disappear. The playground does CLI
// and STI pairs at CPL 0 all the time: under trap each is an exit (0x100, 0x101) in the stacked
// chart's data (#reason-chart's data-rates) and nothing is rewritten; under bt neither exits, and
// the chart counts the inline CLIs and STIs that took their place (data-rewrites), drawn as
// dashed lines beside the exits with a legend entry each. Rates are per second over ~250 ms
// samples on a shared machine: every check is presence or absence, polled for a bounded time.

import { afterEach, describe, expect, it } from "vitest";
import { type DemoPage, demoTitle, hasChromium, openDemo } from "../support/demo-page.js";

const CLI_EXIT = 0x100;
const STI_EXIT = 0x101;
/** A sample shows within ~0.5 s; a starved worker may take far longer. */
const SHOWS_WITHIN_MS = 30_000;

describe.skipIf(!hasChromium)(demoTitle("the exit chart under binary translation in Chromium"), () => {
  let demo: DemoPage | undefined;

  afterEach(async () => {
    await demo?.close();
    demo = undefined;
  });

  /** Opens the playground under `ifMode` and returns the chart's newest column once the guest's CPUIDs (its yardstick) show in it. */
  async function playground(ifMode: string): Promise<{ rates: () => Promise<Record<string, number>>; rewrites: () => Promise<Record<string, number>> }> {
    demo = await openDemo(undefined, `#guest=playground&if-mode=${ifMode}`);
    const chart = demo.page.locator("#reason-chart");
    const json = (attribute: string) => async (): Promise<Record<string, number>> => JSON.parse((await chart.getAttribute(attribute)) ?? "{}");
    await expect.poll(() => demo!.state(), { timeout: SHOWS_WITHIN_MS }).toBe("playground: running");
    expect(await demo.page.locator("#if-mode").inputValue()).toBe(ifMode);
    await expect.poll(async () => ((await json("data-rates")())[10] ?? 0) > 0, { timeout: SHOWS_WITHIN_MS, message: "CPUID exits in the chart" }).toBe(true);
    return { rates: json("data-rates"), rewrites: json("data-rewrites") };
  }

  it("under trap: CLI and STI exit, and nothing is rewritten", async () => {
    const { rates, rewrites } = await playground("trap");
    await expect.poll(async () => { const r = await rates(); return (r[CLI_EXIT] ?? 0) > 0 && (r[STI_EXIT] ?? 0) > 0; }, { timeout: SHOWS_WITHIN_MS }).toBe(true);
    expect(await rewrites()).toEqual({});
  }, 120_000);

  it("under bt: no CLI or STI exits; the inline CLIs and STIs that replaced them are counted beside the exits, in the data and the legend", async () => {
    const { rates, rewrites } = await playground("bt");
    await expect.poll(async () => { const r = await rewrites(); return (r["inline CLI"] ?? 0) > 0 && (r["inline STI"] ?? 0) > 0; }, { timeout: SHOWS_WITHIN_MS }).toBe(true);
    const exits = await rates();
    expect(exits[CLI_EXIT]).toBeUndefined();
    expect(exits[STI_EXIT]).toBeUndefined();
    // Both series are in the chart, each with its legend entry, beside the exits' reasons.
    await expect.poll(() => demo!.page.locator("#reason-chart .u-legend").innerText(), { timeout: SHOWS_WITHIN_MS }).toMatch(/bt inline CLI\/s \(no exit\)[\s\S]*bt inline STI\/s \(no exit\)|bt inline STI\/s \(no exit\)[\s\S]*bt inline CLI\/s \(no exit\)/);
    expect(await demo!.page.locator("#reason-chart .u-legend").innerText()).toMatch(/cpuid \(10\)/i);
  }, 120_000);
});
