// Nesting in --stats, --stats-json and --trace exits (issue 18 item 6, and issue 19 item 5 for SVM):
// guests/nestvisor.elf runs a sample guest as L2 and prints its own count of L2's exits per reason,
// which it counts in L1 as each one is reflected to it. wasmvisor's count of exits reflected into
// L1 must be exactly that, reason by reason; exits of L2 that L0 keeps (its time slices) must not
// be among them; and every VM entry of L1's (VMLAUNCH, VMRESUME; VMRUN under SVM) ends in exactly
// one reflected exit, since nestvisor's L2 ends only by exiting. The trace shows the same exits
// with their level. All of it holds for both of nestvisor's backends: VMX on the Intel CPU, SVM on
// the AMD one.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXIT_PREEMPTION_TIMER, EXIT_SVM_VMRUN, EXIT_VMLAUNCH, EXIT_VMRESUME } from "../../assembly/vmcs-layout.js";
import type { ExitReasonStats, VmStatistics } from "../../src/vmm/exit-stats.js";
import { wasmvisor } from "../support/cli.js";
import type { Backend } from "../support/nestvisor-goldens.js";
import { nestvisorCounts, nestvisorSvmCodes } from "../support/nestvisor-report.js";
import { VMEXIT_CPUID } from "../../src/vmm/svm/svm-intercepts.js";

const scratch = mkdtempSync(join(tmpdir(), "wasmvisor-nested-levels-"));

const byReason = (list: ExitReasonStats[]) => new Map(list.map((e) => [e.reason, e.count]));
const sum = (list: ExitReasonStats[]) => list.reduce((total, e) => total + e.count, 0);

/** The CLI's options for nestvisor's `backend`: VMX on the (default) Intel CPU, SVM on the AMD one. */
const NESTING: Record<Backend, string[]> = { vmx: ["--nested", "vmx"], svm: ["--cpu", "amd", "--nested", "svm"] };
/** The exits of L1's that enter L2 under each backend. */
const ENTRIES: Record<Backend, number[]> = { vmx: [EXIT_VMLAUNCH, EXIT_VMRESUME], svm: [EXIT_SVM_VMRUN] };

/** What the reflected level counts: nestvisor's counts by the core's reason under VMX, by #VMEXIT code under SVM. */
const seenAtLevel = (stdout: string, backend: Backend) => (backend === "vmx" ? nestvisorCounts(stdout) : nestvisorSvmCodes(stdout));

async function nestvisorWithStats(backend: Backend, l2: string): Promise<{ stdout: string; stderr: string; stats: VmStatistics }> {
  const json = join(scratch, `${backend}-${l2.replace(/\W+/g, "-")}.json`);
  const result = await wasmvisor("run", "guests/nestvisor.elf", ...NESTING[backend], "--module", l2, "--stats", "--stats-json", json, "--timeout", "100");
  expect(result.status, result.stderr).toBe(0);
  return { stdout: result.stdout, stderr: result.stderr, stats: JSON.parse(readFileSync(json, "utf8")) as VmStatistics };
}

describe.each(["vmx", "svm"] as const)("--stats and --trace exits under nestvisor's %s backend", (backend) => {
  it("count as reflected into L1 exactly the exits nestvisor counts, reason by reason, and one per VM entry of L1's", async () => {
    const { stdout, stderr, stats } = await nestvisorWithStats(backend, "guests/exitloop.elf 1000");
    const seenByL1 = nestvisorCounts(stdout, backend);
    // CPUID, CR access, I/O; under SVM L2 owns its control registers: CPUID and I/O.
    expect(seenByL1.size).toBeGreaterThanOrEqual(backend === "vmx" ? 3 : 2);
    const levels = stats.levels!;
    expect(byReason(levels.reflected)).toEqual(seenAtLevel(stdout, backend));
    const l1 = byReason(levels.l1);
    expect(ENTRIES[backend].reduce((entries, reason) => entries + (l1.get(reason) ?? 0), 0)).toBe(sum(levels.reflected));
    // Every exit the core reported is at exactly one level (no interrupt was held for this L1).
    expect(sum(levels.l1) + sum(levels.l2) + sum(levels.reflected)).toBe(stats.totalExits);
    for (const reason of new Set([...l1.keys(), ...byReason(levels.l2).keys(), ...seenByL1.keys()])) {
      const atLevels = [byReason(levels.l1), byReason(levels.l2), seenByL1].map((counts) => counts.get(reason) ?? 0);
      expect(atLevels.reduce((a, b) => a + b), `reason ${reason}`).toBe(stats.exits.find((e) => e.reason === reason)!.count);
    }
    // Exit timing is on with --stats: each level's exits have their ns per exit.
    for (const entry of [...levels.l1, ...levels.reflected]) expect(entry.nsPerExit, `${entry.name}`).toBeGreaterThanOrEqual(0);
    // The text tables say the same counts.
    expect(stderr).toContain(`--- L1: ${sum(levels.l1)} exits of the guest hypervisor, handled by L0 ---`);
    expect(stderr).toContain(`--- L2->L1: ${sum(levels.reflected)} exits of L2 reflected into L1 (L1 asked for them) ---`);
    // L1's names for what it saw: the core's reasons under VMX (decimal, as the SDM), the APM's #VMEXIT codes under SVM (hex, as the APM).
    const cpuid = backend === "vmx" ? "10 +CPUID" : "0x72 +VMEXIT_CPUID";
    expect(levels.reflected.find((e) => e.name.endsWith("CPUID"))!.code).toBe(backend === "vmx" ? "10" : `0x${VMEXIT_CPUID.toString(16)}`);
    expect(stderr).toMatch(new RegExp(`^ +${cpuid} +${seenByL1.get(10)} `, "m"));
  }, 120_000);

  it("keep L0's own time slices of L2 at L2, never reflected: L1 counts none of them", async () => {
    const { stdout, stats } = await nestvisorWithStats(backend, "guests/regloop.elf");
    const levels = stats.levels!;
    const slices = byReason(levels.l2).get(EXIT_PREEMPTION_TIMER) ?? 0;
    expect(slices).toBeGreaterThan(0); // regloop computes for several of L0's slices
    expect(byReason(levels.reflected).has(EXIT_PREEMPTION_TIMER)).toBe(false);
    expect(byReason(levels.reflected)).toEqual(seenAtLevel(stdout, backend));
    expect(levels.l2.find((e) => e.reason === EXIT_PREEMPTION_TIMER)!.nsPerExit).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it("trace each exit with its level: L2->L1 lines are nestvisor's counts, and each is followed by L1's exits up to its next entry (VMRESUME, VMRUN), then L2 again", async () => {
    const result = await wasmvisor("run", "guests/nestvisor.elf", ...NESTING[backend], "--module", "guests/exitloop.elf 200", "--trace", "exits", "--timeout", "100");
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stderr.split("\n").filter((line) => line.startsWith("exit "));
    const parsed = lines.map((line) => {
      const match = /^exit +\d+  (L1|L2->L1|L2) +(.+?) +eip=/.exec(line);
      expect(match, line).not.toBeNull();
      return { level: match![1], name: match![2] };
    });
    const reflected = new Map<string, number>();
    for (const { level, name } of parsed) if (level === "L2->L1") reflected.set(name, (reflected.get(name) ?? 0) + 1);
    const names: Record<number, string> =
      backend === "vmx" ? { 10: "CPUID", 28: "control-register access", 30: "I/O instruction" } : { 10: "VMEXIT_CPUID", 30: "VMEXIT_IOIO" };
    expect(reflected).toEqual(new Map([...nestvisorCounts(result.stdout, backend)].map(([reason, count]) => [names[reason], count])));
    // Between two exits of L2, L1 runs: a reflected exit, L1's exits, and its VMRESUME (VMRUN) last.
    const entry = backend === "vmx" ? "VMRESUME" : "VMRUN";
    const levelsInOrder = parsed.map((p) => (p.level === "L1" ? (p.name === entry ? "R" : "1") : p.level === "L2" ? "2" : "r")).join("");
    const afterVmlaunch = levelsInOrder.slice(levelsInOrder.indexOf("r"));
    expect(afterVmlaunch).toMatch(/^(r1*R2*)*r1*$/);
  }, 120_000);
});

describe("--stats and --trace exits of nestvisor's VMX backend alone", () => {
  it("trace L1's VMREADs and VMWRITEs with the field named: after each reflected exit nestvisor first reads EXIT_REASON", async () => {
    const result = await wasmvisor("run", "guests/nestvisor.elf", "--nested", "vmx", "--vmcs-shadowing", "off", "--module", "guests/detect.elf", "--trace", "exits", "--timeout", "100");
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stderr.split("\n").filter((line) => line.startsWith("exit "));
    const vmx = lines.filter((line) => / L1 +VM(READ|WRITE) /.test(line));
    expect(vmx.length).toBeGreaterThan(0);
    for (const line of vmx) expect(line).toMatch(/ field E(AX|BX|CX|DX|SI|DI|BP) = 0x0000[0-9a-f]{4} \([A-Z0-9_]+\), /);
    lines.forEach((line, i) => {
      if (line.includes(" L2->L1 ")) expect(lines[i + 1]).toMatch(/ L1 +VMREAD .* field EAX = 0x00004402 \(EXIT_REASON\), EAX$/);
    });
  }, 120_000);

  it("print no level column and no level tables without nesting", async () => {
    const result = await wasmvisor("run", "guests/exitloop.elf", "--cmdline", "10", "--trace", "exits", "--stats");
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^exit +\d+  CPUID +eip=/m);
    expect(result.stderr).not.toMatch(/L2|--- L1/);
  });
});
