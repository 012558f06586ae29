// The serial console's flow control in Chromium, the page's half: the worker lets a guest get only
// CONSOLE_WINDOW bytes ahead of the terminal (test/web/console-flow.test.ts), so a guest that
// writes more than that gets to its end only if the page reports each chunk it has drawn.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../core/harness.js";
import { type DemoPage, demoTitle, hasChromium, openDemo } from "../support/demo-page.js";
import { KERNEL_BASE, kernelElf } from "../support/images.js";
import { CONSOLE_FLOOD_BYTES, consoleFloodSource } from "../support/console-flood.js";

describe.skipIf(!hasChromium)(demoTitle("console flow control in Chromium"), () => {
  let demo: DemoPage;

  beforeAll(async () => {
    demo = await openDemo();
  }, 60_000);

  afterAll(() => demo?.close());

  it("draws all of a guest's output, twice the worker's window and more, to its last line", { timeout: 120_000 }, async () => {
    const flood = kernelElf(assemble(consoleFloodSource(CONSOLE_FLOOD_BYTES), KERNEL_BASE + 12));
    await demo.page.setInputFiles("#kernel-file", { name: "flood.elf", mimeType: "application/octet-stream", buffer: Buffer.from(flood) });
    await demo.page.waitForFunction(() => document.querySelector(".xterm-rows")?.textContent?.includes("XXDONE"), null, { timeout: 100_000 });
    expect(await demo.flatConsole()).toMatch(/X+DONE$/);
  });
});
