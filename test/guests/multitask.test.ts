// guests/multitask.elf under wasmvisor: N = 1..8 ring-3 processes in their own address spaces,
// switched by a yield system call, must verify their private memory, and the CR-access exits in
// `--stats-json` must follow the CR3-target rule (docs/design.md, "Paging"): with the VMM's four
// CR3-target slots, N <= 4 exits only for each directory's first load, N >= 5 once per switch
// (LRU refill on a round-robin cycle always evicts the next one due). The same guest prints the
// same lines under QEMU (checked when qemu-system-i386 is installed), and in timer mode it
// switches on IRQ 0 of the PIT (needs the core's interrupt-window exits, see below).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, assert, describe, expect, it } from "vitest";
import { EXIT_CR_ACCESS } from "../../assembly/vmcs-layout.js";
import { coreHasInterruptWindowExits } from "../support/tiny-guest.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist/cli.js");
const TIMEOUT_MS = 120_000;
const ROUNDS = 50;
const windowExits = await coreHasInterruptWindowExits();
const scratch = mkdtempSync(join(tmpdir(), "wasmvisor-multitask-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", timeout: TIMEOUT_MS });
  if (result.error) throw result.error;
  return result;
}

/** What multitask prints for a yield-mode run that went right. */
function expectedOutput(n: number, rounds: number, light = false): string {
  const lines = [`multitask: ${n} processes, ${rounds} rounds each, yield${light ? ", light" : ""}`];
  for (let pid = 0; pid < n; pid++) lines.push(`process ${pid}: ${rounds} rounds, 0 wrong dwords seen, frames ok`);
  lines.push(`multitask: ${n * rounds + n - 1} switches`, "multitask: verification OK", "");
  return lines.join("\n");
}

describe("multitask under wasmvisor: N = 1..8 address spaces and the CR3-target rule", () => {
  for (let n = 1; n <= 8; n++) {
    it(`${n} process${n > 1 ? "es" : ""}: memory verified; CR3-load exits ${n <= 4 ? `only the first ${n}` : "on every switch"}`, () => {
      if (!existsSync(cli)) assert.fail("dist/cli.js is missing: build it first (npm run build)");
      const json = join(scratch, `stats-${n}.json`);
      const result = run(process.execPath, [cli, "run", "guests/multitask.elf", "--cmdline", `${n} ${ROUNDS}`, "--stats-json", json]);
      expect(result.stdout).toBe(expectedOutput(n, ROUNDS));
      expect(result.status, result.stderr).toBe(0);

      const stats = JSON.parse(readFileSync(json, "utf8")) as { exits: { reason: number; count: number }[] };
      const crAccess = stats.exits.find((e) => e.reason === EXIT_CR_ACCESS)?.count ?? 0;
      const switches = n * ROUNDS + n - 1;
      // Besides the CR3 loads, one CR-access exit: the CR0 write that turns paging on (CR0.PG is
      // a bit the VMM owns). The first CR3 load, before paging, misses too (slots start at 0).
      const cr3Exits = crAccess - 1;
      if (n <= 4) expect(cr3Exits).toBe(n);
      else expect(cr3Exits).toBe(switches + 1);
    }, TIMEOUT_MS);
  }

  it("light mode (the benchmark's) verifies and switches the same way", () => {
    const result = run(process.execPath, [cli, "run", "guests/multitask.elf", "--cmdline", "6 30 light"]);
    expect(result.stdout).toBe(expectedOutput(6, 30, true));
    expect(result.status).toBe(0);
  }, TIMEOUT_MS);

  it("with --cr3-targets 0 every CR3 load exits, and the processes still see only their own memory", () => {
    const json = join(scratch, "stats-no-targets.json");
    const result = run(process.execPath, [cli, "run", "guests/multitask.elf", "--cmdline", "3 40", "--cr3-targets", "0", "--stats-json", json]);
    expect(result.stdout).toBe(expectedOutput(3, 40));
    const stats = JSON.parse(readFileSync(json, "utf8")) as { exits: { reason: number; count: number }[] };
    expect(stats.exits.find((e) => e.reason === EXIT_CR_ACCESS)?.count).toBe(3 * 40 + 2 + 1 + 1);
  }, TIMEOUT_MS);

  // Timer mode needs the PIT's IRQ 0 delivered whenever the guest enables interrupts again. The
  // VMM waits for that with interrupt-window exiting, which the core does not implement yet
  // (test/vmm/controls.test.ts skips the same way): an IRQ that becomes pending while the kernel
  // runs with IF = 0 (after its EOI) is never injected and the guest spins for ever.
  it.skipIf(!windowExits)("timer mode: IRQ 0 of the PIT switches the processes", () => {
    const result = run(process.execPath, [cli, "run", "guests/multitask.elf", "--cmdline", "3 20 timer", "--timeout", "60"]);
    expect(result.stdout).toContain("multitask: timer switches >= 60\nmultitask: verification OK\n");
    expect(result.status).toBe(0);
  }, TIMEOUT_MS);
});

const haveQemu = spawnSync("qemu-system-i386", ["--version"], { encoding: "utf8" }).status === 0;
const skipNote = haveQemu ? "" : " [skipped: qemu-system-i386 is not on PATH]";

describe("multitask prints the same under QEMU", () => {
  // isa-debug-exit: the guest's exit code 0 is QEMU's status 1.
  it.skipIf(!haveQemu).each(["1 20", "4 20", "5 20", "8 10", "5 30 light"])(`--cmdline "%s" prints what wasmvisor prints${skipNote}`, (cmdline) => {
    const qemu = run("sh", ["guests/qemu-run.sh", "guests/multitask.elf", cmdline]);
    const ours = run(process.execPath, [cli, "run", "guests/multitask.elf", "--cmdline", cmdline]);
    expect(qemu.stdout).toBe(ours.stdout);
    expect(qemu.stdout).toContain("multitask: verification OK\n");
    expect(qemu.status).toBe(1);
  }, TIMEOUT_MS);

  it.skipIf(!haveQemu)(`timer mode verifies under QEMU's PIT and PIC${skipNote}`, () => {
    const qemu = run("sh", ["guests/qemu-run.sh", "guests/multitask.elf", "3 20 timer"]);
    expect(qemu.stdout).toContain("multitask: timer switches >= 60\nmultitask: verification OK\n");
    expect(qemu.status).toBe(1);
  }, TIMEOUT_MS);
});
