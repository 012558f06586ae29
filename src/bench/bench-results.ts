// Everything one `wasmvisor bench` run measured, as the JSON document --json writes and
// --compare reads back: when and where it ran (the machine described as the README's results
// section describes it), the settings, each host's status, the exit benchmarks, the CR3 cliff,
// the MIPS section and the real-C rows.

import type { DisplayRow } from "./display-bench.js";
import { readFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import type { BenchRun } from "./bench.js";
import type { ColdStart } from "./cold-start.js";
import type { Cr3CliffPoint } from "./cr3-cliff.js";
import type { PreviousRun } from "./exit-report.js";
import { summarize, type Measurement } from "./exit-runs.js";
import type { HostStatus, RowResult } from "./exit-suite.js";
import type { ClockKind } from "./marker-timing.js";
import type { RealCResults } from "./real-c.js";
import { rowName } from "./real-c-report.js";
import type { BenchSummary } from "./report.js";

export interface Machine {
  /** /proc/cpuinfo's model name. */
  cpu: string;
  /** CPUs this process may use (nproc). */
  cpus: number;
  node: string;
  platform: string;
  arch: string;
  /** 1, 5 and 15-minute load averages when the run began. */
  loadAverage: number[];
}

export interface BenchSettings {
  quick: boolean;
  runs: number;
  clock: ClockKind;
  /** Fixed by --iterations, or null: calibrated so that each measured loop lasts loopMs. */
  iterations: number | null;
  loopMs: number;
  only: string | null;
}

export interface BenchResults {
  date: string;
  machine: Machine;
  settings: BenchSettings;
  hosts: HostStatus[];
  exits: { name: string; word: string; what: string; unit: string; results: RowResult["results"]; skipped: RowResult["skipped"] }[];
  /** ns per address-space switch for 1..8 address spaces (wasmvisor, guests/multitask.elf). */
  cr3Cliff: (Cr3CliffPoint & { measurement: Measurement })[];
  mips: { summaries: BenchSummary[]; runs: BenchRun[] };
  /** Real C (realc, compute, regloop) per phase on every host; null when not run. */
  realC: (Omit<RealCResults, "hosts"> & { rounds: number }) | null;
  /** The first exits of a fresh VM against its steady ones (cold-start.ts); null when not run. */
  coldStart: ColdStart | null;
  /** The display-update rows (display-bench.ts): each strategy on each demo; null when not run. */
  display: DisplayRow[] | null;
}

export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cpus: cpus().length,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    loadAverage: loadavg(),
  };
}

/** The cliff's points as measurements in the chosen clock, by address-space count. */
export function cliffMeasurements(points: readonly Cr3CliffPoint[], clock: ClockKind): Map<number, Measurement> {
  return new Map(points.map((p) => [p.processes, summarize(clock === "cpu" ? p.cpuRuns : p.runs, p.switches)]));
}

export function benchResults(
  machine: Machine,
  settings: BenchSettings,
  hosts: HostStatus[],
  rows: readonly RowResult[],
  cliff: readonly Cr3CliffPoint[],
  mips: BenchResults["mips"],
  realC: BenchResults["realC"] = null,
  coldStart: ColdStart | null = null,
  display: DisplayRow[] | null = null,
): BenchResults {
  const cliffByCount = cliffMeasurements(cliff, settings.clock);
  return {
    date: new Date().toISOString(),
    machine,
    settings,
    hosts,
    exits: rows.map(({ benchmark: b, results, skipped }) => ({ name: b.name, word: b.word, what: b.what, unit: b.unit, results, skipped })),
    cr3Cliff: cliff.map((p) => ({ ...p, measurement: cliffByCount.get(p.processes)! })),
    mips,
    realC,
    coldStart,
    display,
  };
}

/** A previous run's JSON, for --compare: wasmvisor's medians by row name. */
export async function readPreviousRun(path: string): Promise<PreviousRun> {
  const old = JSON.parse(await readFile(path, "utf8")) as Partial<BenchResults>;
  if (!Array.isArray(old.exits)) throw new Error(`${path} is not the JSON of wasmvisor bench --json`);
  const medians = new Map<string, number>();
  for (const row of old.exits) if (row.results.wasmvisor) medians.set(row.name, row.results.wasmvisor.median);
  const phaseMedians = new Map<string, number>();
  for (const row of old.realC?.rows ?? []) if (row.results.wasmvisor) phaseMedians.set(rowName(row), row.results.wasmvisor.median);
  return { medians, phaseMedians };
}

/** The report as a Markdown section: when, where and how it ran, then the tables as printed. */
export function markdownReport(results: BenchResults, report: string): string {
  const { machine, settings, hosts } = results;
  const peers = hosts.filter((h) => h.host !== "wasmvisor").map((h) => (h.skipped ? `${h.host} skipped (${h.skipped})` : h.version));
  const options = [settings.quick ? "--quick" : "", `--runs ${settings.runs}`, `--clock ${settings.clock}`, settings.only ? `--only '${settings.only}'` : ""].filter((o) => o !== "");
  return [
    `Measured ${results.date.slice(0, 16).replace("T", " ")} UTC with \`wasmvisor bench ${options.join(" ")}\` on ${machine.cpu}, ` +
      `${machine.cpus} CPUs (nproc), Node ${machine.node} (${machine.platform}/${machine.arch}), load average ${machine.loadAverage[0].toFixed(1)} ` +
      `when it began. Peers: ${peers.join("; ") || "none"}.`,
    "",
    "```text",
    report,
    "```",
    "",
  ].join("\n");
}
