// The graphics hardware against QEMU's -vga std: guests/gfxprobe.elf prints the PCI configuration
// space, BAR sizing, the dispi registers after absurd modes and the DAC after garbage, and must
// print under wasmvisor exactly what it prints under QEMU with the same 2 MiB of video memory
// (guests/gfxprobe.expected, re-checked against QEMU itself when it is installed).

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
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
