// End to end: the demo's layout in Chromium. At 1280x800 the VGA screen, the serial console and
// the live exits (the stacked chart by reason and the table) all lie in the first viewport while
// the playground runs, and the console is 80 columns, all of them in view: a line longer than that wraps at the 80th. At
// phone size (390x844, touch) the console comes first, then the exits, then the run controls, and
// nothing is wider than the screen (the console scrolls sideways inside its panel instead).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoPage, demoTitle, hasChromium, openDemo } from "../support/demo-page.js";

interface Box {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * The boxes of the selected elements, all read in one layout: the playground keeps running, and a
 * row added to the exits table between two separate reads moves everything below it.
 */
async function boxes(demo: DemoPage, selectors: string[]): Promise<Box[]> {
  return demo.page.evaluate((wanted) => wanted.map((selector) => {
    const element = document.querySelector(selector);
    const rect = element?.getBoundingClientRect();
    if (!rect || rect.width === 0 || rect.height === 0) throw new Error(`${selector} is not shown`);
    return { top: rect.top, bottom: rect.bottom, left: rect.left, right: rect.right };
  }), selectors);
}

/** Boots the playground and waits until the chart is drawn and the table has its rows. */
async function runPlayground(demo: DemoPage): Promise<void> {
  await demo.bootSample("playground");
  await demo.page.waitForFunction(() => document.querySelectorAll("#exits tbody tr").length >= 4 && document.querySelector("#chart .uplot"), null, { timeout: 60_000 });
  await demo.page.waitForSelector("#console .xterm", { timeout: 60_000 });
}

describe.skipIf(!hasChromium)(demoTitle("the demo's layout at 1280x800"), () => {
  let demo: DemoPage;

  beforeAll(async () => {
    demo = await openDemo({ width: 1280, height: 800 });
    await runPlayground(demo);
  }, 120_000);

  afterAll(() => demo?.close());

  it("shows the screen, the console and the live exits in the first viewport", async () => {
    const selectors = ["#screen", "#console", "#reason-chart", "#exits"];
    const shown = await boxes(demo, selectors);
    for (const [index, selector] of selectors.entries()) {
      const { top, bottom, left, right } = shown[index];
      expect(top, selector).toBeGreaterThanOrEqual(0);
      expect(bottom, selector).toBeLessThanOrEqual(800);
      expect(left, selector).toBeGreaterThanOrEqual(0);
      expect(right, selector).toBeLessThanOrEqual(1280);
    }
    expect(await demo.page.evaluate(() => window.scrollY)).toBe(0);
  });

  it("has an 80-column console, all of it in view, that wraps a longer line at the 80th column", async () => {
    const { page } = demo;
    expect(await page.locator("#console").getAttribute("data-columns")).toBe("80");
    // The whole terminal fits its panel: nothing to scroll sideways to.
    expect(await page.evaluate(() => {
      const element = document.getElementById("console")!;
      return element.scrollWidth - element.clientWidth;
    })).toBe(0);

    await demo.bootSample("shell");
    await expect.poll(() => demo.consoleText(), { timeout: 30_000 }).toContain("wv>");
    await page.click("#console");
    // The shell echoes up to 79 characters of a line: with its prompt, 83, which an 80-column
    // terminal shows as "wv> " and 76 on one row and 3 on the next.
    await page.keyboard.type("x".repeat(79));
    await expect.poll(async () => (await demo.consoleText()).split("\n").map((row) => row.trimEnd())).toEqual(expect.arrayContaining([`wv> ${"x".repeat(76)}`, "xxx"]));
  });
});

describe.skipIf(!hasChromium)(demoTitle("the demo's layout on a phone (390x844, touch)"), () => {
  let demo: DemoPage;

  beforeAll(async () => {
    demo = await openDemo({ width: 390, height: 844 }, "", { isMobile: true, hasTouch: true });
    await runPlayground(demo);
  }, 120_000);

  afterAll(() => demo?.close());

  it("puts the console first, then the exits, then the run controls", async () => {
    const [consoleBox, chart, exits, runButtons, controls, screen] = await boxes(demo, ["#console", "#reason-chart", "#exits", "#pause", "#controls", "#screen"]);
    expect(consoleBox.bottom).toBeLessThanOrEqual(chart.top);
    expect(chart.bottom).toBeLessThanOrEqual(exits.top);
    expect(exits.bottom).toBeLessThanOrEqual(runButtons.top);
    expect(runButtons.bottom).toBeLessThanOrEqual(controls.top);
    // The screen and everything else come after.
    expect(screen.top).toBeGreaterThan(controls.bottom);
  });

  it("overflows nothing sideways: the page is the phone's width, and the 80-column console scrolls in its panel", async () => {
    const { page } = demo;
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, viewport: window.innerWidth }));
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    const panels = [".guest", ".console", ".stats", ".run", ".screen", ".step", ".costs", ".tools"];
    for (const [index, panel] of (await boxes(demo, panels)).entries()) {
      expect(panel.right, panels[index]).toBeLessThanOrEqual(widths.viewport);
    }
    expect(await page.locator("#console").getAttribute("data-columns")).toBe("80");
    const console = await page.evaluate(() => {
      const element = document.getElementById("console")!;
      return { scrollWidth: element.scrollWidth, clientWidth: element.clientWidth };
    });
    expect(console.scrollWidth).toBeGreaterThan(console.clientWidth);
  });
});
