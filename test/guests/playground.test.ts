// guests/playground under `wasmvisor run` (dist/cli.js in a child process) for a fixed number of
// instructions, on the virtual clock, so every count is the same on every run: it never ends by
// itself, causes each kind of exit it promises, and keys piped into COM1 change what it does. Under
// QEMU, when it is installed, its first lines are the same.

import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { root, scratchFolder } from "../support/cli.js";

const TIMEOUT_MS = 120_000;
/** About 118 ticks (each is 250,000 instructions of work and the activities): one line of counts, at tick 100. */
const INSTRUCTIONS = 30_000_000;
const scratch = scratchFolder();
const QEMU = "/usr/bin/qemu-system-i386";

const REASON = { cpuid: 10, hlt: 12, cr3: 28, io: 30, writeTrap: 48, cli: 0x100, sti: 0x101 };

/**
 * The playground for `instructions` with `keys` typed on COM1: its output (lines split at \r too)
 * and exit counts. The keys come from a file, which the CLI reads at its first slice: a pipe from
 * here would be a socket, read between 50 ms run chunks, so the keys would arrive after a number
 * of ticks that depends on the machine's load.
 */
function playground(args: string[] = [], keys = "", instructions = INSTRUCTIONS) {
  const id = Math.random().toString(36).slice(2);
  const json = scratch.path(`stats-${id}.json`);
  const stdin = openSync(scratch.file(`keys-${id}`, Buffer.from(keys, "latin1")), "r");
  const run = spawnSync(process.execPath, ["dist/cli.js", "run", "guests/playground.elf", "--max-instructions", String(instructions), "--stats-json", json, ...args], {
    cwd: root,
    stdio: [stdin, "pipe", "pipe"],
    encoding: "latin1",
    timeout: TIMEOUT_MS,
  });
  closeSync(stdin);
  const stats = JSON.parse(readFileSync(json, "utf8")) as { exits: { reason: number; count: number }[] };
  const lines = run.stdout.split(/[\r\n]+/).map((line) => line.trimEnd());
  const counts = lines.filter((line) => /^tick \d+ cpuid/.test(line));
  return {
    status: run.status,
    stderr: run.stderr,
    lines,
    /** The last line of counts: tick, cpuid, cr3, disk, vga, cli, err. */
    last: Object.fromEntries([...counts.at(-1)!.matchAll(/(\w+) (\d+)/g)].map(([, name, value]) => [name, Number(value)])),
    exits: (reason: number) => stats.exits.find((e) => e.reason === reason)?.count ?? 0,
  };
}

function blankDisk(name: string): string {
  return scratch.file(name, new Uint8Array(4 << 20));
}

describe("guests/playground", () => {
  it("runs until stopped, with every activity going and each kind of exit it names", () => {
    const image = blankDisk("playground.img");
    const run = playground(["--disk", image]);
    expect(run.stderr).toContain("instruction budget exhausted"); // it never ends by itself
    expect(run.lines.slice(0, 4)).toEqual([
      "wasmvisor playground: a guest that never ends; keys change what it does.",
      "keys (COM1 or the keyboard): c CPUID, o COM1 output, p address spaces, d disk,",
      "  v VGA writes, i CLI/STI, h HLT or spin, 1-5 address spaces, + - operations a tick",
      'disk: ATA "WASMVISOR ATA DISK", 4096 KiB',
    ]);
    const { tick, cpuid, cr3, disk, vga, cli, err } = run.last;
    expect(tick).toBe(100);
    // Four operations a tick of each, one disk sector a tick, four VGA cells per operation.
    expect({ cpuid, cr3, disk, vga, cli, err }).toEqual({ cpuid: 400, cr3: 400, disk: 100, vga: 1600, cli: 400, err: 0 });
    expect(run.exits(REASON.cpuid)).toBeGreaterThanOrEqual(4 * tick);
    expect(run.exits(REASON.hlt)).toBeGreaterThanOrEqual(tick); // one a tick, waiting for the next
    // COM1: a status read and a data write per ticker byte (4 a tick); the disk: a dozen or so per sector.
    expect(run.exits(REASON.io)).toBeGreaterThan(8 * tick + 5 * tick);
    // Four address spaces fit the four CR3 targets: only the first load of each (and paging's setup) exits.
    expect(run.exits(REASON.cr3)).toBeLessThan(10);
    // Under the default VMCS controls CLI/STI and VGA writes do not exit.
    expect(run.exits(REASON.cli) + run.exits(REASON.sti) + run.exits(REASON.writeTrap)).toBe(0);
    // The disk activity wrote its stamped sectors (then read them back and compared: err 0).
    const sector1 = readFileSync(image).subarray(512, 1024);
    expect(sector1.readUInt32LE(4) - sector1.readUInt32LE(0)).toBe(1);
  }, TIMEOUT_MS);

  it("exits where the VMCS controls say: CLI/STI under IF mode trap, every VGA write under the write trap, CR3 loads past the targets", () => {
    const run = playground(["--if-mode", "trap", "--vga-trap", "--cr3-targets", "3"]);
    const { tick, cr3, vga } = run.last;
    expect(run.exits(REASON.cli)).toBeGreaterThanOrEqual(4 * tick);
    expect(run.exits(REASON.sti)).toBeGreaterThanOrEqual(4 * tick);
    expect(run.exits(REASON.writeTrap)).toBeGreaterThanOrEqual(vga);
    // Four address spaces round-robin against three targets: under LRU every switch misses.
    expect(run.exits(REASON.cr3)).toBeGreaterThanOrEqual(cr3);
  }, TIMEOUT_MS);

  it("takes keys on COM1: 5 address spaces make every switch exit, c stops CPUID, h spins instead of halting, + doubles the operations", () => {
    // Spinning, a tick is 1,000,000 instructions (10 ms of virtual time at 10 ns each).
    const run = playground([], "5ch+", 110_000_000);
    expect(run.lines).toEqual(expect.arrayContaining(["address spaces: 5", "CPUID: off", "HLT till tick: off", "operations per tick: 8"]));
    const { tick, cpuid, cr3, cli } = run.last;
    expect(cpuid).toBe(0); // the keys are read before the first tick
    expect(run.exits(REASON.cpuid)).toBeLessThan(20);
    expect(run.exits(REASON.cr3)).toBeGreaterThanOrEqual(cr3 - 8); // 5 spaces, 4 targets: all miss
    expect(run.exits(REASON.hlt)).toBeLessThan(3);
    expect(cli).toBe(8 * tick); // 8 a tick from the first
  }, TIMEOUT_MS);

  it("without a disk the disk activity stays off, and the d key says why", () => {
    const run = playground([], "d");
    expect(run.lines).toContain("disk: none attached, so no disk sectors");
    expect(run.lines).toContain("disk sectors: no disk attached");
    expect(run.last.err).toBe(0);
  }, TIMEOUT_MS);

  it.skipIf(!existsSync(QEMU))("prints the same first lines under QEMU", () => {
    const qemu = spawnSync("sh", ["guests/qemu-run.sh", "guests/playground.elf"], { cwd: root, encoding: "latin1", env: { ...process.env, QEMU_TIMEOUT: "4" } });
    const wasmvisor = playground();
    const head = (stdout: string[]) => stdout.slice(0, 5);
    const qemuLines = qemu.stdout.split(/[\r\n]+/).map((line) => line.trimEnd());
    expect(head(qemuLines)).toEqual(head(wasmvisor.lines));
    expect(qemuLines[4]).toBe("tick 1, errors 0"); // the ticker's first line
  }, TIMEOUT_MS);
});
