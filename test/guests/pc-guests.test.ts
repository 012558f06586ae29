// The PC devices from inside a guest: guests/vga, shell, tour and diskbench under `wasmvisor run`
// (dist/cli.js in a child process), with input piped in, typed at a pseudo-terminal (util-linux
// `script`), and a disk image file that must hold what the guest wrote however the run ended.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist/cli.js");
const scratch = mkdtempSync(join(tmpdir(), "wasmvisor-pc-"));
const TIMEOUT_MS = 120_000;

function wasmvisor(args: string[], input = "") {
  const result = spawnSync(process.execPath, [cli, "run", ...args], { cwd: root, input, encoding: "utf8", timeout: TIMEOUT_MS });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function disk(name: string, sectors: number): string {
  const path = join(scratch, name);
  writeFileSync(path, new Uint8Array(sectors * 512));
  return path;
}

const sector = (path: string, lba: number) => readFileSync(path).subarray(lba * 512, lba * 512 + 512);
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1").replace(/\0+$/, "");

function statsOf(args: string[]) {
  const path = join(scratch, `stats-${Math.random().toString(36).slice(2)}.json`);
  const run = wasmvisor([...args, "--stats-json", path]);
  const stats = JSON.parse(readFileSync(path, "utf8")) as { exits: { reason: number; count: number }[]; totalExits: number };
  return { run, count: (reason: number) => stats.exits.find((e) => e.reason === reason)?.count ?? 0, total: stats.totalExits };
}

describe("guests/vga", () => {
  it("draws and counts with the frame buffer in plain RAM: no exits for screen writes", () => {
    const { run, count } = statsOf(["guests/vga.elf", "--cmdline", "3000"]);
    expect(run.stdout).toBe("vga: drew the screen and counted to 3000 (xorshift 9a0c6e47)\n");
    expect(run.status).toBe(0);
    expect(count(48)).toBe(0);
  }, TIMEOUT_MS);

  it("with --vga-trap every character written exits (reason 48) and the output is the same", () => {
    const { run, count } = statsOf(["guests/vga.elf", "--cmdline", "3000", "--vga-trap"]);
    expect(run.stdout).toBe("vga: drew the screen and counted to 3000 (xorshift 9a0c6e47)\n");
    expect(count(48)).toBeGreaterThan(3000 * 10); // ten digits per counter update
  }, TIMEOUT_MS);

  it("--display-update dirty-log: one exit per page written between refreshes, the same output", () => {
    const { run, count } = statsOf(["guests/vga.elf", "--cmdline", "3000", "--display-update", "dirty-log", "--refresh-hz", "50"]);
    expect(run.stdout).toBe("vga: drew the screen and counted to 3000 (xorshift 9a0c6e47)\n");
    expect(count(48)).toBeGreaterThan(0);
    expect(count(48)).toBeLessThan(3000);
  }, TIMEOUT_MS);

  it.each([
    [["--display-update", "vsync"], /--display-update.*vsync.*Allowed choices are trap, refresh, dirty-log, pv/],
    [["--refresh-hz", "0"], /--refresh-hz.*expected refreshes per second, above 0 and at most 1000/],
    [["--vga-trap", "--display-update", "pv"], /--vga-trap is --display-update trap; it cannot go with --display-update pv/],
  ])("refuses %j in one line (status 2)", (args, message) => {
    const run = wasmvisor(["guests/vga.elf", ...args]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });

  it.each(["trap", "dirty-log", "pv"])("--screenshot under --display-update %s shows what that strategy brought to the screen", (strategy) => {
    const path = join(scratch, `frames-${strategy}.png`);
    expect(wasmvisor(["guests/frames.elf", "--cmdline", "20 small pv", "--display-update", strategy, "--screenshot", path]).status).toBe(0);
    const png = PNG.sync.read(readFileSync(path));
    const pixel = (x: number, y: number) => Array.from(png.data.subarray((y * 640 + x) * 4, (y * 640 + x) * 4 + 3));
    expect(pixel(36 * 8, 12 * 16)).toEqual([0x00, 0xaa, 0x00]); // the counter cells' green (a glyph's blank top row)
    expect(pixel(4, 100)).toEqual([0x00, 0x00, 0xaa]); // the static blue screen
  }, TIMEOUT_MS);

  it("--screenshot saves the final screen as a 640x400 PNG in the VGA palette", () => {
    const path = join(scratch, "vga.png");
    expect(wasmvisor(["guests/vga.elf", "--cmdline", "10", "--screenshot", path]).status).toBe(0);
    const png = PNG.sync.read(readFileSync(path));
    expect([png.width, png.height]).toEqual([640, 400]);
    const pixel = (x: number, y: number) => Array.from(png.data.subarray((y * 640 + x) * 4, (y * 640 + x) * 4 + 3));
    expect(pixel(0, 0)).toEqual([0xaa, 0xaa, 0xaa]); // the grey title bar
    expect(pixel(0, 100)).toEqual([0x00, 0x00, 0xaa]); // blue background
  }, TIMEOUT_MS);

  it("--display vga draws the screen in the terminal with its text and colours", () => {
    const { status, stdout } = wasmvisor(["guests/vga.elf", "--cmdline", "500", "--display", "vga"]);
    expect(status).toBe(0);
    expect(stdout).toContain("wasmvisor VGA text mode: 80x25, 16 colours, code page 437");
    expect(stdout).toContain("0000000500");
    expect(stdout).toContain("\x1b[38;2;255;255;255;48;2;0;0;170m"); // white on blue
    expect(stdout).toContain("╔═"); // code page 437's box drawing as Unicode
  }, TIMEOUT_MS);
});

describe("guests/shell", () => {
  const session = ["cpuid", "time", "mem", "bogus", "exit 7"].join("\n") + "\n";

  it("reads commands piped into COM1 and answers on COM1", () => {
    const { status, stdout } = wasmvisor(["guests/shell.elf"], session);
    expect(stdout).toContain("wv> cpuid\nvendor: GenuineIntel, hypervisor: wasmvisor\n");
    expect(stdout).toContain("wv> time\n2024-01-01 00:00:00 (CMOS clock)\n");
    expect(stdout).toContain("multiboot: lower 640 KiB, upper 31744 KiB\ncmos: base 640 KiB, extended 31744 KiB\n");
    expect(stdout).toContain("bogus: unknown command (try help)\n");
    expect(status).toBe(7);
  }, TIMEOUT_MS);

  it("writes a sector through one block device, reads it through the other, and the image keeps it", () => {
    const image = disk("shell.img", 64);
    const commands = ["disk write ata 3 through-ata", "disk read pv 3", "disk write pv 5 through-pv", "disk read ata 5", "exit 0"];
    const { status, stdout, stderr } = wasmvisor(["guests/shell.elf", "--disk", image], commands.join("\n") + "\n");
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(stdout).toContain("wv> disk read pv 3\nthrough-ata....");
    expect(stdout).toContain("wv> disk read ata 5\nthrough-pv....");
    expect(text(sector(image, 3))).toBe("through-ata");
    expect(text(sector(image, 5))).toBe("through-pv");
  }, TIMEOUT_MS);

  it("refuses writes to a --disk-readonly image and leaves the file alone", () => {
    const image = disk("readonly.img", 64);
    const { stdout } = wasmvisor(["guests/shell.elf", "--disk", image, "--disk-readonly"], "disk write ata 1 no\ndisk write pv 1 no\nexit 0\n");
    expect(stdout.match(/disk: the device reported an error/g)).toHaveLength(2);
    expect(text(sector(image, 1))).toBe("");
  }, TIMEOUT_MS);

  it("takes piped input as key presses on the PS/2 keyboard with --display vga", () => {
    const { status, stdout } = wasmvisor(["guests/shell.elf", "--display", "vga"], "cpuid\nexit 3\n");
    expect(status).toBe(3);
    expect(stdout).toContain("vendor: GenuineIntel, hypervisor: wasmvisor");
  }, TIMEOUT_MS);

  it("ends with 'halted' once piped input is used up and the guest waits for more", () => {
    const { status, stderr } = wasmvisor(["guests/shell.elf"], "help\n");
    expect(status).toBe(3);
    expect(stderr).toContain("guest halted (HLT) waiting for an interrupt");
  }, TIMEOUT_MS);

  it("is cleanly ended by SIGTERM, with what it wrote to the disk image already there", async () => {
    const image = disk("signal.img", 64);
    const child = spawn(process.execPath, [cli, "run", "guests/shell.elf", "--disk", image], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.write("disk write ata 2 before-the-signal\n"); // stdin stays open: the guest waits for more
    await until(() => stdout.includes("written\nwv> "));
    child.kill("SIGTERM");
    const status = await new Promise((resolve) => child.on("exit", (code) => resolve(code)));
    expect(status).toBe(143);
    expect(stderr).toContain("wasmvisor: stopped by SIGTERM");
    expect(text(sector(image, 2))).toBe("before-the-signal");
  }, TIMEOUT_MS);
});

describe("guests/shell at a terminal (pseudo-terminal from `script`)", () => {
  const haveScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;
  const note = haveScript ? "" : " [skipped: util-linux script is not installed]";

  /** Runs the shell on a pty, typing each of `keys` once the output so far contains `after`. */
  async function typed(steps: [after: string, keys: string][], extra: string[] = []) {
    const command = [process.execPath, cli, "run", "guests/shell.elf", ...extra].map((a) => `'${a}'`).join(" ");
    // The terminal's mode after the run is printed too, and script exits with wasmvisor's status.
    const child = spawn("script", ["-qfec", `${command}; status=$?; stty -a; exit $status`, "/dev/null"], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    for (const [after, keys] of steps) {
      await until(() => out.includes(after));
      child.stdin.write(keys);
    }
    const status = await new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    return { status, out };
  }

  it.skipIf(!haveScript)(`gets every key at once in raw mode, echoes through the guest, and exits with its status${note}`, async () => {
    const { status, out } = await typed([
      ["wv> ", "cp"],
      ["cp", "uid\r"], // nothing reaches the guest line by line: it sees 'c', 'p' before Enter
      ["hypervisor: wasmvisor", "exit 4\r"],
    ]);
    expect(out).toContain("wv> cpuid\r\nvendor: GenuineIntel, hypervisor: wasmvisor");
    expect(status).toBe(4);
    expect(out).toMatch(/\bicanon\b/); // the terminal is back in its own mode afterwards
    expect(out).toMatch(/[^-]echo\b/);
  }, TIMEOUT_MS);

  it.skipIf(!haveScript)(`passes Ctrl-C to the guest and quits on Ctrl-A x with status 130${note}`, async () => {
    const { status, out } = await typed([["wv> ", "\x03help\r"], ["commands:", "\x01x"]]);
    expect(out).toContain("wv> help");
    expect(out).toContain("wasmvisor: stopped by Ctrl-A x");
    expect(status).toBe(130);
  }, TIMEOUT_MS);
});

describe("bad disk images", () => {
  it("a missing --disk image is bad input: one line on stderr, status 2, before the guest runs", () => {
    const { status, stdout, stderr } = wasmvisor(["guests/tour.elf", "--disk", join(scratch, "missing.img")]);
    expect(status).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(`wasmvisor: cannot open disk image ${join(scratch, "missing.img")}: no such file\n`);
  });
});

describe("guests/tour and guests/diskbench", () => {
  it("tour greets, names the hypervisor, takes timer ticks, switches address spaces, reads a disk and ends", () => {
    const image = disk("tour.img", 128);
    writeFileSync(image, Buffer.from("tour-disk-sector-zero"), { flag: "r+" });
    const { status, stdout } = wasmvisor(["guests/tour.elf", "--disk", image]);
    expect(status).toBe(0);
    expect(stdout).toContain('CPU vendor GenuineIntel, hypervisor "wasmvisor"');
    expect(stdout).toContain("25 ticks of the PIT at 100 Hz");
    expect(stdout).toContain("CR3 loads that exited: 999 of 1000 among 5 spaces, 3 of 600 among 3");
    expect(stdout).toContain("sector 0 by PIO: 746f75722d646973\n");
    expect(stdout).toContain("the same sector through the paravirtual ring: 746f75722d646973\n");
    expect(stdout.split("\n").every((line) => line.length <= 80)).toBe(true); // fits the VGA screen
    expect(stdout).toContain("the CMOS clock says 2024-01-01 00:00:00");
  }, TIMEOUT_MS);

  it("diskbench moves the same megabyte through all three paths, intact, with the exits each costs", () => {
    const image = disk("bench.img", 2048);
    const { status, stdout } = wasmvisor(["guests/diskbench.elf", "--disk", image, "--clock", "real"]);
    expect(stdout).toContain("diskbench: all data read back intact");
    expect(status).toBe(0);
    const perKiB = (path: string, op: string) => Number(new RegExp(`${path} +${op} +1024 KiB +\\d+ exits +([\\d.]+) exits/KiB`).exec(stdout)?.[1]);
    expect(perKiB("ATA, IN/OUT per word", "write")).toBeGreaterThan(512); // 256 words per 512 bytes
    expect(perKiB("ATA, IN/OUT per word", "read")).toBeGreaterThan(512);
    expect(perKiB("ATA, REP INSW/OUTSW", "read")).toBeLessThan(16);
    expect(perKiB("paravirtual ring", "read")).toBeLessThan(0.1);
    expect(perKiB("paravirtual ring", "write")).toBeLessThan(0.1);
  }, TIMEOUT_MS);
});

async function until(condition: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error("timed out waiting for the guest");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
