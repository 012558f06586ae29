// End to end: the demo page's lab tools in Chromium (test/support/demo-page.ts opens it). A machine
// saved in the page and restored after a reload goes on where it stopped (the shell with the line
// it was typed, the playground counting on and reading back its disk); a state file moves
// between the page and the CLI both ways; a disk image uploaded is what the guest reads, and the
// download holds what it wrote; the screenshot is the canvas, cell for cell the CLI's
// --screenshot of the same machine; and a state file or disk image the page cannot take gets a
// line in the page while the running guest goes on. The shell guest (guests/shell) does most of
// the guest's side: it echoes what it is typed, keeps an unfinished line in RAM, and has a `disk`
// command. Skipped, saying why, where Chromium is not installed.

import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../core/harness.js";
import { scratchFolder, wasmvisor, wasmvisorWithInput } from "../support/cli.js";
import { type DemoPage, GUESTS, demoTitle, hasChromium, openDemo } from "../support/demo-page.js";
import { KERNEL_BASE, kernelElf } from "../support/images.js";
import { MAX_MEMORY_MIB } from "../../src/vmm/memory-size.js";

const HELP = "commands: help cpuid time mem stats disk exit";
const scratch = scratchFolder();
/**
 * What the page shows once the worker has done its part. The machine these tests share is loaded
 * by other work (up to 10x), and a restore compiles a core: give it time, not a second.
 */
const eventually = <T>(value: () => T | Promise<T>) => expect.poll(value, { timeout: 30_000, interval: 100 });

/** A sparse file of `mebibytes` MiB of zeros: the page must refuse it by its size, without reading it. */
function sparseFile(name: string, mebibytes: number): string {
  const path = scratch.path(name);
  writeFileSync(path, "");
  truncateSync(path, mebibytes * 2 ** 20);
  return path;
}

describe.skipIf(!hasChromium)(demoTitle("lab tools in Chromium: saved machines, the disk image, screenshots"), () => {
  let demo: DemoPage;
  let page: Page;

  beforeAll(async () => {
    demo = await openDemo();
    ({ page } = demo);
  }, 60_000);

  afterAll(() => demo?.close());

  const flatConsole = () => demo.flatConsole();
  const errorLine = () => page.locator("#error").innerText();
  const toolsError = () => page.locator("#tools-error").innerText();
  /** Reloads the page; its address links to the sample guest booted last, which boots again before anything else is done. */
  const reloadLinkedPage = async (guest: string) => {
    await page.reload();
    await eventually(() => demo.state()).toMatch(new RegExp(`^${guest}: (running|halted)`));
  };

  const bootShell = async () => {
    await demo.bootSample("shell");
    await eventually(flatConsole).toBe("wasmvisor shell: type helpwv>"); // this boot's console alone, not the last one's
  };
  /** Types on COM1 (the serial console) and waits until the shell has echoed it: the guest has it. */
  const typeToShell = async (text: string, echo = text) => {
    await page.click("#console");
    await page.keyboard.type(text);
    await eventually(flatConsole).toContain(echo);
  };
  /** Clicks `button` and saves the download it starts in the scratch folder: its name and bytes. */
  const download = async (button: string) => {
    const [file] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
    const path = scratch.path(file.suggestedFilename());
    await file.saveAs(path);
    return { name: file.suggestedFilename(), path, bytes: readFileSync(path) };
  };
  /** The shell with "he" typed and not yet ended, saved: the unfinished line is in guest RAM. */
  const saveShellMidLine = async () => {
    await bootShell();
    await typeToShell("he", "type helpwv> he");
    return download("#save-state");
  };

  it("saves the machine, and after the page is reloaded the restored shell finishes the line it was typed", async () => {
    const saved = await saveShellMidLine();
    expect(saved.name).toBe("shell.wvs");
    expect(saved.bytes.subarray(0, 8).toString("latin1")).toBe("WVSTATE\x1a");

    await reloadLinkedPage("shell");
    await page.setInputFiles("#state-file", saved.path);
    await eventually(() => demo.state()).toMatch(/^shell\.wvs: /);
    await typeToShell("lp\r", `lp${HELP}`);
    // It went on: no boot banner, and the line the saved shell had ("he") ran with the rest.
    expect(await flatConsole()).not.toContain("type help");
    expect([await errorLine(), await toolsError()]).toEqual(["", ""]);
  });

  it("saves the playground paused, with its disk image; after a reload, image and state loaded, it runs on from there", async () => {
    // Wide enough for an 80-column console: the ticker line, rewritten in place after a CR, then stays on one row.
    await page.setViewportSize({ width: 1920, height: 1000 });
    try {
      const CPUID = 10;
      await demo.bootSample("playground");
      await eventually(() => demo.exitCount(CPUID)).toBeGreaterThanOrEqual(2000); // 4 a tick: 500 ticks
      await page.click("#pause");
      await eventually(() => demo.state()).toContain("paused");
      const shown = await demo.exitCount(CPUID); // the last sample's: at most what the saved machine has
      // Paused, the state and the image are of one moment: the disk activity's sector written in
      // the last tick is read back and compared in the next, after the restore.
      const [saved, disk] = [await download("#save-state"), await download("#download-disk")];

      await reloadLinkedPage("playground");
      // The state first, then its image: the upload restarts the restored machine from the saved
      // moment with it. (Uploaded first, the image would be the linked boot's, which writes on it.)
      await page.setInputFiles("#state-file", saved.path);
      await eventually(() => demo.state()).toMatch(/^playground\.wvs: /);
      // Under a name of its own, so that the status line shows when the worker has it (after the restart).
      await page.setInputFiles("#disk-file", scratch.file("playground.img", disk.bytes));
      await eventually(() => page.locator("#disk-status").innerText()).toMatch(/^playground\.img: 4 MiB, 8,192 sectors/);
      // The exit counts are part of the machine: the first sample goes on from the saved ones (a
      // new boot would start from 0), and they grow as it runs on.
      await eventually(() => demo.exitCount(CPUID)).toBeGreaterThan(0);
      expect(await demo.exitCount(CPUID)).toBeGreaterThanOrEqual(shown);
      await eventually(() => demo.exitCount(CPUID)).toBeGreaterThanOrEqual(shown + 120);
      // The COM1 ticker's error count ("tick N, errors E", every tick) and the line of counts' ("err E",
      // every 100 ticks, which 30 ticks after the restore may not have reached): every sector the
      // disk activity read back was as written.
      // The ticker is rewritten in place byte by byte, so one look at the console can catch it half
      // drawn ("tick 1817, erro"): look until a count is on screen, and judge that look's counts.
      let errors: number[] = [];
      await eventually(async () => (errors = [...(await flatConsole()).matchAll(/err(?:ors)? +(\d+)/g)].map((match) => Number(match[1]))).length).toBeGreaterThan(0);
      expect(errors.every((count) => count === 0)).toBe(true);
    } finally {
      await page.setViewportSize({ width: 1280, height: 1000 });
    }
  });

  it("clears the console for the restored machine even while the last one's flood of output is still being drawn", async () => {
    const saved = await saveShellMidLine();
    // COM1 flooded with X: 64 KiB a burst, more than the terminal draws in the time.
    const flood = kernelElf(assemble("mov $0x3f8, %dx\nmov $0x58, %al\n1: out %al, %dx\njmp 1b", KERNEL_BASE + 12));
    await page.setInputFiles("#kernel-file", { name: "flood.elf", mimeType: "application/octet-stream", buffer: Buffer.from(flood) });
    await eventually(flatConsole).toContain("X".repeat(200));
    await page.setInputFiles("#state-file", saved.path);
    await eventually(() => demo.state()).toMatch(/^shell\.wvs: /);
    await typeToShell("lp\r", `lp${HELP}`);
    expect(await flatConsole()).toMatch(new RegExp(`^lp${HELP}`));
  });

  it("restores a machine saved in the page in the CLI, with the page's disk image", async () => {
    const saved = await saveShellMidLine();
    const disk = await download("#download-disk");
    const run = await wasmvisorWithInput("lp\nexit 7\n", "run", "--restore-state", saved.path, "--disk", disk.path);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(7);
    expect(run.stdout.replace(/\r/g, "")).toBe(`lp\n${HELP}\n  disk read ata|pv LBA, disk write ata|pv LBA TEXT, exit [status]\nwv> exit 7\n`);
  });

  it("restores a machine the CLI saved, under the controls it was saved with, and keeps its boot-time ones", async () => {
    const state = scratch.path("cli.wvs");
    const first = await wasmvisorWithInput("he", "run", join(GUESTS, "shell.elf"), "--if-mode", "trap", "--cpuid-vendor", "kvm", "--cr3-targets", "2", "--save-state", state);
    expect(first.stdout.replace(/\r/g, "")).toBe("wasmvisor shell: type help\nwv> he");

    await page.setInputFiles("#state-file", state);
    await eventually(() => demo.state()).toMatch(/^cli\.wvs: /);
    expect(await page.inputValue("#if-mode")).toBe("trap");
    expect(await page.inputValue("#cpuid-vendor")).toBe("kvm");
    expect(await page.inputValue("#cr3-targets")).toBe("2");
    expect(await page.isChecked("#io-console")).toBe(true); // the CLI intercepts every port
    await typeToShell("lp\r", `lp${HELP}`);
    await typeToShell("cpuid\r", "vendor: GenuineIntel, hypervisor: KVMKVMKVM");

    // The CPUID vendor is fixed when a machine is made: a restored one refuses the change and says so.
    await page.selectOption("#cpuid-vendor", "vmware");
    await eventually(errorLine).toBe("a restored machine keeps the CPU, the CPUID vendor and the classic or bt IF mode it was saved with: boot a guest to change them");
    await eventually(() => page.inputValue("#cpuid-vendor")).toBe("kvm");
    await typeToShell("cpuid\r", "cpuidvendor: GenuineIntel, hypervisor: KVMKVMKVMwv> cpuidvendor: GenuineIntel, hypervisor: KVMKVMKVM");
  });

  it("gives the guest an uploaded disk image, and the download holds what the guest wrote", async () => {
    const image = new Uint8Array(64 * 1024);
    for (let i = 0; i < image.length; i++) image[i] = (i * 7 + 3) & 0x7f; // no sector reads as blank
    image.set(new TextEncoder().encode("FROM THE HOST"), 3 * 512);
    const upload = scratch.file("upload.img", image);

    await bootShell();
    await page.setInputFiles("#disk-file", upload);
    await eventually(() => page.locator("#disk-status").innerText()).toMatch(/^upload\.img: 65,536 bytes, 128 sectors/);
    await eventually(flatConsole).toMatch(/^wasmvisor shell: type helpwv>$/); // the guest restarted with the disk
    await typeToShell("disk read ata 3\r", "wv> disk read ata 3FROM THE HOST");
    await typeToShell("disk write pv 5 written by the guest\r", "written by the guestwritten");

    const downloaded = await download("#download-disk");
    expect(downloaded.name).toBe("upload.img");
    const expected = image.slice();
    expected.fill(0, 5 * 512, 6 * 512);
    expected.set(new TextEncoder().encode("written by the guest"), 5 * 512);
    expect(downloaded.bytes.length).toBe(image.length);
    expect(Buffer.compare(downloaded.bytes, Buffer.from(expected))).toBe(0);
  });

  it("refuses a disk image smaller than a sector or larger than the page holds, with a line in the page", async () => {
    await page.setInputFiles("#disk-file", scratch.file("tiny.img", new Uint8Array(100)));
    await eventually(toolsError).toBe("tiny.img is 100 bytes: a disk image holds at least one 512-byte sector");
    await page.setInputFiles("#disk-file", sparseFile("huge.img", 300));
    await eventually(toolsError).toBe("huge.img is 300 MiB: the page takes disk images of up to 256 MiB");
  });

  it("takes a screenshot: the canvas's 720x400 pixels, in each cell's first 8 columns the CLI's --screenshot of the same machine", async () => {
    await bootShell();
    await typeToShell("help\r", `wv> help${HELP}`);
    await eventually(() => demo.state()).toContain("halted"); // the screen it halted with has been sent
    const [saved, disk, shot] = [await download("#save-state"), await download("#download-disk"), await download("#screenshot")];
    expect(shot.name).toBe("shell.png");
    const cliShot = scratch.path("cli.png");
    const run = await wasmvisor("run", "--restore-state", saved.path, "--disk", disk.path, "--screenshot", cliShot);
    expect([run.status, run.stderr.split("\n")[0]]).toEqual([3, "wasmvisor: guest halted (HLT) waiting for an interrupt, and no device can raise one: it can never wake"]); // the shell halts waiting for input that never comes

    const browser = PNG.sync.read(shot.bytes);
    const cli = PNG.sync.read(readFileSync(cliShot));
    expect([browser.width, browser.height, cli.width, cli.height]).toEqual([720, 400, 640, 400]);
    const pixel = (png: PNG, x: number, y: number) => png.data.readUInt32BE((y * png.width + x) * 4);
    // The cursor blinks in the page and is always drawn by the CLI: one cell may differ, in its
    // bottom scan lines only.
    const differing = new Set<number>();
    let textPixels = 0;
    for (let row = 0; row < 25; row++) {
      for (let column = 0; column < 80; column++) {
        for (let y = 0; y < 16; y++) {
          for (let x = 0; x < 8; x++) {
            const [b, c] = [pixel(browser, column * 9 + x, row * 16 + y), pixel(cli, column * 8 + x, row * 16 + y)];
            if (b !== c) {
              differing.add(row * 80 + column);
              expect(y, `cell ${row},${column} line ${y}`).toBeGreaterThanOrEqual(13);
            }
            if (b !== pixel(browser, 0, 399)) textPixels++;
          }
        }
      }
    }
    expect(differing.size).toBeLessThanOrEqual(1);
    expect(textPixels).toBeGreaterThan(2000); // the banner, the prompts and the help text
  });

  it("refuses a corrupt, truncated or foreign state file with one line, and the running guest goes on untouched", async () => {
    const saved = await saveShellMidLine();
    const corrupt = Buffer.from(saved.bytes);
    corrupt[corrupt.length >> 1] ^= 0x40;
    const cases: Array<[name: string, bytes: Uint8Array, message: RegExp]> = [
      ["corrupt.wvs", corrupt, /^corrupt\.wvs: corrupt state file: the checksum of its contents is 0x[0-9a-f]+, the header says 0x[0-9a-f]+$/],
      ["truncated.wvs", saved.bytes.subarray(0, saved.bytes.length - 1000), /^truncated\.wvs: truncated state file: the header promises \d+ bytes of state, the file has \d+$/],
      ["hello.elf", readFileSync(join(GUESTS, "hello.elf")), /^hello\.elf: not a wasmvisor state file \(no WVSTATE magic at its start\)$/],
    ];
    for (const [name, bytes, message] of cases) {
      await page.setInputFiles("#state-file", scratch.file(name, bytes));
      await eventually(toolsError).toMatch(message);
    }
    // A machine of the largest RAM (MAX_MEMORY_MIB) saves a file of up to that and a MiB; more is refused unread.
    await page.setInputFiles("#state-file", sparseFile("huge.wvs", MAX_MEMORY_MIB + 2));
    await eventually(toolsError).toBe(`huge.wvs is ${(MAX_MEMORY_MIB + 2).toLocaleString("en")} MiB: the page takes state files of up to ${(MAX_MEMORY_MIB + 1).toLocaleString("en")} MiB`);
    // Dropped on the drop zone, the same.
    const dropped = await page.evaluateHandle((text) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([text], "notes.txt"));
      return transfer;
    }, "not a machine");
    await page.dispatchEvent("#state-drop-zone", "drop", { dataTransfer: dropped });
    await eventually(toolsError).toBe("notes.txt: not a wasmvisor state file (no WVSTATE magic at its start)");

    expect(await demo.state()).toMatch(/^shell: /);
    await typeToShell("lp\r", `type helpwv> help${HELP}`);
  });
});
