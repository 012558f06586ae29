// Guest conformance: the guest kernels in guests/ must print, under wasmvisor, exactly what they
// print under QEMU, whose output is committed as guests/<name>.expected. cputest is a couple of
// thousand IA-32 instruction cases masked to SDM-defined behaviour, so the first line that
// differs names the instruction that is wrong; paging does the same for 32-bit paging (faults,
// error codes, TLB invalidation, A/D bits) through the shadow MMU. When qemu-system-i386 is
// installed the golden copies are also re-checked against QEMU itself (guests/qemu-run.sh), so
// they cannot go stale.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist/cli.js");
const TIMEOUT_MS = 120_000;

function expected(guest: string): string {
  return readFileSync(join(root, "guests", `${guest}.expected`), "utf8");
}

/** Undefined when equal; otherwise where the two outputs part, showing one line of each. */
function firstDifference(actual: string, golden: string): string | undefined {
  if (actual === golden) return undefined;
  const a = actual.split("\n");
  const g = golden.split("\n");
  for (let i = 0; i < Math.max(a.length, g.length); i++) {
    if (a[i] !== g[i]) {
      const show = (line: string | undefined) => (line === undefined ? "<end of output>" : JSON.stringify(line));
      return `output differs from the golden copy at line ${i + 1}:\n  expected: ${show(g[i])}\n  actual:   ${show(a[i])}`;
    }
  }
  return "output differs from the golden copy"; // not reached: equal line arrays mean equal strings
}

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", timeout: TIMEOUT_MS, maxBuffer: 64 << 20 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectGolden(guest: string, actual: { status: number | null; stdout: string; stderr: string }, status: number) {
  const diff = firstDifference(actual.stdout, expected(guest));
  if (diff !== undefined) {
    const stderr = actual.stderr.trim() === "" ? "" : `\n  stderr: ${actual.stderr.trim().split("\n").slice(0, 5).join("\n          ")}`;
    assert.fail(`guests/${guest}.expected: ${diff}\n  exit status: ${actual.status}${stderr}`);
  }
  expect(actual.status, `exit status of ${guest}`).toBe(status);
}

describe("guests under wasmvisor match QEMU's golden output", () => {
  for (const guest of ["hello", "cputest", "paging", "ringcheck"]) {
    it(`guests/${guest}.elf prints guests/${guest}.expected and exits with 0`, () => {
      if (!existsSync(cli)) assert.fail("dist/cli.js is missing: build it first (npm run build)");
      expectGolden(guest, run(process.execPath, [cli, "run", `guests/${guest}.elf`, "--mem", "32"]), 0);
    }, TIMEOUT_MS);
  }

  // paging's CR3 loads go through the VMM when no CR3-target slot matches: with no slots at all,
  // every MOV to CR3 exits and the VMM completes it, which must make changed entries visible
  // just the same.
  it("guests/paging.elf prints guests/paging.expected with --cr3-targets 0 (every CR3 load exits)", () => {
    if (!existsSync(cli)) assert.fail("dist/cli.js is missing: build it first (npm run build)");
    expectGolden("paging", run(process.execPath, [cli, "run", "guests/paging.elf", "--mem", "32", "--cr3-targets", "0"]), 0);
  }, TIMEOUT_MS);

  it("guests/modules.elf lists the --module files as QEMU's -initrd passes them", () => {
    if (!existsSync(cli)) assert.fail("dist/cli.js is missing: build it first (npm run build)");
    const modules = MODULES.split(",").flatMap((module) => ["--module", module]);
    expectGolden("modules", run(process.execPath, [cli, "run", "guests/modules.elf", "--mem", "32", ...modules]), 0);
  }, TIMEOUT_MS);
});

/** The modules guests/modules.expected was made with, in QEMU's -initrd form. */
const MODULES = "guests/modules/first.txt some args,guests/modules/second.bin";

const haveQemu = spawnSync("qemu-system-i386", ["--version"], { encoding: "utf8" }).status === 0;
const skipNote = haveQemu ? "" : " [skipped: qemu-system-i386 is not on PATH]";

describe("the golden copies are still what QEMU prints", () => {
  // QEMU's isa-debug-exit turns the guest's exit code 0 into status (0 << 1) | 1 = 1.
  for (const guest of ["hello", "cputest", "paging", "compute", "regloop", "realc", "ringcheck"]) {
    it.skipIf(!haveQemu)(`qemu-system-i386 -kernel guests/${guest}.elf prints guests/${guest}.expected${skipNote}`, () => {
      expectGolden(guest, run("sh", ["guests/qemu-run.sh", `guests/${guest}.elf`]), 1);
    }, TIMEOUT_MS);
  }

  it.skipIf(!haveQemu)(`qemu-system-i386 -kernel guests/modules.elf -initrd ... prints guests/modules.expected${skipNote}`, () => {
    const result = spawnSync("sh", ["guests/qemu-run.sh", "guests/modules.elf"], {
      cwd: root, encoding: "utf8", timeout: TIMEOUT_MS, env: { ...process.env, QEMU_INITRD: MODULES },
    });
    expectGolden("modules", { status: result.status, stdout: result.stdout, stderr: result.stderr }, 1);
  }, TIMEOUT_MS);
});
