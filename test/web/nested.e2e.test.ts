// End to end: nested VMX in the browser demo (issue 18 item 6). A visitor boots the sample guest
// hypervisor, guests/nestvisor.elf, with a sample guest as its L2 (the page's "L2 guest" choice,
// a Multiboot module) and sees the exits by level. The figures are checked against what the VM
// itself says: nestvisor prints its own count of L2's exits per reason, which must be the page's
// reflected counts; L1's VMLAUNCH and VMRESUME must be as many (each entry into L2 ends in one
// reflected exit); and the levels must add up to the page's exit table, reason by reason. The live
// VMCS-shadowing toggle starts and stops L1's VMREAD exits while nestvisor runs. A module that is
// no kernel, or that does not fit in RAM, is one line on the page.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoPage, demoTitle, hasChromium, openDemo, setChecked, waitUntilStopped } from "../support/demo-page.js";
import { nestvisorCounts } from "../support/nestvisor-report.js";

const EXIT_VMLAUNCH = 20;
const EXIT_VMRESUME = 24;

interface Row {
  reason: number;
  count: number;
  /** The figure shown, and the one in data-ns-per-exit ("" for n/a). */
  nsShown: string;
  nsData: string;
}

describe.skipIf(!hasChromium)(demoTitle("the demo with nested VMX: nestvisor and its L2"), () => {
  let demo: DemoPage;
  beforeAll(async () => {
    demo = await openDemo();
  }, 60_000);
  afterAll(() => demo?.close());

  /** Boots nestvisor with the sample `l2` and its arguments, and waits for the run to end. */
  async function bootNestvisor(l2: string, args: string): Promise<void> {
    const { page } = demo;
    await page.selectOption("#module-select", l2);
    await page.fill("#module-args", args);
    await demo.bootSample("nestvisor");
    await waitUntilStopped(page, "nestvisor", 120_000);
  }

  const rows = (selector: string): Promise<Row[]> =>
    demo.page.locator(`${selector} tbody tr`).evaluateAll((trs) =>
      trs.map((tr) => ({
        reason: Number((tr as HTMLElement).dataset.reason),
        count: Number((tr as HTMLElement).dataset.count),
        nsShown: tr.children[3].textContent!,
        nsData: (tr as HTMLElement).dataset.nsPerExit!,
      })),
    );
  const counts = (list: Row[]) => new Map(list.map((row) => [row.reason, row.count]));

  it("boots nestvisor with an L2 chosen like a sample, and shows the exits by level as the VM counted them", async () => {
    await bootNestvisor("exitloop", "300");
    // "stopped" can show before the terminal has drawn the last lines: wait for nestvisor's last one.
    await expect.poll(() => demo.consoleText(), { timeout: 30_000 }).toContain("nestvisor: VMX off, L2's status 0");
    const console = await demo.consoleText();
    expect(console).toContain("nestvisor: VMX on, VMCS loaded");
    expect(console).toContain("nestvisor: VMX off, L2's status 0");
    const seenByL1 = nestvisorCounts(console);
    expect(seenByL1).toEqual(new Map([[10, 300], [28, 300], [30, expect.any(Number)]]));

    expect(await demo.page.locator("#levels").isVisible()).toBe(true);
    const [l1, reflected, l2, all] = await Promise.all([rows('#levels table[data-level="l1"]'), rows('#levels table[data-level="reflected"]'), rows('#levels table[data-level="l2"]'), rows("#exits")]);
    expect(counts(reflected)).toEqual(seenByL1);
    const reflectedTotal = [...seenByL1.values()].reduce((a, b) => a + b);
    expect(await demo.page.locator('#levels table[data-level="reflected"]').getAttribute("data-total")).toBe(String(reflectedTotal));
    expect((counts(l1).get(EXIT_VMLAUNCH) ?? 0) + (counts(l1).get(EXIT_VMRESUME) ?? 0)).toBe(reflectedTotal);
    // Every exit the VM counted is at exactly one level.
    for (const { reason, count } of all) {
      const atLevels = [l1, reflected, l2].map((list) => counts(list).get(reason) ?? 0).reduce((a, b) => a + b);
      expect(atLevels, `reason ${reason}`).toBe(count);
    }
    // Each level's ns per exit is the VM's figure as sent (or n/a while the clock cannot tell it).
    for (const row of [...l1, ...reflected, ...l2]) {
      if (row.nsData === "") expect(row.nsShown).toBe("n/a");
      else {
        expect(Number(row.nsData)).toBeGreaterThan(0);
        expect(Number(row.nsShown.replace(/,/g, ""))).toBeCloseTo(Number(row.nsData), 0);
      }
    }
  }, 180_000);

  it("starts and stops L1's VMREAD exits with the live VMCS-shadowing toggle while nestvisor runs", async () => {
    const { page } = demo;
    const count = async (level: string, reason?: number): Promise<number> => {
      const table = page.locator(`#levels table[data-level="${level}"]`);
      if (reason === undefined) return Number((await table.getAttribute("data-total")) ?? 0);
      const row = table.locator(`tr[data-reason="${reason}"]`);
      return (await row.count()) === 0 ? 0 : Number(await row.getAttribute("data-count"));
    };
    /** Both figures from one sample: the page shows each sample whole. */
    const vmreadsAndReflected = () => Promise.all([count("l1", 23), count("reflected")]);
    const reflectedPast = (total: number) =>
      page.waitForFunction((past) => Number(document.querySelector('#levels table[data-level="reflected"]')?.getAttribute("data-total") ?? 0) > past, total, { timeout: 60_000 });

    await page.selectOption("#module-select", "exitloop");
    await page.fill("#module-args", "100000000");
    await demo.bootSample("nestvisor");
    await page.waitForFunction(() => document.getElementById("state")!.textContent === "nestvisor: running", null, { timeout: 60_000 });
    expect(await page.locator("#vmcs-shadowing").isChecked()).toBe(true);
    await reflectedPast(300);
    expect(await count("l1", 23)).toBe(0); // shadowed: L1's VMREADs never exit

    await setChecked(page, "#vmcs-shadowing", false);
    // The toggle reaches the worker between two of its slices, which under load can be thousands
    // of reflected exits later: wait for L1's first VMREAD exit rather than for a fixed count.
    await page.waitForFunction(() => Number(document.querySelector('#levels table[data-level="l1"] tr[data-reason="23"]')?.getAttribute("data-count") ?? 0) > 0, null, { timeout: 60_000 });
    const [vmreadsBefore, reflectedBefore] = await vmreadsAndReflected();
    await reflectedPast(reflectedBefore + 300);
    const [vmreadsAfter, reflectedAfter] = await vmreadsAndReflected();
    // Each exit reflected into L1 makes nestvisor read at least its exit reason: now an exit each.
    expect(vmreadsAfter - vmreadsBefore).toBeGreaterThanOrEqual(reflectedAfter - reflectedBefore - 2);

    await setChecked(page, "#vmcs-shadowing", true);
    // Shadowing on again: once the toggle has arrived, L1's VMREAD exits stop growing for good.
    let vmreadsOn = await count("l1", 23);
    for (let samples = 1; ; samples++) {
      await reflectedPast((await count("reflected")) + 300);
      const vmreads = await count("l1", 23);
      if (vmreads === vmreadsOn) break;
      vmreadsOn = vmreads;
      expect(samples, "VMREADs still exit long after shadowing went back on").toBeLessThan(30);
    }
    await reflectedPast((await count("reflected")) + 1000);
    expect(await count("l1", 23)).toBe(vmreadsOn);
  }, 240_000);

  it("hides the levels for a guest that is no hypervisor", async () => {
    const { page } = demo;
    await page.selectOption("#module-select", "");
    await demo.bootSample("hello");
    await page.waitForFunction(() => document.getElementById("state")!.textContent!.startsWith("hello: "), null, { timeout: 60_000 });
    await page.waitForFunction(() => document.getElementById("state")!.dataset.state === "stopped", null, { timeout: 60_000 });
    expect(await page.locator("#levels").isVisible()).toBe(false);
  }, 120_000);

  it("says in one line on the page when the L2 module does not fit in guest RAM, and boots nothing", async () => {
    const { page } = demo;
    // nestvisor occupies 16 MiB to ~17.1 MiB: with 19 MiB of RAM a 2 MiB module cannot follow it.
    await page.fill("#memory", "19");
    await page.locator("#module-file").setInputFiles({ name: "big.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(2 << 20) });
    await page.fill("#module-args", "");
    await demo.bootSample("nestvisor");
    await page.waitForFunction(() => document.getElementById("error")!.textContent !== "", null, { timeout: 60_000 });
    const error = await page.locator("#error").innerText();
    expect(error).toMatch(/^nestvisor: module 1 \(big\.bin\) does not fit in guest memory: /);
    expect(error).not.toContain("\n");
    await page.fill("#memory", "32");
  }, 120_000);

  it("runs a module that is no kernel: nestvisor itself says so on the console and stops", async () => {
    const { page } = demo;
    await page.fill("#memory", "32");
    await page.locator("#module-file").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a kernel\n") });
    await demo.bootSample("nestvisor");
    await waitUntilStopped(page, "nestvisor", 60_000);
    await expect.poll(() => demo.consoleText(), { timeout: 30_000 }).toContain("nestvisor: cannot load L2: the module is not a 32-bit x86 ELF executable");
    expect(await page.locator("#error").innerText()).toBe("");
  }, 120_000);
});
