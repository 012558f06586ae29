// The nested rows of `wasmvisor bench` on the real guests: an L2 CPUID round trip through L1
// (guests/vmexit.elf as L2 under guests/nestvisor.elf) with VMCS shadowing on and off and through
// nestvisor's SVM backend on the AMD CPU, and L1's VMREAD and VMWRITE, each with shadowing on and off. Their times depend on the machine; what the labels promise does not: the
// L0 exits per iteration are counted, and must be what each row says it measures.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EXIT_BENCHMARKS, L1_GUEST, VMEXIT_GUEST } from "../../src/bench/exit-benchmarks.js";
import { formatL0Exits } from "../../src/bench/exit-report.js";
import { measureJobs, wasmvisorJobs, withL0Exits } from "../../src/bench/exit-runs.js";
import { testTimings, wallClock } from "../../src/bench/marker-timing.js";
import { root } from "../support/cli.js";

const read = (path: string) => readFileSync(`${root}/${path}`);
const nestedRows = EXIT_BENCHMARKS.filter((b) => b.setup.nested === "vmx" || b.setup.nested === "svm");

describe("the nested bench rows", () => {
  it("are wasmvisor's alone and count their L0 exits", () => {
    expect(nestedRows.map((b) => b.name)).toEqual(["l2-cpuid", "l2-cpuid/exit", "l2-cpuid/svm", "vmread", "vmread/exit", "vmwrite", "vmwrite/exit"]);
    for (const b of nestedRows) expect(b.peers || !b.countsL0Exits).toBe(false);
  });

  it("measure what their labels say: L0 exits per L2 CPUID 3 with shadowing (the reflected CPUID, L1's own CPUID, its VMRESUME), 7 without, 3 through SVM (the reflected CPUID, L1's CPUID, its VMRUN; its STGI completes in the core); a VMREAD or VMWRITE exits only without", async () => {
    const { jobs, unsupported } = await wasmvisorJobs(nestedRows, read(VMEXIT_GUEST), read("build/core.wasm"), wallClock, read(L1_GUEST));
    expect(unsupported.size).toBe(0);
    const results = await measureJobs(jobs, { iterations: 400, loopMs: 1, runs: 1 });
    const exits = Object.fromEntries(nestedRows.map((b) => [b.name, results.get(`wasmvisor ${b.name}`)!.l0Exits]));
    expect(exits).toEqual({ "l2-cpuid": 3, "l2-cpuid/exit": 7, "l2-cpuid/svm": 3, vmread: 0, "vmread/exit": 1, vmwrite: 0, "vmwrite/exit": 1 });
    const report = formatL0Exits(nestedRows.map((benchmark) => ({ benchmark, results: { wasmvisor: results.get(`wasmvisor ${benchmark.name}`)! }, skipped: {} })));
    expect(report.split("\n")[1]).toMatch(/^  l2-cpuid +3\.00  L2 CPUID round trip through L1, VMCS shadowing on$/);
  }, 300_000);

  it("the L2 rows are not run without the L1 guest, and say why", async () => {
    const { jobs, unsupported } = await wasmvisorJobs(nestedRows, read(VMEXIT_GUEST), read("build/core.wasm"), wallClock);
    expect([...unsupported.keys()].map((b) => b.name)).toEqual(["l2-cpuid", "l2-cpuid/exit", "l2-cpuid/svm"]);
    expect([...unsupported.values()][0]).toMatch(/no L1 guest/);
    expect(jobs.flatMap((j) => j.rows.map((b) => b.name))).toEqual(["vmread", "vmwrite", "vmread/exit", "vmwrite/exit"]);
  });
});

describe("L0 exits per iteration", () => {
  /** One test's lines as the vmexit guest prints them, each stamped with `stamps` (its three markers'), and its timings. */
  const oneTest = (iterations: number, stamps: [number, number, number]) => {
    const text = ["@1 cpuid", "@2 cpuid", "@3 cpuid", `cpuid: ${iterations} iterations, 5 ticks each, loop alone 1, difference 4`];
    const lines = text.map((line, i) => ({ text: line, at: stamps[i] ?? stamps[2] }));
    return withL0Exits(testTimings(text.map((line, i) => ({ text: line, at: i }))), lines).get("cpuid")!;
  };
  const report = (l0Exits: number) =>
    formatL0Exits([{ benchmark: nestedRows.find((b) => b.name === "vmread")!, results: { wasmvisor: { runs: [1], median: 1, spread: 0, iterations: 1, l0Exits } }, skipped: {} }]).split("\n")[1];

  it("are the loop's exits minus the base loop's, per iteration", () => {
    expect(oneTest(100, [1000, 1400, 1500]).l0Exits).toBe(3);
  });

  it("are 0, never negative, when time slices put more exits in the base loop than in the loop (the report printed -0.00)", () => {
    const timing = oneTest(1_000_000, [1000, 1002, 1005]);
    expect(timing.l0Exits).toBe(0);
    expect(Object.is(timing.l0Exits, -0)).toBe(false);
    expect(report(timing.l0Exits!)).toMatch(/^  vmread +0\.00  /);
  });
});
