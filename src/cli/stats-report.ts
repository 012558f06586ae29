// `--stats` and `--stats-json`: the VM's exit statistics after a run, as a table on stderr and as
// JSON for scripts. Per exit reason: count, host time charged to it and nanoseconds per exit
// (from each exit to the next: see src/vmm/exit-timer.ts), guest instructions between exits;
// then guest instructions retired and MIPS, and the share of them compiled code retired, with the
// forms the interpreter performed most where compiled code could have run; then, if the guest
// paged, the shadow MMU's counters.

import type { CompiledCodeStatistics, ExitReasonStats, VmStatistics } from "../vmm/exit-stats.js";
import { MMU_STATISTIC_LABELS, pagingSeen } from "../vmm/mmu-stats.js";
import type { StopReason } from "../vmm/stop-reason.js";
import type { VmConfig } from "../vmm/vm-config.js";

const num = (value: number | undefined, digits: number) => (value === undefined ? "-" : value.toFixed(digits));

export function formatStats(stats: VmStatistics): string {
  const header = ["reason", "exit", "count", "total ms", "ns/exit", "instr/exit"];
  const rows = stats.exits.map((e: ExitReasonStats) => [
    e.reason >= 0x100 ? `0x${e.reason.toString(16)}` : String(e.reason),
    e.name,
    String(e.count),
    num(e.totalMs, 3),
    num(e.nsPerExit, 1),
    num(e.instructionsPerExit, 2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [
    `--- ${stats.totalExits} VM exits ---`,
    line(header),
    ...rows.map(line),
    `${stats.instructions} instructions in ${stats.seconds.toFixed(3)} s: ${stats.mips.toFixed(1)} MIPS`,
    ...formatCompiledCode(stats.compiledCode),
    ...(stats.hostWorkYields > 0 ? [`host-work yields: ${stats.hostWorkYields} (entries ended early to look at the clock; not exits)`] : []),
    ...(pagingSeen(stats.mmu) ? formatMmu(stats) : []),
    "",
  ].join("\n");
}

// The forms --stats lists (--stats-json has them all).
const FORMS_SHOWN = 8;

function formatCompiledCode({ retired, compiledInstructions, share, interpretedForms = [] }: CompiledCodeStatistics): string[] {
  const total = interpretedForms.reduce((sum, f) => sum + f.count, 0);
  return [
    `compiled code: ${compiledInstructions} of ${retired} instructions retired since boot (${(share * 100).toFixed(1)} %)`,
    ...(total > 0 ? [`interpreted where compiled code could run: ${total}, most often:`] : []),
    ...interpretedForms.slice(0, FORMS_SHOWN).map((f) => `  ${String(f.count).padStart(12)}  ${f.form.padEnd(10)} ${f.name}`),
  ];
}

function formatMmu({ mmu }: VmStatistics): string[] {
  const width = Math.max(...MMU_STATISTIC_LABELS.map(([, label]) => label.length));
  return ["--- shadow MMU ---", ...MMU_STATISTIC_LABELS.map(([name, label]) => `${label.padEnd(width)}  ${mmu[name]}`)];
}

export function statsJson(stats: VmStatistics, config: Readonly<VmConfig>, stop: StopReason): string {
  return `${JSON.stringify({ config, stop, ...stats }, null, 2)}\n`;
}
