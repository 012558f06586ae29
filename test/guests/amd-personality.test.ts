// The AMD personality from inside a guest (issue 19 item 1). guests/cpuprobe.elf prints the CPUID
// leaves, the AMD MSRs read and written, and what the SVM instructions do with EFER.SVME clear;
// wasmvisor must print guests/cpuprobe-amd.expected under --cpu amd and cpuprobe-intel.expected
// under --cpu intel, answering CPUID in the core or in the VMM alike. The values are this CPU's own
// (an integer-only family 10h), so no other CPU prints them; Bochs' AMD model (zambezi, where
// installed) must agree on what the APM fixes for every AMD CPU: zeroes past the highest leaves
// and #UD for each SVM instruction with SVME clear. (Bochs departs from the APM elsewhere: it
// has no VM_CR, and takes an unaligned VM_HSAVE_PA that the APM refuses with #GP; QEMU's phenom
// answers a leaf past the maximum as Intel does, so neither is compared there.) And the sample
// guests whose output QEMU's is the golden copy of print the same on the AMD CPU (QEMU -cpu phenom
// prints the same golden copies too: guests/qemu-run.sh with QEMU_CPU=phenom).

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BOCHS_TIMEOUT_MS, bochsSkipNote, haveBochs } from "../support/bochs.js";
import { root, startWasmvisor } from "../support/cli.js";

const golden = (name: string) => readFileSync(join(root, `guests/${name}.expected`), "utf8");
const TIMEOUT_MS = 180_000;

describe("guests/cpuprobe.elf: the processor each --cpu presents", () => {
  it.each([
    ["amd", []],
    ["amd", ["--trace", "exits"]], // an exit listener: every CPUID goes to the VMM, not the core
    ["intel", []],
  ] as const)("--cpu %s %j prints guests/cpuprobe-CPU.expected of that CPU", async (cpu, extra) => {
    const result = await startWasmvisor("run", "guests/cpuprobe.elf", "--cpu", cpu, ...extra).done;
    expect(result.stdout).toBe(golden(`cpuprobe-${cpu}`));
    expect(result.status).toBe(0);
  }, TIMEOUT_MS);

  it.skipIf(!haveBochs)(`Bochs' AMD model agrees on what the APM fixes${bochsSkipNote}`, () => {
    const bochs = spawnSync("sh", ["guests/bochs-run.sh", "guests/cpuprobe.elf"], {
      cwd: root, encoding: "utf8", timeout: BOCHS_TIMEOUT_MS, env: { ...process.env, BOCHS_CPU: "zambezi" },
    }).stdout;
    const fixed = (output: string) =>
      output.split("\n").filter((line) => /EFER\.SVME clear|^vendor: |^SVM /.test(line)).map((line) => line.replace(/, highest basic leaf.*/, ""));
    const zeroesPast = (output: string) => output.split("\n").filter((line) => line.startsWith("past the highest")).map((line) => line.endsWith(": 00000000 00000000 00000000 00000000"));
    const ours = golden("cpuprobe-amd");
    expect(fixed(bochs)).toEqual(fixed(ours));
    expect(fixed(ours)).toHaveLength(9);
    expect(zeroesPast(bochs)).toEqual([true, true]);
    expect(zeroesPast(ours)).toEqual([true, true]);
  }, BOCHS_TIMEOUT_MS);
});

describe("the sample guests run unchanged on the AMD CPU", () => {
  it.each(["hello", "cputest", "paging", "compute", "regloop", "realc", "codestore"])("guests/%s.elf --cpu amd prints its golden copy and exits with 0", async (guest) => {
    const result = await startWasmvisor("run", `guests/${guest}.elf`, "--cpu", "amd").done;
    expect(result.stdout).toBe(golden(guest));
    expect(result.status).toBe(0);
  }, TIMEOUT_MS);
});
