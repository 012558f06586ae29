// Issue 20's "every sample guest runs under bt with the same output as under vt": each sample guest
// (test/support/sample-guests.ts, but those run for classic's flaws) runs under `--if-mode vt` and
// `--if-mode bt`, and the two must print the same bytes, end with the same status and retire the
// same instructions, with the guest kernel's code translated (--stats-json). One line of cputest
// differs, by design: its user code (CPL 3) runs SGDT, SMSW, STR and SLDT untranslated, as under
// VMware, and so reads the VMM's values, as Red Pill (a user program) did.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { scratchFolder, startWasmvisor, wasmvisorWithInput, type CliResult } from "../support/cli";
import { SAMPLE_GUESTS, type SampleRun } from "../support/sample-guests";
import type { TranslationStatistics } from "../../src/vmm/bt/translation-stats";

const scratch = scratchFolder();
const TIMEOUT_MS = 240_000;

interface TechniqueRun extends CliResult {
  retired: number;
  translation?: TranslationStatistics;
}

async function runUnder(name: string, sample: SampleRun, technique: "vt" | "bt"): Promise<TechniqueRun> {
  const file = name.replace(/\W+/g, "-");
  const stats = scratch.path(`${file}-${technique}.json`);
  const disk = sample.diskSectors === undefined ? [] : ["--disk", scratch.file(`${file}-${technique}.img`, new Uint8Array(sample.diskSectors * 512))];
  const args = ["run", ...sample.args, ...disk, "--if-mode", technique, "--clock", "virtual", "--stats-json", stats];
  const result = sample.input === undefined ? await startWasmvisor(...args).done : await wasmvisorWithInput(sample.input, ...args);
  const json = JSON.parse(readFileSync(stats, "utf8")) as { compiledCode: { retired: number }; translation?: TranslationStatistics };
  return { ...result, retired: json.compiledCode.retired, translation: json.translation };
}

// cputest's user-mode reads of the system registers: the VMM's GDT limit, TR and LDTR under bt.
const USER_STATE_READS = "ring3 sgdt/smsw/str/sldt: eax=";

describe("every sample guest prints the same under bt as under vt", () => {
  const samples = Object.entries(SAMPLE_GUESTS).filter(([, sample]) => !sample.args.includes("--if-mode"));
  for (const [name, sample] of samples) {
    it(name, async () => {
      const [vt, bt] = await Promise.all([runUnder(name, sample, "vt"), runUnder(name, sample, "bt")]);
      expect(vt.stdout.length, "no output").toBeGreaterThan(0);
      expect(bt.status).toBe(vt.status);
      expect(vt.translation, "no translation statistics under vt").toBeUndefined();
      expect(bt.translation!.blocks, "the kernel's code was translated").toBeGreaterThan(0);
      if (name !== "cputest") {
        expect(bt.stdout).toBe(vt.stdout);
        expect(bt.retired, "the same instructions under both").toBe(vt.retired);
        return;
      }
      const [vtLines, btLines] = [vt.stdout, bt.stdout].map((out) => out.split("\n"));
      const differing = vtLines.flatMap((line, i) => (line === btLines[i] ? [] : [i]));
      expect(btLines.length).toBe(vtLines.length);
      expect(differing.map((i) => vtLines[i].slice(0, USER_STATE_READS.length))).toEqual([USER_STATE_READS]);
      expect(btLines[differing[0]]).toBe(`${USER_STATE_READS}0000000b ebx=00000ff8 ecx=00000ff0 edx=00009b98 esi=00000fff`);
    }, TIMEOUT_MS);
  }
});
