import { describe, expect, it } from "vitest";
import type { BenchRun } from "../../src/bench/bench.js";
import { formatRuns, formatSummaries, summarize, table } from "../../src/bench/report.js";

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
    const noTarget = summarize({ name: "vga --vga-trap", path: "" }, runs);
    expect(noTarget.meetsTarget).toBe(true);
    expect(formatSummaries([noTarget]).split("\n")[2]).toMatch(/^vga --vga-trap +310\.0 +320\.0 +- +12\.0$/);
  });

  it("prints one row per run and one per guest", () => {
    const table = formatRuns(runs).split("\n");
    expect(table[0]).toMatch(/^guest +run +instructions +run s +MIPS +boot ms +exits +wasm MiB +rss MiB$/);
    expect(table).toHaveLength(5);
    expect(table[3]).toMatch(/^regloop +2 +320000000 +1\.000 +320\.0 +12\.0 +400 +32\.1 +80$/);
    expect(formatSummaries([summary]).split("\n")[2]).toMatch(/^regloop +310\.0 +320\.0 +>= 300 +ok +12\.0$/);
  });

  it("lays tables out with the first columns left-aligned and no trailing spaces", () => {
    expect(table(["a", "what", "n"], [["x", "yy", "1"], ["xyz", "y", "22"]], 2).split("\n")).toEqual(["a    what   n", "---  ----  --", "x    yy     1", "xyz  y     22"]);
  });
});
