// End to end, in Chromium (test/support/demo-page.ts): links that carry the demo's setup, the
// exit trace panel, the registers and stop reason of a guest that stops, and bad input in the
// page. Where the page claims to show what the CLI shows (a trace line, a stop reason, a register
// dump), the test runs the CLI on the same kernel and compares the text.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../core/harness.js";
import { scratchFolder, wasmvisor } from "../support/cli.js";
import { type DemoPage, GUESTS, demoTitle, hasChromium, openDemo } from "../support/demo-page.js";
import { KERNEL_BASE, kernelElf } from "../support/images.js";

/** Loads an empty IDT, then raises #UD: no gate for it, nor for the #GP that follows, nor for the #DF: a triple fault. */
const tripleFaultKernel = () => kernelElf(assemble("lidt idtr\nud2\nidtr: .word 0\n.long 0", KERNEL_BASE + 12));
/** Disables interrupts and halts: nothing can ever wake it. */
const haltForeverKernel = () => kernelElf(assemble("mov $0x1234, %eax\ncli\nhlt", KERNEL_BASE + 12));

const scratch = scratchFolder();

/** What `wasmvisor run` prints on stderr for a guest that did not exit: the stop reason and the register dump. */
async function cliStopReport(name: string, kernel: Uint8Array): Promise<{ reason: string; registers: string }> {
  const { status, stderr } = await wasmvisor("run", scratch.file(name, kernel));
  expect(status).toBe(3);
  const [first, ...dump] = stderr.trimEnd().split("\n");
  return { reason: first.replace(/^wasmvisor: /, ""), registers: dump.join("\n") };
}

const hashOf = (page: Page) => new URL(page.url()).hash;

describe.skipIf(!hasChromium)(demoTitle("demo links, trace and stop report in Chromium"), () => {
  let demo: DemoPage;
  let page: Page;

  beforeAll(async () => {
    demo = await openDemo(undefined, "#guest=hello&cmdline=one+two&mem=64&if-mode=trap&cr3-targets=3&hlt-exiting=off&vga=trap");
    ({ page } = demo);
  }, 60_000);

  afterAll(() => demo?.close());

  const error = () => page.locator("#error").innerText();
  const field = (selector: string) => page.locator(selector).inputValue();

  it("opens a link with its guest, command line, controls and memory, and boots it", async () => {
    await expect.poll(() => demo.consoleText(), { timeout: 20_000 }).toContain("command line arguments: one two");
    const text = await demo.consoleText();
    expect(text).toContain("total 64 MiB");
    expect(await field("#cmdline")).toBe("one two");
    expect(await field("#memory")).toBe("64");
    expect(await field("#if-mode")).toBe("trap");
    expect(await field("#cr3-targets")).toBe("3");
    expect(await page.locator("#hlt-exiting").isChecked()).toBe(false);
    expect(await page.locator('input[name="vga"][value="trap"]').isChecked()).toBe(true);
    expect(await page.locator("#guest-select").inputValue()).toBe("hello");
    expect(await error()).toBe("");
  });

  it("keeps the address a link to the setup as the user changes it", async () => {
    await page.selectOption("#if-mode", "vt");
    await expect.poll(() => hashOf(page)).toBe("#guest=hello&cmdline=one+two&mem=64&cr3-targets=3&hlt-exiting=off&vga=trap");
    await page.fill("#cmdline", "three");
    await page.locator("#cmdline").dispatchEvent("change");
    await expect.poll(() => hashOf(page)).toBe("#guest=hello&cmdline=three&mem=64&cr3-targets=3&hlt-exiting=off&vga=trap");
  });

  it("applies a hash the user edits, and goes back to the previous link", async () => {
    await page.evaluate(() => (location.hash = "#guest=vmexit&cmdline=1000+cpuid"));
    await expect.poll(() => demo.flatConsole(), { timeout: 20_000 }).toContain("cpuid: 1000 iterations");
    expect(await field("#cmdline")).toBe("1000 cpuid");
    expect(await field("#memory")).toBe("32");
    expect(await field("#if-mode")).toBe("vt");
    expect(await page.locator("#hlt-exiting").isChecked()).toBe(true);

    await page.goBack();
    await expect.poll(() => demo.consoleText(), { timeout: 20_000 }).toContain("command line arguments: three");
    expect(await field("#memory")).toBe("64");
    expect(await page.locator("#guest-select").inputValue()).toBe("hello");
  });

  it("names what is wrong with a link and applies none of it", async () => {
    await page.evaluate(() => (location.hash = "#guest=nosuch&mem=lots&if-mode=fast"));
    await expect.poll(error).toMatch(/^This link was not applied: guest=nosuch: no such sample guest \(there are [a-z, ]+ or [a-z]+\); mem=lots: guest RAM must be a whole number of MiB from 2 to 2048; if-mode=fast: expected vt, trap, classic or bt$/);
    expect(await field("#memory")).toBe("64");
    expect(await field("#if-mode")).toBe("vt");
  });

  it("shows the last exits as `--trace exits` prints them", async () => {
    await page.locator("#trace-panel summary").click();
    await page.evaluate(() => (location.hash = "#guest=vmexit&cmdline=3+cpuid"));
    await expect.poll(() => demo.state(), { timeout: 20_000 }).toContain("guest exited with code 0");
    // The CLI runs in the repository's root, so its kernel path, first on the command line, is the page's.
    const cli = await wasmvisor("run", "guests/vmexit.elf", "--cmdline", "3 cpuid", "--trace", "exits");
    expect(cli.status).toBe(0);
    const cliLines = cli.stderr.split("\n").filter((line) => line.startsWith("exit "));
    const shown = await page.locator("#trace").innerText();
    const lines = shown.trimEnd().split("\n");
    expect(lines).toHaveLength(100);
    expect(lines).toEqual(cliLines.slice(-100));
    expect(lines.at(-1)).toMatch(/^exit +\d+  I\/O instruction +eip=0x[0-9a-f]{8}  OUT port 0x00f4, 1 byte$/);
    await page.locator("#trace-panel summary").click();
    expect(await page.locator("#trace").innerText()).toBe("");
  }, 60_000);

  it.each([
    ["a triple fault", "triple-fault.elf", tripleFaultKernel],
    ["a halt that nothing can wake", "halt-forever.elf", haltForeverKernel],
  ])("shows the stop reason and registers after %s, as the CLI prints them", async (_, name, kernel) => {
    const cli = await cliStopReport(name, kernel());
    await page.setInputFiles("#kernel-file", { name, mimeType: "application/octet-stream", buffer: Buffer.from(kernel()) });
    await expect.poll(() => page.locator("#stop-reason").innerText(), { timeout: 20_000 }).toBe(`stopped: ${cli.reason}`);
    expect(await page.locator("#registers").innerText()).toBe(cli.registers);
    expect(await demo.state()).toBe(`${name}: ${cli.reason}`);
  });

  it.each(["0", "-5", "1e9", "abc", "2049", ""])("refuses guest RAM of %j with a message, and boots nothing", async (mem) => {
    await page.fill("#memory", mem);
    const state = await demo.state();
    await page.click("#boot");
    await expect.poll(error).toBe(`Guest RAM: "${mem}" is not a whole number of MiB from 2 to 2048`);
    expect(await demo.state()).toBe(state);
  });

  it("boots with 2048 MiB of guest RAM, or says the browser refused it", async () => {
    await page.fill("#memory", "2048");
    await demo.bootSample("hello");
    const outcome = async () =>
      (await demo.consoleText()).includes("total 2048 MiB") ? "booted" : /^hello: cannot allocate 2048 MiB of guest RAM/.test(await error()) ? "refused" : "waiting";
    await expect.poll(outcome, { timeout: 30_000 }).not.toBe("waiting");
    console.info(`2048 MiB of guest RAM in this Chromium: ${await outcome()}`);
    await page.fill("#memory", "32");
  }, 40_000);

  it("boots a kernel file dropped anywhere on the page, and refuses other drops with a message", async () => {
    const hello = [...readFileSync(join(GUESTS, "hello.elf"))];
    const drop = (selector: string, withFile: boolean) =>
      page.locator(selector).evaluate(
        (target, [bytes, file]) => {
          const data = new DataTransfer();
          if (file) data.items.add(new File([new Uint8Array(bytes as number[])], "dropped-hello.elf"));
          else data.setData("text/plain", "https://example.com/");
          const event = new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true });
          target.dispatchEvent(event);
          return event.defaultPrevented;
        },
        [hello, withFile] as const,
      );
    expect(await drop("#console", true)).toBe(true);
    await expect.poll(() => demo.state(), { timeout: 20_000 }).toBe("dropped-hello.elf: guest exited with code 0 (isa-debug-exit)");
    expect(await drop("#summary", false)).toBe(true);
    await expect.poll(error).toBe("only a file can be dropped here: drop a Multiboot kernel to boot it");
  });
});
