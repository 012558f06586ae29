// How `wasmvisor bench` shows Adams & Agesen's nanobenchmarks (exit-benchmarks.ts NANOBENCHMARKS):
// one line per nanobenchmark with wasmvisor's figure under each technique and its VM exits per
// iteration, the peers' figure once (they run the same guest code whatever wasmvisor's technique),
// and under bt what the translated code did instead of exiting: its inline emulations and callouts
// per iteration (loop minus base loop, as the exits).

import { NANOBENCHMARKS, TECHNIQUES, type ExitBenchmark } from "./exit-benchmarks.js";
import { HOST_TITLES, figure } from "./exit-report.js";
import type { HostStatus, RowResult } from "./exit-suite.js";
import { table } from "./report.js";

/** Whether a row is one of the nanobenchmarks' (shown by formatNanoTable, not in the exit table). */
export const isNano = (b: ExitBenchmark): boolean => b.nano !== undefined;

/** A count per iteration, to two decimals without trailing zeros: "1", "0.5", "2.01". */
const count = (n: number): string => String(Number(n.toFixed(2)));

/** The nanobenchmarks among `rows`, by name in the paper's order, with their rows by technique. */
function byNanobenchmark(rows: readonly RowResult[]): Array<{ name: string; what: string; rows: RowResult[] }> {
  return NANOBENCHMARKS.map(({ name, what }) => ({ name, what, rows: rows.filter((r) => r.benchmark.nano?.benchmark === name) })).filter((n) => n.rows.length > 0);
}

export function formatNanoTable(rows: readonly RowResult[], hosts: readonly HostStatus[]): string {
  const nanos = byNanobenchmark(rows);
  if (nanos.length === 0) return "";
  const peers = hosts.filter((h) => h.host !== "wasmvisor");
  const header = ["nanobenchmark", "one iteration", ...TECHNIQUES, ...peers.map((p) => HOST_TITLES[p.host])];
  const lines = nanos.map(({ name, what, rows: mine }) => {
    const cells = [name, what];
    for (const technique of TECHNIQUES) {
      const ours = mine.find((r) => r.benchmark.nano!.technique === technique)?.results.wasmvisor;
      const exits = ours?.l0Exits;
      cells.push(ours === undefined ? "-" : `${figure(ours, "ns")}${exits === undefined ? "" : ` (${count(exits)} ${count(exits) === "1" ? "exit" : "exits"})`}`);
    }
    for (const peer of peers) cells.push(figure(mine.map((r) => r.results[peer.host]).find((m) => m !== undefined), "ns"));
    return cells;
  });
  return table(header, lines, 2);
}

/** Under bt: each nanobenchmark's translation counts per iteration that are not 0 ("callout IRET 1"). */
export function formatTranslationCounts(rows: readonly RowResult[]): string {
  const lines = byNanobenchmark(rows).flatMap(({ name, rows: mine }) => {
    const counts = mine.find((r) => r.benchmark.nano!.technique === "bt")?.results.wasmvisor?.translation;
    if (counts === undefined) return [];
    const shown = Object.entries(counts).filter(([, n]) => Number(n.toFixed(2)) > 0).map(([counter, n]) => `${counter} ${count(n)}`);
    return [`  ${name.padEnd(9)} ${shown.length > 0 ? shown.join(", ") : "nothing (no translation, rewrite or invalidation)"}`];
  });
  return lines.length === 0 ? "" : ["Binary translation per iteration under bt (loop minus base loop; blocks and bytes: translations made):", ...lines].join("\n");
}
