import { describe, expect, it } from "vitest";
import type { BenchRun } from "../../src/bench/bench.js";
import type { ExitCost } from "../../src/bench/exit-costs.js";
import { benchJson, formatExitCosts, formatRuns, formatSummaries, summarize } from "../../src/bench/report.js";

const run = (n: number, mips: number): BenchRun => ({
  guest: "regloop",
  run: n,
  instructions: mips * 1e6,
  runSeconds: 1,
  mips,
  bootMs: 10 + n,
  exits: 400,
  wasmMemoryMiB: 32.1,
  rssMiB: 80,
});

describe("benchmark report", () => {
  const runs = [run(1, 250), run(2, 320), run(3, 310)];
  const summary = summarize({ name: "regloop", path: "guests/regloop.elf", targetMips: 300 }, runs);

  it("judges the target on the median run, not the best", () => {
    expect(summary).toMatchObject({ runs: 3, medianMips: 310, bestMips: 320, targetMips: 300, meetsTarget: true, medianBootMs: 12 });
    expect(summarize({ name: "regloop", path: "", targetMips: 315 }, runs).meetsTarget).toBe(false);
  });

  it("prints one row per run and one per guest", () => {
    const table = formatRuns(runs).split("\n");
    expect(table[0]).toMatch(/^guest +run +instructions +run s +MIPS +boot ms +exits +wasm MiB +rss MiB$/);
    expect(table).toHaveLength(5);
    expect(table[3]).toMatch(/^regloop +2 +320000000 +1\.000 +320\.0 +12\.0 +400 +32\.1 +80$/);
    expect(formatSummaries([summary]).split("\n")[2]).toMatch(/^regloop +310\.0 +320\.0 +>= 300 +ok +12\.0$/);
  });

  const costs: ExitCost[] = [
    { name: "CPUID", reason: 10, targetNs: 50, runs: [48.2, 45.1, 60.3], medianNs: 48.2, meetsTarget: true },
    { name: "MOV to CR3", reason: 28, runs: [70, 72, 71], medianNs: 71, meetsTarget: undefined },
  ];

  it("prints the exit costs against their targets, and none where there is no target", () => {
    const table = formatExitCosts(costs).split("\n");
    expect(table[0]).toMatch(/^exit +median ns +runs \(ns per exit\) +target +$/);
    expect(table[2]).toMatch(/^CPUID +48\.2 +48\.2 45\.1 60\.3 +< 50 +ok$/);
    expect(table[3]).toMatch(/^MOV to CR3 +71\.0 +70\.0 72\.0 71\.0 +- +$/);
  });

  it("writes the same numbers as JSON", () => {
    const json = JSON.parse(benchJson(runs, [summary], costs));
    expect(json.runs).toHaveLength(3);
    expect(json.summaries[0].medianMips).toBe(310);
    expect(json.exitCosts[0]).toMatchObject({ name: "CPUID", medianNs: 48.2 });
    expect(json.machine.node).toBe(process.version);
  });
});
