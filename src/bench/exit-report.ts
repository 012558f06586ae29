// How `wasmvisor bench` shows the exit benchmarks: one row per benchmark with each host's median
// and spread (±, half the range of the runs) and each peer's figure as a ratio to ours (peer / wasmvisor: 3.0x = the peer takes
// three times as long, or for MIPS runs three times as fast), the targets judged
// (reported, never asserted), a warning when the runs disagreed enough to say the machine was
// busy, and with --compare the change from a previous run's JSON.

import type { Measurement } from "./exit-runs.js";
import type { Host, HostStatus, RowResult } from "./exit-suite.js";
import type { ClockKind } from "./marker-timing.js";
import { table } from "./report.js";

/** A row's figures by host, under its name. */
export interface NamedResults {
  name: string;
  results: Partial<Record<Host, Measurement>>;
}

/** Above this spread (±15 %) a figure is called noisy. */
export const NOISY_SPREAD = 0.15;

export const HOST_TITLES: Record<Host, string> = { wasmvisor: "wasmvisor", qemu: "QEMU", v86: "v86" };

export interface PreviousRun {
  /** wasmvisor's median of each exit row, by name. */
  medians: Map<string, number>;
  /** wasmvisor's median ms of each real-C row, by rowName() ("realc fib", "compute"). */
  phaseMedians: Map<string, number>;
}

/** The --compare columns: the previous median and the change to ours, "+5%". */
export function changeCells(before: number | undefined, ours: Measurement | undefined, unit: string): [string, string] {
  return [before === undefined ? "-" : `${before.toFixed(1)} ${unit}`, before === undefined || !ours ? "" : `${ours.median >= before ? "+" : ""}${percent(ours.median / before - 1)}`];
}

/** The median with the spread of the runs: "94.4 ns ±5%". */
export function figure(m: Measurement | undefined, unit: string): string {
  if (m === undefined) return "skipped";
  const digits = Math.abs(m.median) >= 100 ? 0 : 1;
  return `${m.median.toFixed(digits)} ${unit} ±${percent(m.spread)}`;
}

/** peer / ours, unless ours is no clear positive figure (an operation that costs nothing). */
function ratio(peer: Measurement | undefined, ours: Measurement | undefined): string {
  if (peer === undefined || ours === undefined || !(ours.median > 0) || ours.spread >= 1) return "";
  const r = peer.median / ours.median;
  return `${Math.abs(r) >= 10 ? r.toFixed(0) : r.toFixed(2)}x`;
}

const percent = (fraction: number) => (fraction > 9.99 ? ">999%" : `${(fraction * 100).toFixed(0)}%`);

export function formatExitTable(rows: readonly RowResult[], hosts: readonly HostStatus[], previous?: PreviousRun): string {
  const peers = hosts.filter((h) => h.host !== "wasmvisor");
  const header = ["benchmark", "what one iteration does (wasmvisor)", "wasmvisor"];
  for (const peer of peers) header.push(HOST_TITLES[peer.host], "/ours");
  header.push("target");
  if (previous) header.push("before", "change");
  const lines = rows.map((row) => {
      const b = row.benchmark;
      const ours = row.results.wasmvisor;
      const cells = [b.name, b.what, figure(ours, b.unit)];
      for (const peer of peers) cells.push(figure(row.results[peer.host], b.unit), ratio(row.results[peer.host], ours));
      cells.push(b.targetNs === undefined ? "" : `< ${b.targetNs} ns${ours && ours.median >= b.targetNs ? " MISSED" : ""}`);
      if (previous) cells.push(...changeCells(previous.medians.get(b.name), ours, b.unit));
      return cells;
    });
  return table(header, lines, 2);
}

/**
 * The targets for a full run, reported with the figures, not asserted: each exit's absolute target
 * (the table's last column), the CR3 cliff and `more` (the real-C rows'). None of the exit targets is relative to a peer: QEMU and v86 emulate
 * CPUID and OUT inline and never exit, so their columns give scale, not a bar to clear.
 */
export function formatTargets(rows: readonly RowResult[], cliff: ReadonlyMap<number, Measurement>, more: readonly string[] = []): string {
  const judge = (ok: boolean | undefined) => (ok === undefined ? "not measured" : ok ? "met" : "missed");
  const ns = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(1)} ns`);
  const exits = rows.flatMap(({ benchmark, results }) => {
    if (benchmark.targetNs === undefined) return [];
    const ours = results.wasmvisor?.median;
    return [`  ${benchmark.what} under ${benchmark.targetNs} ns: ${ns(ours)}: ${judge(ours === undefined ? undefined : ours < benchmark.targetNs)}`];
  });
  const four = cliff.get(4)?.median;
  const five = cliff.get(5)?.median;
  return [
    "targets (reported, not asserted):",
    ...exits,
    `  CR3 cliff at the fifth address space: ${ns(four)} per switch with 4, ${ns(five)} with 5: ${judge(four === undefined || five === undefined ? undefined : five >= 2 * four)} (visible = at least twice)`,
    ...more,
    "  (QEMU and v86 emulate CPUID and OUT inline and never exit: their columns are for scale, not targets)",
  ].join("\n");
}

/**
 * The VM exits wasmvisor took per iteration of the rows that count them (nested VMX): for an L2
 * CPUID round trip, the L0 exits per L2 exit (each iteration is one L2 exit); for VMREAD and
 * VMWRITE, whether each exits. Empty when no such row ran.
 */
export function formatL0Exits(rows: readonly RowResult[]): string {
  const lines = rows.flatMap(({ benchmark, results }) => {
    const exits = results.wasmvisor?.l0Exits;
    if (!benchmark.countsL0Exits || exits === undefined) return [];
    return [`  ${benchmark.name.padEnd(14)} ${exits.toFixed(2).padStart(6)}  ${benchmark.what}`];
  });
  return lines.length === 0 ? "" : ["L0 exits (VM exits to wasmvisor) per iteration; for the l2-cpuid rows, L0 exits per L2 exit:", ...lines].join("\n");
}

/** Skipped and failed hosts, and skipped rows, with the reasons. */
export function formatSkipped(rows: readonly RowResult[], hosts: readonly HostStatus[]): string {
  const notes = hosts.flatMap((h) => [
    ...(h.skipped ? [`  ${HOST_TITLES[h.host]}: skipped: ${h.skipped}`] : []),
    ...(h.failed ? [`  ${HOST_TITLES[h.host]}: failed, its figures left out: ${h.failed}`] : []),
  ]);
  for (const row of rows) {
    for (const [host, reason] of Object.entries(row.skipped)) {
      const status = hosts.find((h) => h.host === host);
      if (!status?.skipped && !status?.failed) notes.push(`  ${row.benchmark.name} on ${HOST_TITLES[host as Host]}: skipped: ${reason}`);
    }
  }
  return notes.length > 0 ? `not run:\n${notes.join("\n")}` : "";
}

/** Figures whose runs disagreed by more than NOISY_SPREAD, or that were re-measured; `more`: other rows than the exits' (the real-C rows). */
export function noisyFigures(rows: readonly RowResult[], cliff: ReadonlyMap<number, Measurement>, more: readonly NamedResults[] = []): string[] {
  const named = [...rows.map((row) => ({ name: row.benchmark.name, results: row.results })), ...more];
  const exits = named.flatMap((row) =>
    Object.entries(row.results)
      .filter(([, m]) => m.spread > NOISY_SPREAD || m.remeasured)
      .map(([host, m]) => `${row.name} on ${HOST_TITLES[host as Host]}${m.remeasured ? " (measured twice as often: its first runs came out at or below zero)" : ""}`),
  );
  return [...exits, ...[...cliff].filter(([, m]) => m.spread > NOISY_SPREAD).map(([n]) => `CR3 cliff with ${n}`)];
}

export function noiseWarning(noisy: readonly string[], total: number, load: readonly number[], cpus: number, clock: ClockKind): string {
  if (noisy.length === 0) return "";
  const remedies = clock === "wall" ? "More --runs, --clock cpu (CPU time instead of wall time)" : "More --runs";
  return (
    `warning: ${noisy.length} of ${total} figures varied by more than ±${percent(NOISY_SPREAD)} between runs ` +
    `(load average ${load[0].toFixed(1)} on ${cpus} CPUs): the machine was busy. ${remedies} or a quiet machine give steadier figures. ` +
    `They are: ${noisy.join("; ")}.`
  );
}
