// Issue 17's "every sample guest prints its expected output with the compiling tier on and off":
// each guest in guests/ runs under `wasmvisor run --jit off` (the interpreter alone) and
// `--jit on`, and the two must print the same bytes and end with the same status; where the guest
// has a golden copy from QEMU (or Bochs), the interpreter's output must be that copy too.
// conformance.test.ts holds the compiled runs to the golden copies. The clock is the virtual one
// (retired instructions), so timer-driven guests see their interrupts at the same instruction in
// both tiers: any difference is a tier that disagrees. --stats-json shows the switch works:
// nothing retires in compiled code with the tier off, and the long guests do most of their work
// there with it on.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { root, scratchFolder, startWasmvisor, wasmvisorWithInput, type CliResult } from "../support/cli";
import { SAMPLE_GUESTS as GUESTS, type SampleRun } from "../support/sample-guests";

const scratch = scratchFolder();
const TIMEOUT_MS = 240_000;

/** The compiled-code counts in a `--stats-json` file. */
const compiledCodeIn = (path: string) => (JSON.parse(readFileSync(path, "utf8")) as { compiledCode: { retired: number; compiledInstructions: number } }).compiledCode;

interface TierRun extends CliResult {
  retired: number;
  compiled: number;
}

async function runTier(name: string, sample: SampleRun, tier: "on" | "off"): Promise<TierRun> {
  const file = name.replace(/\W+/g, "-");
  const stats = scratch.path(`${file}-${tier}.json`);
  const disk = sample.diskSectors === undefined ? [] : ["--disk", scratch.file(`${file}-${tier}.img`, new Uint8Array(sample.diskSectors * 512))];
  const args = ["run", ...sample.args, ...disk, "--jit", tier, "--stats-json", stats];
  const result = sample.input === undefined ? await startWasmvisor(...args).done : await wasmvisorWithInput(sample.input, ...args);
  const compiledCode = compiledCodeIn(stats);
  return { ...result, retired: compiledCode.retired, compiled: compiledCode.compiledInstructions };
}

describe("every sample guest prints the same with the compiling tier on and off", () => {
  for (const [name, sample] of Object.entries(GUESTS)) {
    it(name, async () => {
      const [off, on] = await Promise.all([runTier(name, sample, "off"), runTier(name, sample, "on")]);
      expect(off.stderr.split("\n")[0], "the interpreter's run ended badly").not.toMatch(/^wasmvisor: (internal|core)/);
      expect(off.stdout.length, "no output").toBeGreaterThan(0);
      if (sample.golden !== undefined) {
        expect(off.stdout).toBe(readFileSync(`${root}/guests/${sample.golden}.expected`, "latin1"));
      }
      expect(on.stdout).toBe(off.stdout);
      expect(on.status).toBe(off.status);
      expect(on.retired, "the same instructions in both tiers").toBe(off.retired);
      expect(off.compiled).toBe(0);
      if (sample.compiledShare !== undefined) expect(on.compiled / on.retired).toBeGreaterThanOrEqual(sample.compiledShare);
    }, TIMEOUT_MS);
  }
});

describe("--jit is the host's choice, not the saved machine's", () => {
  it("a machine saved with the tier off continues compiled when restored with it on, and the other way round", async () => {
    for (const [saved, restored] of [["off", "on"], ["on", "off"]] as const) {
      const [state, before, after] = ["wvs", "before.json", "after.json"].map((ending) => scratch.path(`multitask-${saved}.${ending}`));
      const save = await startWasmvisor("run", "guests/multitask.elf", "--cmdline", "6 300", "--jit", saved, "--max-instructions", "1000000", "--save-state", state, "--stats-json", before).done;
      expect(save.status, save.stderr).toBe(3); // the budget ended it
      const restore = await startWasmvisor("run", "--restore-state", state, "--jit", restored, "--stats-json", after).done;
      expect(restore.status, restore.stderr).toBe(0);
      expect(restore.stdout).toContain("verification OK");
      // the counts run on from boot, through the saved machine
      const [first, second] = [compiledCodeIn(before), compiledCodeIn(after)];
      const compiledSince = second.compiledInstructions - first.compiledInstructions;
      if (restored === "off") expect(compiledSince).toBe(0);
      else expect(compiledSince).toBeGreaterThan((second.retired - first.retired) / 2);
    }
  }, TIMEOUT_MS);

  it("an unknown --jit value is bad input: one line, status 2", async () => {
    const result = await startWasmvisor("run", "guests/hello.elf", "--jit", "fast").done;
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^wasmvisor: option '--jit <mode>' argument 'fast' is invalid\. Allowed choices are on, off\.\n$/);
  });
});
