// End to end: the browser demo (dist/web, built by `npm run build:web`) in Debian's Chromium,
// headless, driven with playwright-core, served from a subfolder as a static host would. It boots
// sample guests from the picker and checks what a user would see: the serial console's text, the
// VGA canvas's pixels, the exit counters reacting to the IF-mode and VGA-trap controls, a kernel
// loaded through the file input, and the loader's message for a file that is not a kernel.
// Skipped, saying why, where /usr/bin/chromium is not installed (CI installs it: .ci/run).

import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve } from "../../scripts/serve-web.mjs";
import { assemble } from "../core/harness.js";
import { KERNEL_BASE, kernelElf } from "../support/images.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const WEB = fileURLToPath(new URL("../../dist/web", import.meta.url));
const GUESTS = fileURLToPath(new URL("../../guests", import.meta.url));
const hasChromium = existsSync(CHROMIUM);
const title = hasChromium ? "browser demo in Chromium" : `browser demo: skipped, ${CHROMIUM} is not installed (apt-get install -y chromium)`;

/** A kernel that paints "HI!" (white on blue, yellow on red) at 0xB8000, moves the cursor, then spins counting on row 2. */
const vgaKernel = () =>
  kernelElf(
    assemble(
      [
        "movw $0x1f48, 0xb8000\nmovw $0x1f49, 0xb8002\nmovw $0x4e21, 0xb8004",
        "mov $0x3d4, %dx\nmov $0x0e, %al\nout %al, %dx\ninc %dx\nmov $0, %al\nout %al, %dx",
        "dec %dx\nmov $0x0f, %al\nout %al, %dx\ninc %dx\nmov $80, %al\nout %al, %dx",
        "1: incb 0xb8140\nmovb $0x0a, 0xb8141\njmp 1b",
      ].join("\n"),
      KERNEL_BASE + 12,
    ),
  );

describe.skipIf(!hasChromium)(title, () => {
  let server: Server;
  let url: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(join(WEB, "index.html"))) throw new Error("dist/web is missing: run `npm run build:web` (npm test's pretest does)");
    ({ server, url } = await serve(WEB, { port: 0, prefix: "/some/subfolder/" }));
    profile = mkdtempSync(join(tmpdir(), "wasmvisor-chromium-"));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, viewport: { width: 1280, height: 1000 } });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    await page.waitForFunction(() => !(document.getElementById("boot") as HTMLButtonElement).disabled, null, { timeout: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const bootSample = async (name: string) => {
    await page.selectOption("#guest-select", name);
    await page.click("#boot");
  };
  const consoleText = () => page.locator(".xterm-rows").innerText();
  const state = () => page.locator("#state").innerText();
  /** The count in the exit table's row for `reason`, 0 if the reason has not occurred. */
  const exitCount = async (reason: number) => {
    const row = page.locator(`#exits tr[data-reason="${reason}"] td`).first();
    return (await row.count()) === 0 ? 0 : Number((await row.innerText()).replace(/,/g, ""));
  };
  const pixel = (x: number, y: number) =>
    page.evaluate(([px, py]) => [...(document.getElementById("screen") as HTMLCanvasElement).getContext("2d")!.getImageData(px, py, 1, 1).data.slice(0, 3)], [x, y]);

  it("lists every sample guest", async () => {
    const names = await page.locator("#guest-select option").allInnerTexts();
    const elfs = readdirSync(GUESTS).filter((file) => file.endsWith(".elf")).map((file) => file.slice(0, -4));
    expect(names.sort()).toEqual(elfs.sort());
  });

  it("boots hello and shows its serial output", async () => {
    await bootSample("hello");
    await expect.poll(consoleText, { timeout: 20_000 }).toContain("Hello from a wasmvisor guest!");
    await expect.poll(consoleText).toContain("goodbye");
    await expect.poll(state).toContain("guest exited with code 0");
  });

  it("boots a VGA guest and draws its text screen on the canvas", async () => {
    const names = await page.locator("#guest-select option").allInnerTexts();
    if (names.includes("vga")) {
      await bootSample("vga");
      // Some cell shows a colour other than black: the guest's text on the canvas.
      await expect.poll(() => page.evaluate(() => {
        const data = (document.getElementById("screen") as HTMLCanvasElement).getContext("2d")!.getImageData(0, 0, 720, 400).data;
        const colours = new Set<number>();
        for (let i = 0; i < data.length; i += 4) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        return colours.size;
      }), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    }
    await page.setInputFiles("#kernel-file", { name: "hi.elf", mimeType: "application/octet-stream", buffer: Buffer.from(vgaKernel()) });
    // Cell (0,0): blue background (VGA colour 1); cell (2,0): red background (colour 4); the
    // glyph 'H' in white at its left stroke, 4 rows down.
    await expect.poll(() => pixel(0, 0), { timeout: 20_000 }).toEqual([0x00, 0x00, 0xaa]);
    expect(await pixel(18, 0)).toEqual([0xaa, 0x00, 0x00]);
    expect(await pixel(1, 4)).toEqual([0xff, 0xff, 0xff]);
  });

  it("switches to the VGA write trap while the guest runs, and the trap's exits show at once", async () => {
    expect(await exitCount(48)).toBe(0);
    await page.check('input[name="vga"][value="trap"]');
    await expect.poll(() => exitCount(48), { timeout: 2_000 }).toBeGreaterThan(0);
    await page.check('input[name="vga"][value="refresh"]');
  });

  it("flips the interrupt-flag mode: ifmodes makes CLI/STI exits under trap and none under vt", async () => {
    await page.selectOption("#if-mode", "vt");
    await bootSample("ifmodes");
    await expect.poll(state, { timeout: 20_000 }).toContain("guest exited");
    expect(await exitCount(0x100)).toBe(0);
    expect(await exitCount(0x101)).toBe(0);

    // The guest has ended: a control change runs it again under the new setting.
    await page.selectOption("#if-mode", "trap");
    await expect.poll(() => exitCount(0x100), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await exitCount(0x101)).toBeGreaterThan(0);
    await expect.poll(state).toContain("guest exited with code 0");
    await page.selectOption("#if-mode", "vt");
  });

  it("boots a kernel given through the file input", async () => {
    await page.setInputFiles("#kernel-file", join(GUESTS, "detect.elf"));
    await expect.poll(consoleText, { timeout: 20_000 }).toContain("detect: wasmvisor guest");
    expect(await page.locator("#error").innerText()).toBe("");
  });

  it("says why a file that is not a kernel does not boot", async () => {
    await page.setInputFiles("#kernel-file", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("just some notes\n") });
    await expect.poll(() => page.locator("#error").innerText()).toBe("notes.txt: not a Multiboot kernel: no Multiboot header (magic 0x1badb002) in the first 8 KiB");
  });

  it("pauses, single-steps with the instruction and registers shown, and resumes", async () => {
    await page.setInputFiles("#kernel-file", { name: "hi.elf", mimeType: "application/octet-stream", buffer: Buffer.from(vgaKernel()) });
    await expect.poll(state, { timeout: 20_000 }).toContain("running");
    await page.click("#pause");
    await expect.poll(() => page.locator("#registers").innerText()).toMatch(/^EAX=/);
    const before = await page.locator("#instruction").innerText();
    await page.click("#step");
    await expect.poll(() => page.locator("#instruction").innerText()).not.toBe(before);
    expect(await page.locator("#instruction").innerText()).toMatch(/^001000[0-9a-f]{2}: +[0-9a-f ]+ +(inc byte|mov byte|jmp)/);
    await page.click("#resume");
    await expect.poll(state).toContain("running");
  });
});

