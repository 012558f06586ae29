// How the MIPS benchmark's results are shown: a table per run and a summary line per guest
// against its target (median MIPS, since one run can be disturbed by the machine); and the table
// layout and median that the exit benchmarks' report (exit-report.ts) shares.

import type { BenchGuest, BenchRun } from "./bench.js";

export interface BenchSummary {
  guest: string;
  runs: number;
  medianMips: number;
  bestMips: number;
  targetMips?: number;
  meetsTarget: boolean;
  medianBootMs: number;
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export function summarize(guest: BenchGuest, runs: BenchRun[]): BenchSummary {
  const medianMips = median(runs.map((r) => r.mips));
  return {
    guest: guest.name,
    runs: runs.length,
    medianMips,
    bestMips: Math.max(...runs.map((r) => r.mips)),
    targetMips: guest.targetMips,
    meetsTarget: guest.targetMips === undefined || medianMips >= guest.targetMips,
    medianBootMs: median(runs.map((r) => r.bootMs)),
  };
}

/** Columns padded to their widest cell: the first `leftColumns` left-aligned, the rest right-aligned. */
export function table(header: string[], rows: string[][], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function formatRuns(runs: BenchRun[]): string {
  return table(
    ["guest", "run", "instructions", "run s", "MIPS", "boot ms", "exits", "wasm MiB", "rss MiB"],
    runs.map((r) => [
      r.guest,
      String(r.run),
      String(r.instructions),
      r.runSeconds.toFixed(3),
      r.mips.toFixed(1),
      r.bootMs.toFixed(1),
      String(r.exits),
      r.wasmMemoryMiB.toFixed(1),
      r.rssMiB.toFixed(0),
    ]),
  );
}

export function formatSummaries(summaries: BenchSummary[]): string {
  return table(
    ["guest", "median MIPS", "best MIPS", "target", "", "boot ms"],
    summaries.map((s) => [
      s.guest,
      s.medianMips.toFixed(1),
      s.bestMips.toFixed(1),
      s.targetMips === undefined ? "-" : `>= ${s.targetMips}`,
      s.targetMips === undefined ? "" : s.meetsTarget ? "ok" : "BELOW",
      s.medianBootMs.toFixed(1),
    ]),
  );
}
