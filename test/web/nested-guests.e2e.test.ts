// End to end: issue 18's "done when" in the browser. The sample guest hypervisor, nestvisor, runs
// each L2 guest of its golden list (test/support/nestvisor-goldens.ts, the list and the Bochs
// outputs the CLI test uses) to its normal end, with VMCS shadowing on and off, and the console's
// whole text (its "Console text" download, scrollback included) must be Bochs' output. Each run is
// opened as a link (#guest=nestvisor&l2=NAME&l2-args=...&vmcs-shadowing=on|off), so the same runs
// check that the L2 choice is restored from a link; the form's choice going into the address, a
// bad link, and the page's trace naming VMREAD's fields are checked after them. One page serves
// all (test/support/nestvisor-page.ts waits for each run's end and reads the console the page
// saves). The terminal's rows are no measure of the output: xterm.js draws nothing while it is
// scrolled out of view, as it is after a click on "Console text" far below it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoPage, demoTitle, hasChromium, openDemo } from "../support/demo-page.js";
import { golden, l2Guests } from "../support/nestvisor-goldens.js";
import { nestvisorEnded, nestvisorLink, openLink, pageChoice, savedConsole } from "../support/nestvisor-page.js";

const runLink = (module: string, shadowing: "on" | "off") => nestvisorLink(module, { "vmcs-shadowing": shadowing });

// Off before on, so that the page ends the runs with shadowing on, as the tests after them expect.
const runs = l2Guests.flatMap(({ name, module }) => (["off", "on"] as const).map((shadowing) => ({ golden: name, module, shadowing })));

describe.skipIf(!hasChromium)(demoTitle("nestvisor in the browser runs every golden L2 guest as Bochs does"), () => {
  let demo: DemoPage;
  /** Whether the page still shows the run of the link it was opened with. */
  let openedWith = true;
  beforeAll(async () => {
    // Opened with the first run's link: the page boots it, and boots nothing else first.
    demo = await openDemo(undefined, runLink(runs[0].module, runs[0].shadowing));
  }, 60_000);
  afterAll(() => demo?.close());

  const error = () => demo.page.locator("#error").innerText();
  const ended = () => nestvisorEnded(demo.page);

  it("lists at least five different L2 guests, each run with shadowing on and off", () => {
    expect(new Set(l2Guests.map((guest) => pageChoice(guest.module).l2)).size).toBeGreaterThanOrEqual(5);
    expect(runs).toHaveLength(2 * l2Guests.length);
  });

  // (A title's "$golden.expected" would read as the property path golden.expected.)
  it.each(runs)("$module as L2, VMCS shadowing $shadowing: the console saved as the guest stops is what Bochs prints ($golden)", async ({ golden: name, module, shadowing }) => {
    const { page } = demo;
    // The first run is the link the page was opened with. For the others, the last run has ended:
    // the state line is marked so that only this run's end is waited for.
    if (!openedWith) await openLink(page, runLink(module, shadowing));
    openedWith = false;
    await ended();
    const { l2, args } = pageChoice(module);
    expect(await page.locator("#module-select").inputValue()).toBe(l2);
    expect(await page.locator("#module-args").inputValue()).toBe(args);
    expect(await page.locator("#vmcs-shadowing").isChecked()).toBe(shadowing === "on");
    expect(await error()).toBe("");
    const saved = await savedConsole(page);
    expect(saved.name).toBe("nestvisor.txt");
    expect(saved.text).toBe(golden(name));
  }, 180_000);

  it("puts the form's L2 choice and its arguments into the address, and restores them from it when the page opens", async () => {
    const { page } = demo;
    await page.selectOption("#module-select", "exitloop");
    await page.fill("#module-args", "12");
    await page.evaluate(() => (document.getElementById("state")!.dataset.state = "booting"));
    await demo.bootSample("nestvisor");
    await ended();
    expect(new URL(page.url()).hash).toBe("#guest=nestvisor&l2=exitloop&l2-args=12");
    await page.reload();
    await ended();
    expect(await page.locator("#module-select").inputValue()).toBe("exitloop");
    expect(await page.locator("#module-args").inputValue()).toBe("12");
    expect((await savedConsole(page)).text).toContain('nestvisor: L2 kernel loaded, arguments "12"');
  }, 180_000);

  it("says in one line what is wrong with a link's L2, and applies none of the link", async () => {
    const { page } = demo;
    const state = await demo.state();
    await page.evaluate(() => (location.hash = "#guest=nestvisor&l2=nosuch&vmcs-shadowing=off"));
    await expect.poll(error).toMatch(/^This link was not applied: l2=nosuch: no such sample guest to run as L2 \(there are [a-z0-9, -]+ or [a-z0-9-]+\)$/);
    expect(await page.locator("#module-select").inputValue()).toBe("exitloop");
    expect(await page.locator("#vmcs-shadowing").isChecked()).toBe(true);
    expect(await demo.state()).toBe(state);
  });

  it("names the VMCS field of each VMREAD and VMWRITE in the page's exit trace, as --trace exits does", async () => {
    const { page } = demo;
    await page.locator("#trace-panel summary").click();
    await page.evaluate(() => (location.hash = "#guest=nestvisor&l2=exitloop&l2-args=100000000&vmcs-shadowing=off"));
    await page.waitForFunction(() => document.getElementById("state")!.textContent === "nestvisor: running", null, { timeout: 60_000 });
    // Each exit reflected into L1 makes nestvisor read its reason first: with shadowing off, an exit.
    await expect.poll(() => page.locator("#trace").innerText(), { timeout: 60_000 }).toMatch(/ L1 +VMREAD +eip=0x[0-9a-f]{8}  field EAX = 0x00004402 \(EXIT_REASON\), EAX\n/);
    const vmx = (await page.locator("#trace").innerText()).split("\n").filter((line) => / L1 +VM(READ|WRITE) /.test(line));
    for (const line of vmx) expect(line).toMatch(/ field E[A-D]X = 0x0000[0-9a-f]{4} \([A-Z0-9_]+\), /);
    await page.click("#pause");
  }, 120_000);
});
