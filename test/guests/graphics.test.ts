// The graphics hardware against QEMU's -vga std: guests/gfxprobe.elf prints the PCI configuration
// space, BAR sizing, the dispi registers after absurd modes and the DAC after garbage, and must
// print under wasmvisor exactly what it prints under QEMU with the same 2 MiB of video memory
// (guests/gfxprobe.expected, re-checked against QEMU itself when it is installed); and
// guests/gfxpicture.elf's static pictures, one per mode, must look the same on both screens:
// wasmvisor's --screenshot against QEMU's monitor screendump, every pixel and its colour.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PNG } from "pngjs";
import { halfBlockRows } from "../../src/display/half-blocks.js";
import { assert, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist/cli.js");
const TIMEOUT_MS = 120_000;
const haveQemu = spawnSync("qemu-system-i386", ["--version"], { encoding: "utf8" }).status === 0;
const skipNote = haveQemu ? "" : " [skipped: qemu-system-i386 is not on PATH]";

function run(command: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", timeout: TIMEOUT_MS, maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  if (result.error) throw result.error;
  return result;
}

const golden = () => readFileSync(join(root, "guests/gfxprobe.expected"), "utf8");

describe("guests/gfxprobe.elf: PCI, dispi and DAC as QEMU's std-VGA answers", () => {
  it("prints guests/gfxprobe.expected under wasmvisor", () => {
    if (!existsSync(cli)) assert.fail("dist/cli.js is missing: build it first (npm run build)");
    const result = run(process.execPath, [cli, "run", "guests/gfxprobe.elf", "--mem", "32"]);
    expect(result.stdout).toBe(golden());
    expect(result.status).toBe(0);
  }, TIMEOUT_MS);

  it.skipIf(!haveQemu)(`prints guests/gfxprobe.expected under qemu-system-i386 -vga std -global VGA.vgamem_mb=2${skipNote}`, () => {
    const result = run("sh", ["guests/qemu-run.sh", "guests/gfxprobe.elf"], { QEMU_VGAMEM_MB: "2" });
    expect(result.stdout).toBe(golden());
    expect(result.status).toBe(1); // isa-debug-exit: (0 << 1) | 1
  }, TIMEOUT_MS);
});

// ---- The static test pictures, pixel for pixel against QEMU's screen ----------------------------

/**
 * The modes guests/gfxpicture.elf draws in: mode 13h and the dispi modes with the LFB at BAR 0;
 * "13h wrap": a CRTC start address that runs the frame past the 64 KiB window into video memory.
 */
const PICTURES = ["13h", "13h wrap", "640 480 8", "640 480 24", "640 480 32", "800 600 8", "800 600 24", "800 600 32"];

interface Picture {
  width: number;
  height: number;
  /** RGB, 3 bytes a pixel. */
  rgb: Uint8Array;
}

/** wasmvisor's --screenshot of the picture, as RGB. */
function wasmvisorPicture(args: string, dir: string): Picture {
  const file = join(dir, "wasmvisor.png");
  const result = run(process.execPath, [cli, "run", "guests/gfxpicture.elf", "--mem", "32", "--cmdline", args, "--screenshot", file]);
  expect(result.stdout).toMatch(/^picture drawn: /);
  expect(result.status, result.stderr).toBe(0);
  const png = PNG.sync.read(readFileSync(file));
  const rgb = new Uint8Array(png.width * png.height * 3);
  let translucent = 0;
  for (let i = 0; i < png.width * png.height; i++) {
    rgb.set(png.data.subarray(i * 4, i * 4 + 3), i * 3);
    if (png.data[i * 4 + 3] !== 255) translucent++;
  }
  expect(translucent, "pixels that are not opaque").toBe(0);
  return { width: png.width, height: png.height, rgb };
}

/** A binary PPM (P6, maxval 255), as QEMU's screendump writes it. */
function readPpm(bytes: Buffer): Picture {
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(bytes.subarray(0, 64).toString("latin1"));
  if (!header) throw new Error("QEMU's screendump is not a binary PPM with maxval 255");
  const [width, height] = [Number(header[1]), Number(header[2])];
  return { width, height, rgb: new Uint8Array(bytes.subarray(header[0].length, header[0].length + width * height * 3)) };
}

/**
 * Boots the picture under qemu-system-i386 -vga std, waits for the guest to say it is drawn (it
 * then halts, "hold"), saves the screen with the monitor's screendump and quits.
 */
async function qemuPicture(args: string, dir: string): Promise<Picture> {
  const socket = join(dir, "monitor.sock");
  const file = join(dir, "qemu.ppm");
  const qemu = spawn("qemu-system-i386", [
    "-kernel", "guests/gfxpicture.elf", "-append", `${args} hold`, "-m", "32", "-vga", "std", "-display", "none",
    "-serial", "stdio", "-monitor", `unix:${socket},server=on,wait=off`, "-no-reboot",
  ], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  try {
    let serial = "";
    await new Promise<void>((resolve, reject) => {
      qemu.stdout.on("data", (chunk: Buffer) => {
        serial += chunk.toString("latin1");
        if (serial.includes("picture drawn")) resolve();
      });
      qemu.on("exit", (code) => reject(new Error(`QEMU exited (${code}) before the picture was drawn: ${JSON.stringify(serial)}`)));
    });
    const monitor = createConnection(socket);
    let replies = "";
    const prompt = (count: number) =>
      new Promise<void>((resolve) => {
        const check = () => replies.split("(qemu)").length - 1 >= count && resolve();
        monitor.on("data", (chunk: Buffer) => {
          replies += chunk.toString("latin1");
          check();
        });
        check();
      });
    await prompt(1);
    monitor.write(`screendump ${file}\n`);
    await prompt(2); // the command has finished when the monitor prompts again
    monitor.on("error", () => {}); // QEMU quitting may reset the connection before it is closed
    monitor.end("quit\n");
    return readPpm(readFileSync(file));
  } finally {
    qemu.kill();
  }
}

describe("guests/gfxpicture.elf: wasmvisor's --screenshot is QEMU's screen, pixel for pixel, palette included", () => {
  for (const args of PICTURES) {
    it.skipIf(!haveQemu)(`${args.startsWith("13h") ? `mode ${args}` : `dispi ${args.replaceAll(" ", "x")} bpp`}${skipNote}`, async () => {
      if (!existsSync(cli)) assert.fail("dist/cli.js is missing: build it first (npm run build)");
      const dir = mkdtempSync(join(tmpdir(), "wasmvisor-picture-"));
      try {
        const ours = wasmvisorPicture(args, dir);
        const theirs = await qemuPicture(args, dir);
        // QEMU shows mode 13h as the monitor does, each pixel doubled both ways (640x400); dispi
        // modes as they are. Ours are at the guest's resolution.
        const scale = theirs.width / ours.width;
        expect([Number.isInteger(scale), theirs.height / ours.height]).toEqual([true, scale]);
        expect(scale).toBe(args.startsWith("13h") ? 2 : 1);
        let differing = 0;
        let first = "";
        for (let y = 0; y < theirs.height; y++) {
          for (let x = 0; x < theirs.width; x++) {
            const a = (y * theirs.width + x) * 3;
            const b = (Math.floor(y / scale) * ours.width + Math.floor(x / scale)) * 3;
            if (theirs.rgb[a] !== ours.rgb[b] || theirs.rgb[a + 1] !== ours.rgb[b + 1] || theirs.rgb[a + 2] !== ours.rgb[b + 2]) {
              if (differing++ === 0) first = `at QEMU's (${x}, ${y}): QEMU ${[...theirs.rgb.subarray(a, a + 3)]}, wasmvisor ${[...ours.rgb.subarray(b, b + 3)]}`;
            }
          }
        }
        expect(differing === 0 ? "" : `${differing} pixels differ, the first ${first}`).toBe("");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, TIMEOUT_MS);
  }
});

describe("--display vga in a graphics mode", () => {
  it("draws the final frame in half blocks scaled to the terminal: the same picture --screenshot saves", () => {
    if (!existsSync(cli)) assert.fail("dist/cli.js is missing: build it first (npm run build)");
    const dir = mkdtempSync(join(tmpdir(), "wasmvisor-display-"));
    try {
      const shot = join(dir, "screen.png");
      const result = run(process.execPath, [cli, "run", "guests/gfxpicture.elf", "--mem", "32", "--cmdline", "640 480 32", "--display", "vga", "--screenshot", shot]);
      expect(result.status, result.stderr).toBe(0);
      // Not a terminal: 80 columns and the screen's 25 rows, so 640x480 becomes 66 x 50 pixels.
      const drawn = new Map<number, string>();
      for (const m of result.stdout.matchAll(/\x1b\[(\d+);1H(\x1b\[0m.*?\x1b\[0m\x1b\[K)/g)) drawn.set(Number(m[1]), m[2]);
      const png = PNG.sync.read(readFileSync(shot));
      const expected = halfBlockRows(png.data, png.width, png.height, 80, 25);
      expect([...drawn.keys()].sort((a, b) => a - b)).toEqual(expected.map((_, i) => i + 1));
      expected.forEach((row, i) => expect(drawn.get(i + 1), `row ${i + 1}`).toBe(row));
      expect((expected[0].match(/▀/g) ?? []).length).toBe(66);
      expect(new Set(expected[0].match(/38;2;\d+;\d+;\d+/g)).size).toBeGreaterThan(8); // the grid's colours
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, TIMEOUT_MS);
});
