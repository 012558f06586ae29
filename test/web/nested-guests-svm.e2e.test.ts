// End to end: issue 19's "done when" in the browser. nestvisor on the page's AMD CPU (cpu=amd, its
// SVM backend: VMRUN and a VMCB) runs each L2 guest of its golden list and the two boot sectors
// (guests/realmode.bin and guests/pm16.bin, which only SVM can run) to their end, and the console's whole text
// as the page saves it must be Bochs' output on its ryzen model: the goldens
// guests/nestvisor-svm-NAME.expected the CLI test (test/guests/nestvisor-svm.test.ts) checks. The
// same structure as the VMX test (nested-guests.e2e.test.ts, with test/support/nestvisor-page.ts):
// each run is opened as a link, so the same runs check that the CPU and the L2 choice are
// restored from a link. After them: the two-level view for the SVM L1 (L1's VMRUNs, L2's exits
// reflected into it as nestvisor counts them), and the CPU control in the form rebooting the
// guest hypervisor from SVM to VMX.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_CPUID, EXIT_SVM_STGI, EXIT_SVM_VMRUN, EXIT_VMRESUME } from "../../assembly/vmcs-layout.js";
import { type DemoPage, demoTitle, hasChromium, openDemo } from "../support/demo-page.js";
import { golden, l2Guests, lastLine } from "../support/nestvisor-goldens.js";
import { nestvisorEnded, nestvisorLink, openLink, pageChoice, savedConsole } from "../support/nestvisor-page.js";
import { nestvisorCounts, nestvisorSvmCodes } from "../support/nestvisor-report.js";
import { VMEXIT_CPUID } from "../../src/vmm/svm/svm-intercepts.js";

const svmLink = (module: string) => nestvisorLink(module, { cpu: "amd" });
const runs = [...l2Guests, { name: "realmode", module: "guests/realmode.bin" }, { name: "pm16", module: "guests/pm16.bin" }];

/** An exit table's counts by reason: a level's (l1, reflected, l2) or, with no level, the table of all exits. */
function tableCounts(demo: DemoPage, level?: "l1" | "reflected" | "l2"): Promise<Map<number, number>> {
  const selector = level === undefined ? "#exits" : `#levels table[data-level="${level}"]`;
  return demo.page.locator(`${selector} tbody tr`).evaluateAll((trs) => trs.map((tr) => [Number((tr as HTMLElement).dataset.reason), Number((tr as HTMLElement).dataset.count)] as [number, number])).then((rows) => new Map(rows));
}

describe.skipIf(!hasChromium)(demoTitle("nestvisor's SVM backend in the browser runs every golden L2 guest and the real-mode L2 as Bochs does"), () => {
  let demo: DemoPage;
  let openedWith = true;
  beforeAll(async () => {
    demo = await openDemo(undefined, svmLink(runs[0].module));
  }, 60_000);
  afterAll(() => demo?.close());

  it("lists at least five different L2 guests, and the real-mode L2 is one of the page's L2 choices", async () => {
    expect(new Set(l2Guests.map((guest) => pageChoice(guest.module).l2)).size).toBeGreaterThanOrEqual(5);
    expect(await demo.page.locator('#module-select option[value="realmode"]').count()).toBe(1);
    expect(await demo.page.locator('#guest-select option[value="realmode"]').count()).toBe(0); // a boot sector boots nothing itself
  });

  it.each(runs)("$module as L2 on the AMD CPU: the console saved as the guest stops is what Bochs prints ($name)", async ({ name, module }) => {
    const { page } = demo;
    if (!openedWith) await openLink(page, svmLink(module));
    openedWith = false;
    await nestvisorEnded(page);
    const { l2, args } = pageChoice(module);
    expect(await page.locator("#module-select").inputValue()).toBe(l2);
    expect(await page.locator("#module-args").inputValue()).toBe(args);
    expect(await page.locator("#cpu").inputValue()).toBe("amd");
    expect(await page.locator("#error").innerText()).toBe("");
    const saved = await savedConsole(page);
    expect(saved.text).toBe(golden(name, "svm"));
    expect(saved.text.endsWith(`${lastLine("svm")}\n`)).toBe(true);
  }, 180_000);

  it("shows the two levels for the SVM L1 as the VM counted them: L2's exits reflected into L1 as nestvisor counts them, one VMRUN of L1's for each, every exit at one level", async () => {
    const { page } = demo;
    await openLink(page, svmLink("guests/exitloop.elf 300"));
    await nestvisorEnded(page);
    const seenByL1 = nestvisorCounts((await savedConsole(page)).text, "svm");
    expect(seenByL1.get(EXIT_CPUID)).toBe(300);
    const reflectedTotal = [...seenByL1.values()].reduce((a, b) => a + b);
    // The last sample may come after the stop.
    // The reflected level counts what L1 saw: #VMEXIT codes (VMEXIT_CPUID...).
    await expect.poll(() => tableCounts(demo, "reflected"), { timeout: 30_000 }).toEqual(nestvisorSvmCodes((await savedConsole(page)).text));
    expect(await page.locator(`#levels table[data-level="reflected"] tbody tr[data-reason="${VMEXIT_CPUID}"] th`).innerText()).toBe("VMEXIT_CPUID (0x72)");
    expect(await page.locator("#levels").isVisible()).toBe(true);
    expect(await page.locator('#levels table[data-level="reflected"]').getAttribute("data-total")).toBe(String(reflectedTotal));
    const [l1, l2, all] = await Promise.all([tableCounts(demo, "l1"), tableCounts(demo, "l2"), tableCounts(demo)]);
    // L2 ends only by exiting: each VMRUN of L1's ends in one reflected exit, after which L1 sets GIF
    // again, in the core unless an interrupt waits (then STGI exits, for L0 to deliver it).
    expect(l1.get(EXIT_SVM_VMRUN)).toBe(reflectedTotal);
    expect(l1.get(EXIT_SVM_STGI) ?? 0).toBeLessThanOrEqual(reflectedTotal);
    expect(l1.has(EXIT_VMRESUME)).toBe(false);
    expect(await page.locator(`#levels table[data-level="l1"] tbody tr[data-reason="${EXIT_SVM_VMRUN}"] th`).innerText()).toBe("VMRUN (0x180)");
    for (const [reason, count] of all) expect([l1, seenByL1, l2].reduce((sum, level) => sum + (level.get(reason) ?? 0), 0), `reason ${reason}`).toBe(count);
  }, 180_000);

  it("reboots the guest hypervisor under VMX when the form's CPU becomes intel, and puts the CPU into the address", async () => {
    const { page } = demo;
    await page.evaluate(() => (document.getElementById("state")!.dataset.state = "booting"));
    await page.selectOption("#cpu", "intel");
    await nestvisorEnded(page);
    expect(new URL(page.url()).hash).toBe("#guest=nestvisor&l2=exitloop&l2-args=300");
    const { text } = await savedConsole(page);
    expect(text).toContain("nestvisor: VMX on, VMCS loaded\n");
    expect(text.endsWith(`\n${lastLine("vmx")}\n`)).toBe(true);
    await expect.poll(async () => (await tableCounts(demo, "l1")).get(EXIT_VMRESUME) ?? 0, { timeout: 30_000 }).toBeGreaterThan(0);
    expect((await tableCounts(demo, "l1")).has(EXIT_SVM_VMRUN)).toBe(false);
  }, 180_000);
});
