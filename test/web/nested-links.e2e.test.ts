// End to end: nestvisor's L2 choice in the page's links, and the console's text as the page saves
// it. A link names the L2 guest; the page boots nestvisor with it, shows the choice in the form,
// and the saved console ("Console text (.txt)") is exactly Bochs' output for that L2
// (guests/nestvisor-hello.expected, the CLI test's golden). A link with a bad L2 is one line.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { root } from "../support/cli.js";
import { type DemoPage, demoTitle, hasChromium, openDemo, waitUntilStopped } from "../support/demo-page.js";

describe.skipIf(!hasChromium)(demoTitle("nestvisor's L2 in links, and the saved console text"), () => {
  let demo: DemoPage;
  beforeAll(async () => {
    demo = await openDemo(undefined, "#guest=nestvisor&l2=hello&vmcs-shadowing=off");
  }, 60_000);
  afterAll(() => demo?.close());

  it("boots the link's L2 with its controls, and saves the console's text as Bochs prints it", async () => {
    const { page } = demo;
    await waitUntilStopped(page, "nestvisor", 120_000);
    await expect.poll(() => demo.consoleText(), { timeout: 60_000 }).toContain("nestvisor: VMX off, L2's status 0");
    expect(await page.locator("#module-select").inputValue()).toBe("hello");
    expect(await page.locator("#vmcs-shadowing").isChecked()).toBe(false);
    const [file] = await Promise.all([page.waitForEvent("download"), page.click("#save-console")]);
    expect(file.suggestedFilename()).toBe("nestvisor.txt");
    expect(readFileSync(await file.path(), "utf8")).toBe(readFileSync(join(root, "guests/nestvisor-hello.expected"), "utf8"));
  }, 180_000);

  it("says in one line what is wrong with a link's L2, and applies none of the link", async () => {
    const { page } = demo;
    await page.evaluate(() => (location.hash = "#guest=nestvisor&l2=nosuch&vmcs-shadowing=on"));
    await expect.poll(() => page.locator("#error").innerText()).toMatch(/^This link was not applied: l2=nosuch: no such sample guest to run as L2 \(there are [a-z0-9, -]+ or [a-z0-9-]+\)$/);
    expect(await page.locator("#module-select").inputValue()).toBe("hello");
    expect(await page.locator("#vmcs-shadowing").isChecked()).toBe(false);
  });
});
