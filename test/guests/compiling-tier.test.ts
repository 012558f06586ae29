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

const scratch = scratchFolder();
const TIMEOUT_MS = 240_000;

interface SampleRun {
  args: string[];
  /** The golden copy the output must equal (guests/NAME.expected), when these are its arguments. */
  golden?: string;
  /** COM1 input, piped. */
  input?: string;
  /** Each tier gets a fresh zeroed disk image of this many sectors. */
  diskSectors?: number;
  /** The share of retired instructions the compiled run must at least retire in compiled code. */
  compiledShare?: number;
}

const MODULES = ["--module", "guests/modules/first.txt some args", "--module", "guests/modules/second.bin"];

const GUESTS: Record<string, SampleRun> = {
  hello: { args: ["guests/hello.elf"], golden: "hello" },
  cputest: { args: ["guests/cputest.elf"], golden: "cputest" },
  paging: { args: ["guests/paging.elf"], golden: "paging" },
  "paging, every CR3 load exiting": { args: ["guests/paging.elf", "--cr3-targets", "0"], golden: "paging" },
  compute: { args: ["guests/compute.elf"], golden: "compute", compiledShare: 0.9 },
  regloop: { args: ["guests/regloop.elf", "--cmdline", "1000000"], compiledShare: 0.9 },
  realc: { args: ["guests/realc.elf", "--cmdline", "1"], golden: "realc", compiledShare: 0.9 },
  codestore: { args: ["guests/codestore.elf"], golden: "codestore" },
  modules: { args: ["guests/modules.elf", ...MODULES], golden: "modules" },
  vmxprobe: { args: ["guests/vmxprobe.elf", "--nested", "vmx"], golden: "vmxprobe" },
  vmxentry: { args: ["guests/vmxentry.elf", "--nested", "vmx"], golden: "vmxentry" },
  svmentry: { args: ["guests/svmentry.elf", "--cpu", "amd", "--nested", "svm"], golden: "svmentry" },
  "cpuprobe, amd": { args: ["guests/cpuprobe.elf", "--cpu", "amd"], golden: "cpuprobe-amd" },
  detect: { args: ["guests/detect.elf", "--cpuid-vendor", "hyperv"] },
  "ifmodes, vt": { args: ["guests/ifmodes.elf"] },
  "ifmodes, classic": { args: ["guests/ifmodes.elf", "--if-mode", "classic"] },
  "redpill, classic": { args: ["guests/redpill.elf", "--if-mode", "classic"] },
  ringcheck: { args: ["guests/ringcheck.elf"], golden: "ringcheck" },
  "ringcheck, classic": { args: ["guests/ringcheck.elf", "--if-mode", "classic"], golden: "ringcheck-classic" },
  vmexit: { args: ["guests/vmexit.elf", "--cmdline", "2000 all"] },
  exitloop: { args: ["guests/exitloop.elf", "--cmdline", "20000"] },
  "multitask, yield": { args: ["guests/multitask.elf", "--cmdline", "6 30"], compiledShare: 0.5 },
  "multitask, timer": { args: ["guests/multitask.elf", "--cmdline", "3 20 timer"] },
  vga: { args: ["guests/vga.elf", "--cmdline", "500"] },
  shell: { args: ["guests/shell.elf"], input: "help\ncpuid\ntime\nmem\nstats\nexit 0\n" },
  tour: { args: ["guests/tour.elf"], diskSectors: 2048 },
  diskbench: { args: ["guests/diskbench.elf"], diskSectors: 4096 },
  playground: { args: ["guests/playground.elf", "--max-instructions", "40000000"] },
};

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
