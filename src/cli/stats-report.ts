// `--stats` and `--stats-json`: the VM's exit statistics after a run, as a table on stderr and as
// JSON for scripts. Per exit reason: count, host time charged to it and nanoseconds per exit
// (from each exit to the next: see src/vmm/exit-timer.ts), guest instructions between exits;
// then guest instructions retired and MIPS, and the share of them compiled code retired, with the
// forms the interpreter performed most where compiled code could have run; then, if the guest
// paged, the shadow MMU's counters. Under nesting, once L2 has exited, the exits again by level
// (src/vmm/exit-level.ts): L1's, L2's reflected into L1, and L2's L0 handled itself.

import { describeCompileTime } from "../core/core.js";
import type { CompiledCodeStatistics, ExitReasonStats, LevelStatistics, VmStatistics } from "../vmm/exit-stats.js";
import { MMU_STATISTIC_LABELS, pagingSeen } from "../vmm/mmu-stats.js";
import type { StopReason } from "../vmm/stop-reason.js";
import type { VmConfig } from "../vmm/vm-config.js";
import type { RewriteCount, TranslationStatistics } from "../vmm/bt/translation-stats.js";

const num = (value: number | undefined, digits: number) => (value === undefined ? "-" : value.toFixed(digits));

export function formatStats(stats: VmStatistics): string {
  return [
    `--- ${stats.totalExits} VM exits ---`,
    ...exitTable(stats.exits),
    ...(stats.levels ? formatLevels(stats.levels) : []),
    `${stats.instructions} instructions in ${stats.seconds.toFixed(3)} s: ${stats.mips.toFixed(1)} MIPS`,
    ...formatCompiledCode(stats.compiledCode),
    ...(stats.hostWorkYields > 0 ? [`host-work yields: ${stats.hostWorkYields} (entries ended early to look at the clock; not exits)`] : []),
    ...(pagingSeen(stats.mmu) ? formatMmu(stats) : []),
    ...(stats.translation ? formatTranslation(stats.translation) : []),
    "",
  ].join("\n");
}

/** The three levels' tables, each with its count and what happened to its exits. */
function formatLevels({ l1, l2, reflected }: LevelStatistics): string[] {
  const total = (list: ExitReasonStats[]) => list.reduce((sum, e) => sum + e.count, 0);
  const level = (title: string, list: ExitReasonStats[]) => [title.replace("{n}", String(total(list))), ...(list.length > 0 ? exitTable(list) : [])];
  return [
    ...level("--- L1: {n} exits of the guest hypervisor, handled by L0 ---", l1),
    ...level("--- L2->L1: {n} exits of L2 reflected into L1 (L1 asked for them) ---", reflected),
    ...level("--- L2: {n} exits of L2 handled by L0 (L1 did not ask for them; L2 resumed) ---", l2),
  ];
}

/** A table of exits by reason: count, host time, ns per exit and guest instructions between exits. */
function exitTable(exits: ExitReasonStats[]): string[] {
  const header = ["reason", "exit", "count", "total ms", "ns/exit", "instr/exit"];
  const rows = exits.map((e: ExitReasonStats) => [
    e.code,
    e.name,
    String(e.count),
    num(e.totalMs, 3),
    num(e.nsPerExit, 1),
    num(e.instructionsPerExit, 2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), ...rows.map(line)];
}

// The forms --stats lists (--stats-json has them all).
const FORMS_SHOWN = 8;

function formatCompiledCode({ retired, compiledInstructions, share, interpretedForms = [], compiling }: CompiledCodeStatistics): string[] {
  const total = interpretedForms.reduce((sum, f) => sum + f.count, 0);
  return [
    `compiled code: ${compiledInstructions} of ${retired} instructions retired since boot (${(share * 100).toFixed(1)} %)`,
    ...(compiling ? [`compiling tier: ${describeCompileTime(compiling)} (host wall time)`] : []),
    ...(total > 0 ? [`interpreted where compiled code could run: ${total}, most often:`] : []),
    ...interpretedForms.slice(0, FORMS_SHOWN).map((f) => `  ${String(f.count).padStart(12)}  ${f.form.padEnd(10)} ${f.name}`),
  ];
}

function formatTranslation({ blocks, bytes, invalidations, inline, callouts }: TranslationStatistics): string[] {
  const rows = (list: RewriteCount[]) => list.map((r) => `  ${String(r.count).padStart(12)}  ${r.name}`);
  return [
    "--- binary translation ---",
    `blocks translated: ${blocks} (${bytes} bytes); invalidated by guest writes: ${invalidations}`,
    "inline emulations (no exit):",
    ...rows(inline),
    "callouts to the VMM:",
    ...rows(callouts),
  ];
}

function formatMmu({ mmu }: VmStatistics): string[] {
  const width = Math.max(...MMU_STATISTIC_LABELS.map(([, label]) => label.length));
  return ["--- shadow MMU ---", ...MMU_STATISTIC_LABELS.map(([name, label]) => `${label.padEnd(width)}  ${mmu[name]}`)];
}

export function statsJson(stats: VmStatistics, config: Readonly<VmConfig>, stop: StopReason): string {
  return `${JSON.stringify({ config, stop, ...stats }, null, 2)}\n`;
}
