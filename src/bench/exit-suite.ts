// Runs the exit benchmarks (exit-benchmarks.ts) on wasmvisor and on every peer that is installed,
// `runs` times each, and reduces each row to a median and a spread. One run of a peer is one
// boot of guests/vmexit.elf doing every test word the rows need; wasmvisor boots once per distinct
// configuration (interrupt-flag mode, --vga-trap, INVLPG exiting). The runs are interleaved
// (run 1 of everything, then run 2, ...) so that a burst of load on the machine spreads over all
// rows instead of spoiling one.
// The hosts differ in speed by a factor of a thousand on some rows (a HLT that v86 wakes from a
// millisecond timer), so unless --iterations fixes the counts, a calibration boot first measures
// each test and the counts are then chosen to make each measured loop last about `loopMs`.

import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { defaultCoreWasmUrl } from "../core/core.js";
import { packageFileUrl } from "../package-files.js";
import { BenchGuestError } from "./bench.js";
import { MIN_ITERATIONS, VMEXIT_GUEST, iterationsFor, setupKey, vmexitCmdline, type ExitBenchmark } from "./exit-benchmarks.js";
import { mips, nsPerIteration, testTimings, type ClockKind, type TestTiming } from "./marker-timing.js";
import { findPeer, type PeerName } from "./peer-runners.js";
import { median } from "./report.js";
import { hasInterruptWindowExits, runOnWasmvisor } from "./wasmvisor-runner.js";

export type Host = "wasmvisor" | PeerName;
export const HOSTS: readonly Host[] = ["wasmvisor", "qemu", "v86"];

export interface HostStatus {
  host: Host;
  version?: string;
  /** Why this host did not run (not installed): reported, never a failure. */
  skipped?: string;
}

export interface Measurement {
  /** ns per iteration (or MIPS) of each run. */
  runs: number[];
  median: number;
  /** Half the range of the runs relative to the median: 0.05 = ±5 %. */
  spread: number;
  /** Iterations per run. */
  iterations: number;
  /** The guest's own figure, median over the runs: RDTSC ticks per iteration (vmexit guest only). */
  guestTicks?: number;
}

export interface RowResult {
  benchmark: ExitBenchmark;
  results: Partial<Record<Host, Measurement>>;
  /** Hosts that could not run this row, and why. */
  skipped: Partial<Record<Host, string>>;
}

export interface SuiteOptions {
  benchmarks: readonly ExitBenchmark[];
  /** Fixed iterations (scaled per row); undefined: calibrate to loopMs. */
  iterations?: number;
  /** With calibration: how long each measured loop should last. */
  loopMs: number;
  runs: number;
  peers: readonly PeerName[];
  clock: ClockKind;
  /** Called before each boot of a guest (done of total boots so far) with what it runs, and at the end. */
  onProgress?: (done: number, total: number, label: string) => void;
}

interface Job {
  host: Host;
  rows: ExitBenchmark[];
  run: (cmdline: string) => Promise<Map<string, TestTiming>>;
}

/** Iterations of the calibration boot: enough to time, short on the slowest host. */
const CALIBRATION_ITERATIONS = 2000;
const WARM_UP_ITERATIONS = 20_000;
const MAX_ITERATIONS = 100_000_000;
const CALIBRATION_MS = 5;
const CALIBRATION_GROWTH = 20;
const CALIBRATION_ROUNDS = 4;

export async function runExitSuite(options: SuiteOptions): Promise<{ hosts: HostStatus[]; rows: RowResult[] }> {
  const { runs } = options;
  const rows: RowResult[] = options.benchmarks.map((benchmark) => ({ benchmark, results: {}, skipped: {} }));
  const { hosts, jobs } = await planJobs(options, rows);

  // V8 runs a fresh core in its baseline tier and the exit handlers in its interpreter at first:
  // one untimed boot lets it optimise both (it keeps the code for the same wasm bytes).
  const warmUp = jobs.find((job) => job.host === "wasmvisor");
  if (warmUp) await runJob(warmUp, iterationsFor(warmUp.rows, WARM_UP_ITERATIONS));

  const total = jobs.length * (runs + (options.iterations === undefined ? 1 : 0));
  let done = 0;
  const progress = (label: string) => options.onProgress?.(done++, total, label);
  const counts = new Map<Job, Map<string, number>>();
  for (const job of jobs) {
    if (options.iterations !== undefined) {
      counts.set(job, iterationsFor(job.rows, options.iterations));
      continue;
    }
    progress(`calibrating: ${job.host} ${job.rows.map((b) => b.name).join(" ")}`);
    counts.set(job, await calibrate(job, options.loopMs));
  }

  const samples = new Map<string, { values: number[]; ticks: number[]; iterations: number }>();
  for (let run = 1; run <= runs; run++) {
    for (const job of jobs) {
      progress(`run ${run}/${runs}: ${job.host} ${job.rows.map((b) => b.name).join(" ")}`);
      const timings = await runJob(job, counts.get(job)!);
      for (const b of job.rows) {
        const timing = timings.get(b.word)!;
        const key = `${job.host} ${b.name}`;
        const sample = samples.get(key) ?? { values: [], ticks: [], iterations: timing.iterations };
        sample.values.push(b.unit === "MIPS" ? mips(timing, b.instructionsPerIteration!) : nsPerIteration(timing));
        sample.ticks.push(timing.guestTicks);
        samples.set(key, sample);
      }
    }
  }
  options.onProgress?.(total, total, "done");

  for (const row of rows) {
    for (const host of HOSTS) {
      const sample = samples.get(`${host} ${row.benchmark.name}`);
      if (sample) row.results[host] = summarize(sample.values, sample.iterations, median(sample.ticks));
    }
  }
  return { hosts, rows };
}

/** The boots one run needs: wasmvisor once per configuration, each installed peer once. */
async function planJobs(options: SuiteOptions, rows: RowResult[]): Promise<{ hosts: HostStatus[]; jobs: Job[] }> {
  const { benchmarks, clock } = options;
  const kernelUrl = packageFileUrl(VMEXIT_GUEST);
  const kernel = await readFile(kernelUrl);
  const core = await readFile(defaultCoreWasmUrl());
  const skip = (which: (b: ExitBenchmark) => boolean, host: Host, reason: string) => {
    for (const row of rows) if (which(row.benchmark)) row.skipped[host] ??= reason;
  };
  const hosts: HostStatus[] = [{ host: "wasmvisor", version: `wasmvisor (node ${process.version})` }];
  const jobs: Job[] = [];

  const windowExits = !benchmarks.some((b) => b.needsInterruptWindow) || (await hasInterruptWindowExits(kernel, core));
  if (!windowExits) skip((b) => b.needsInterruptWindow === true, "wasmvisor", "the core has no interrupt-window exits yet");
  const groups = new Map<string, ExitBenchmark[]>();
  for (const b of benchmarks.filter((b) => windowExits || !b.needsInterruptWindow)) groups.set(setupKey(b.setup), [...(groups.get(setupKey(b.setup)) ?? []), b]);
  for (const group of groups.values()) {
    jobs.push({ host: "wasmvisor", rows: group, run: async (cmdline) => testTimings(await runOnWasmvisor(kernel, core, cmdline, group[0].setup, clock)) });
  }

  const peerRows = benchmarks.filter((b) => b.peers);
  for (const name of options.peers) {
    skip((b) => !b.peers, name, "VMCALL is #UD without wasmvisor");
    const peer = await findPeer(name);
    if (typeof peer === "string") {
      hosts.push({ host: name, skipped: peer });
      skip((b) => b.peers, name, peer);
    } else {
      hosts.push({ host: name, version: peer.version });
      if (peerRows.length > 0) jobs.push({ host: name, rows: peerRows, run: async (cmdline) => testTimings(await peer.run(fileURLToPath(kernelUrl), cmdline, clock)) });
    }
  }
  return { hosts, jobs };
}

async function runJob(job: Job, counts: Map<string, number>): Promise<Map<string, TestTiming>> {
  const timings = await job.run(vmexitCmdline(counts));
  for (const word of counts.keys()) {
    if (!timings.has(word)) throw new BenchGuestError(`${job.host}: guests/vmexit.elf printed no result for ${word}`);
  }
  return timings;
}

/**
 * Iterations per test word for loops of about loopMs. A loop shorter than CALIBRATION_MS says
 * little (a pipe may deliver its markers in one chunk), so those words run again with more.
 */
async function calibrate(job: Job, loopMs: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let trial = iterationsFor(job.rows, CALIBRATION_ITERATIONS);
  for (let round = 1; trial.size > 0; round++) {
    const timings = await runJob(job, trial);
    const again = new Map<string, number>();
    for (const [word, n] of trial) {
      const { opMs, iterations } = timings.get(word)!;
      if (opMs < CALIBRATION_MS && round < CALIBRATION_ROUNDS) again.set(word, n * CALIBRATION_GROWTH);
      else counts.set(word, Math.min(MAX_ITERATIONS, Math.max(MIN_ITERATIONS, Math.round((loopMs * iterations) / Math.max(opMs, 1e-3)))));
    }
    trial = again;
  }
  return counts;
}

export function summarize(values: number[], iterations: number, guestTicks?: number): Measurement {
  const mid = median(values);
  const spread = values.length < 2 ? 0 : (Math.max(...values) - Math.min(...values)) / 2 / Math.abs(mid);
  return { runs: values, median: mid, spread, iterations, guestTicks };
}
