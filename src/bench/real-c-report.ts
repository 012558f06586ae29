// How `wasmvisor bench` shows the real-C rows (real-c.ts): one row per phase of realc, its total,
// and compute.elf and regloop whole, with each host's median CPU (or wall) ms and spread, our time
// over each peer's (wasmvisor / QEMU: 2.0x = we take twice as long) and the share of the phase's
// instructions that compiled code retired, its compiling time and its time to peak speed; then the
// issue's targets for them, judged (reported, never asserted), and compiled code's share of each
// whole guest.

import { HOST_TITLES, changeCells, figure, type PreviousRun } from "./exit-report.js";
import type { Measurement } from "./exit-runs.js";
import type { HostStatus } from "./exit-suite.js";
import { describeCompileTime, type CompileTime } from "../core/core.js";
import type { GuestSummary, PhaseRow } from "./real-c.js";
import { table } from "./report.js";

/** Targets: realc in total at most this many times QEMU's time, no phase above PHASE_LIMIT. */
export const TOTAL_LIMIT = 1.25;
export const PHASE_LIMIT = 2;

/** ours / peer, when both have a positive figure. */
export function timeRatio(ours: Measurement | undefined, peer: Measurement | undefined): number | undefined {
  return ours !== undefined && peer !== undefined && ours.median > 0 && peer.median > 0 ? ours.median / peer.median : undefined;
}

const ratioText = (r: number | undefined) => (r === undefined ? "" : `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`);
const shareText = (share: number | undefined) => (share === undefined ? "" : `${(share * 100).toFixed(1)} %`);
/** "realc fib", or a whole guest's name. */
export const rowName = (row: PhaseRow): string => (row.guest === row.phase ? row.guest : `${row.guest} ${row.phase}`);

/** `previous`: --compare's run, for its before and change columns. */
export function formatPhaseTable(rows: readonly PhaseRow[], hosts: readonly HostStatus[], previous?: PreviousRun): string {
  const peers = hosts.filter((h) => h.host !== "wasmvisor");
  const header = ["phase", "what", "wasmvisor"];
  for (const peer of peers) header.push(HOST_TITLES[peer.host], `ours/${HOST_TITLES[peer.host]}`);
  header.push("instructions", "compiled", "compiling", "to peak");
  if (previous) header.push("before", "change");
  const lines = rows.map((row) => {
    const ours = row.results.wasmvisor;
    const cells = [rowName(row), row.what, figure(ours, "ms")];
    for (const peer of peers) cells.push(figure(row.results[peer.host], "ms"), ratioText(timeRatio(ours, row.results[peer.host])));
    cells.push(row.instructions === undefined ? "" : String(row.instructions), shareText(row.compiledShare), row.compilingMs === undefined ? "" : `${row.compilingMs.toFixed(1)} ms`,
      row.toPeakMs === undefined ? "" : `${row.toPeakMs.toFixed(1)} ms`);
    if (previous) cells.push(...changeCells(previous.phaseMedians.get(rowName(row)), ours, "ms"));
    return cells;
  });
  const failures = peers.filter((peer) => peer.failed).map((peer) => `  ${HOST_TITLES[peer.host]}: failed, its real-C figures left out: ${peer.failed}`);
  return [table(header, lines, 2), ...failures].join("\n");
}

/** The issue's targets for these rows, one line each, and compiled code's share per guest. */
export function realCTargetLines(rows: readonly PhaseRow[], guests: readonly GuestSummary[]): string[] {
  const judge = (ok: boolean | undefined) => (ok === undefined ? "not measured" : ok ? "met" : "missed");
  const vsQemu = (row: PhaseRow | undefined) => (row === undefined ? undefined : timeRatio(row.results.wasmvisor, row.results.qemu));
  const lines: string[] = [];
  const realc = rows.filter((r) => r.guest === "realc");
  if (realc.length > 0) {
    const total = vsQemu(realc.find((r) => r.phase === "total"));
    lines.push(`  real C (guests/realc.elf) in total at most ${TOTAL_LIMIT}x QEMU TCG's time: ${ratioText(total) || "-"}: ${judge(total === undefined ? undefined : total <= TOTAL_LIMIT)}`);
    const phases = realc.filter((r) => r.phase !== "total").map((r) => ({ name: r.phase, ratio: vsQemu(r) }));
    const measured = phases.filter((p) => p.ratio !== undefined);
    const above = measured.filter((p) => p.ratio! > PHASE_LIMIT).sort((a, b) => b.ratio! - a.ratio!);
    const list = above.length > 0 ? ` (${above.map((p) => `${p.name} ${ratioText(p.ratio)}`).join(", ")})` : "";
    lines.push(`  no real-C phase above ${PHASE_LIMIT}x QEMU: ${measured.length === 0 ? "-" : `${above.length} of ${measured.length} above${list}`}: ${judge(measured.length === 0 ? undefined : above.length === 0)}`);
  }
  for (const name of ["compute", "regloop"]) {
    const row = rows.find((r) => r.guest === name);
    if (row === undefined) continue;
    const r = vsQemu(row);
    lines.push(`  ${name === "compute" ? "compute.elf" : name} at or above QEMU's speed (time at most 1x QEMU's): ${ratioText(r) || "-"}: ${judge(r === undefined ? undefined : r <= 1)}`);
  }
  const shares = guests.filter((g) => g.compiledShare !== undefined).map((g) => `${g.guest} ${shareText(g.compiledShare)}`);
  if (shares.length > 0) lines.push(`  (retired instructions in compiled code, whole run with boot, wasmvisor: ${shares.join(", ")})`);
  for (const g of guests) if (g.compiles && g.runMs !== undefined) lines.push(`  (${compilingText(g.guest, g.compiles, g.runMs)})`);
  return lines;
}

/**
 * What the compiling tier cost in one guest's run: per block, its share of the run, and when its
 * last compile ended (a guest compiles its last new code then, which may be a hot loop or the
 * printing at its end: not the time to its peak speed).
 */
export function compilingText(guest: string, c: CompileTime, runMs: number): string {
  const share = runMs > 0 ? `, ${((c.ms / runMs) * 100).toFixed(1)} % of the run` : "";
  return `compiling tier, ${guest}: ${describeCompileTime(c)}${share}; ` +
    `the last compile over ${c.lastEndMs.toFixed(0)} ms into the ${runMs.toFixed(0)} ms run`;
}
