// The measuring half of the exit benchmarks, with no Node-only parts, so that the CLI's bench
// (exit-suite.ts, which adds the peers and reads the files) and the browser demo's "measure exit
// costs" run the same loops the same way: a job is one boot of guests/vmexit.elf doing the test
// words of its rows; jobs run `runs` times each, interleaved (run 1 of everything, then run 2,
// ...) so that a burst of load on the machine spreads over all rows instead of spoiling one, and
// each row is reduced to a median and a spread.
// The hosts differ in speed by a factor of a thousand on some rows (a HLT that v86 wakes from a
// millisecond timer), so unless `iterations` fixes the counts, a calibration boot first measures
// each test and the counts are then chosen to make each measured loop last about `loopMs`.

import { BenchGuestError } from "./bench-guest-error.js";
import { MIN_ITERATIONS, iterationsFor, mustBePositive, setupKey, vmexitCmdline, type ExitBenchmark } from "./exit-benchmarks.js";
import type { Host } from "./exit-suite.js";
import { mips, nsPerIteration, phaseCosts, testTimings, type Clock, type StampedLine, type TestTiming } from "./marker-timing.js";
import { median } from "./report.js";
import { hasInterruptWindowExits, runOnWasmvisor } from "./wasmvisor-runner.js";

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
  /** wasmvisor only: its VM exits (L0 exits, of every reason) per iteration, median over the runs. */
  l0Exits?: number;
  /** wasmvisor under --if-mode bt: binary translation's counts (TRANSLATION_COUNTERS) per iteration, median over the runs. */
  translation?: Record<string, number>;
  /** A row of the same boot had a median at or below zero where it must cost time (mustBePositive), so the boot ran `runs` times again and the median is over all runs. */
  remeasured?: true;
}

export interface Job {
  host: Host;
  rows: ExitBenchmark[];
  run: (cmdline: string) => Promise<Map<string, TestTiming>>;
  /** A peer's job: if one of its boots fails (BenchGuestError), it is dropped and reported through onJobFailed instead of ending the whole bench. */
  mayFail?: boolean;
}

export interface RunOptions {
  /** Fixed iterations (scaled per row); undefined: calibrate to loopMs. */
  iterations?: number;
  /** With calibration: how long each measured loop should last. */
  loopMs: number;
  runs: number;
  /** Called before each boot of a guest (done of total boots so far) with what it runs, and at the end. */
  onProgress?: (done: number, total: number, label: string) => void;
  /** A job with mayFail whose boot failed, and why; its rows get no measurement. */
  onJobFailed?: (job: Job, reason: string) => void;
}

/** Iterations of the calibration boot: enough to time, short on the slowest host. */
const CALIBRATION_ITERATIONS = 2000;
const WARM_UP_ITERATIONS = 20_000;
const MAX_ITERATIONS = 100_000_000;
const CALIBRATION_MS = 5;
const CALIBRATION_GROWTH = 20;
const CALIBRATION_ROUNDS = 4;

/**
 * wasmvisor's jobs for `benchmarks`: one boot per distinct configuration (interrupt-flag mode,
 * --vga-trap, INVLPG exiting, nested VMX). Rows that need interrupt-window exits when the core has
 * none, and rows that run under an L1 guest when `l1` (its kernel) is not given, are left out and
 * returned as `unsupported`, with the reason.
 */
export async function wasmvisorJobs(benchmarks: readonly ExitBenchmark[], kernel: Uint8Array, core: BufferSource, clock: Clock, l1?: Uint8Array): Promise<{ jobs: Job[]; unsupported: Map<ExitBenchmark, string> }> {
  const windowExits = !benchmarks.some((b) => b.needsInterruptWindow) || (await hasInterruptWindowExits(kernel, core));
  const unsupported = new Map<ExitBenchmark, string>();
  for (const b of benchmarks) {
    if (!windowExits && b.needsInterruptWindow) unsupported.set(b, "the core has no interrupt-window exits yet");
    else if (b.setup.throughL1 && l1 === undefined) unsupported.set(b, "no L1 guest (guests/nestvisor.elf) to run it under");
  }
  const groups = new Map<string, ExitBenchmark[]>();
  for (const b of benchmarks.filter((b) => !unsupported.has(b))) groups.set(setupKey(b.setup), [...(groups.get(setupKey(b.setup)) ?? []), b]);
  const jobs = [...groups.values()].map((group): Job => ({
    host: "wasmvisor",
    rows: group,
    run: async (cmdline) => {
      const run = await runOnWasmvisor(kernel, core, cmdline, group[0].setup, clock, l1);
      return withTranslationCounts(withL0Exits(testTimings(run.lines), run.exits), run.translation);
    },
  }));
  return { jobs, unsupported };
}

/**
 * Each test's VM exits to wasmvisor per iteration, from the lines stamped with the exit count: the
 * loop's minus the base loop's, and never below 0. The operation cannot take exits away; fewer in
 * its loop than in the base loop means more of L0's own time slices (preemption-timer exits, which
 * fall wherever a slice ends) landed in the base loop, which the report printed as "-0.00".
 */
export function withL0Exits(timings: Map<string, TestTiming>, exits: readonly StampedLine[]): Map<string, TestTiming> {
  for (const [word, count] of countsPerIteration(timings, exits)) timings.get(word)!.l0Exits = count;
  return timings;
}

/** Binary translation's counts per iteration of each test, as withL0Exits counts the exits. */
export function withTranslationCounts(timings: Map<string, TestTiming>, translation: ReadonlyMap<string, readonly StampedLine[]>): Map<string, TestTiming> {
  for (const [counter, lines] of translation) {
    for (const [word, count] of countsPerIteration(timings, lines)) (timings.get(word)!.translation ??= {})[counter] = count;
  }
  return timings;
}

/** A count stamped on the console's lines, per iteration of each test: the loop's growth minus the base loop's, never below 0. */
function countsPerIteration(timings: ReadonlyMap<string, TestTiming>, lines: readonly StampedLine[]): Map<string, number> {
  const counts = phaseCosts(lines);
  return new Map([...timings].flatMap(([word, timing]): Array<[string, number]> => {
    const count = counts.get(word);
    return count === undefined ? [] : [[word, Math.max(0, count) / timing.iterations]];
  }));
}

/** Runs the jobs; the result maps `${host} ${row name}` to its measurement. */
export async function measureJobs(jobs: readonly Job[], options: RunOptions): Promise<Map<string, Measurement>> {
  const { runs } = options;
  // V8 runs a fresh core in its baseline tier and the exit handlers in its interpreter at first:
  // one untimed boot of each of wasmvisor's jobs lets it optimise both (it keeps the code for the
  // same wasm bytes). Every job, not only the first: each setup runs VMM code of its own (nested
  // VMX reflects each L2 exit through three L0 exits in JavaScript), and a calibration boot that
  // ran it unoptimised saw 7.8 us per L2 CPUID instead of 2.6, chose a tenth of the iterations,
  // and left loops of a millisecond whose difference came out negative.
  for (const job of jobs.filter((job) => job.host === "wasmvisor")) await runJob(job, iterationsFor(job.rows, WARM_UP_ITERATIONS));

  let total = jobs.length * (runs + (options.iterations === undefined ? 1 : 0));
  let done = 0;
  const progress = (label: string) => options.onProgress?.(done++, total, label);
  const failed = new Set<Job>();
  /** Runs `step` for the job unless it has failed; a failure of a job that may fail drops it instead of ending the bench. */
  const attempt = async (job: Job, step: () => Promise<void>): Promise<void> => {
    if (failed.has(job)) return;
    try {
      await step();
    } catch (error) {
      if (!job.mayFail || !(error instanceof BenchGuestError)) throw error;
      failed.add(job);
      options.onJobFailed?.(job, error.message);
    }
  };
  const counts = new Map<Job, Map<string, number>>();
  for (const job of jobs) {
    if (options.iterations !== undefined) {
      counts.set(job, iterationsFor(job.rows, options.iterations));
      continue;
    }
    progress(`calibrating: ${job.host} ${job.rows.map((b) => b.name).join(" ")}`);
    await attempt(job, async () => { counts.set(job, await calibrate(job, options.loopMs)); });
  }

  const samples = new Map<string, Sample>();
  const measureRound = async (job: Job, label: string) => {
    progress(`${label}: ${job.host} ${job.rows.map((b) => b.name).join(" ")}`);
    const timings = await runJob(job, counts.get(job)!);
    for (const b of job.rows) {
      const timing = timings.get(b.word)!;
      const key = `${job.host} ${b.name}`;
      const sample: Sample = samples.get(key) ?? { values: [], ticks: [], l0Exits: [], translation: new Map(), iterations: timing.iterations, remeasured: false };
      sample.values.push(b.unit === "MIPS" ? mips(timing, b.instructionsPerIteration!) : nsPerIteration(timing));
      sample.ticks.push(timing.guestTicks);
      if (timing.l0Exits !== undefined) sample.l0Exits.push(timing.l0Exits);
      for (const [counter, count] of Object.entries(timing.translation ?? {})) sample.translation.set(counter, [...(sample.translation.get(counter) ?? []), count]);
      samples.set(key, sample);
    }
  };
  for (let run = 1; run <= runs; run++) {
    for (const job of jobs) await attempt(job, () => measureRound(job, `run ${run}/${runs}`));
  }
  // A row that exits cannot cost zero: a median at or below it means a burst of load hit the
  // loop without the operation harder than the loop with it. Such a job runs `runs` more times
  // (once), the row's median is taken over all its runs, and the measurement says so.
  const implausible = jobs.filter((job) => !failed.has(job)).filter((job) => job.rows.some((b) => mustBePositive(b, job.host) && median(samples.get(`${job.host} ${b.name}`)!.values) <= 0));
  total += implausible.length * runs;
  for (const job of implausible) {
    for (const b of job.rows) samples.get(`${job.host} ${b.name}`)!.remeasured = true;
    for (let run = 1; run <= runs; run++) await attempt(job, () => measureRound(job, `again ${run}/${runs} (a figure at or below zero)`));
  }
  // A job that failed after some runs leaves no partial figures: its rows were not measured as asked.
  for (const job of failed) for (const b of job.rows) samples.delete(`${job.host} ${b.name}`);
  options.onProgress?.(total, total, "done");
  return new Map([...samples].map(([key, sample]) => [key, {
    ...summarize(sample.values, sample.iterations, median(sample.ticks)),
    ...(sample.l0Exits.length > 0 ? { l0Exits: median(sample.l0Exits) } : {}),
    ...(sample.translation.size > 0 ? { translation: Object.fromEntries([...sample.translation].map(([counter, counts]) => [counter, median(counts)])) } : {}),
    ...(sample.remeasured ? { remeasured: true } : {}),
  }]));
}

interface Sample {
  values: number[];
  ticks: number[];
  l0Exits: number[];
  translation: Map<string, number[]>;
  iterations: number;
  remeasured: boolean;
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
 * little (a pipe may deliver its markers in one chunk), so those words run again with more, and
 * every word runs at least twice: the cost per iteration is the growth in loop time between the
 * last two rounds over the growth in iterations. A fresh boot pays fixed costs inside its first
 * loops (wasmvisor compiles the blocks of the loop and of the guest's printing as they get hot,
 * 0.5-3 ms each), which a single round would spread over its few iterations: an L2 CPUID of
 * 2.6 us measured 10-45 us per iteration at 200 iterations.
 */
async function calibrate(job: Job, loopMs: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const previous = new Map<string, { n: number; opMs: number }>();
  let trial = iterationsFor(job.rows, CALIBRATION_ITERATIONS);
  for (let round = 1; trial.size > 0; round++) {
    const timings = await runJob(job, trial);
    const again = new Map<string, number>();
    for (const [word, n] of trial) {
      const { opMs, iterations } = timings.get(word)!;
      const before = previous.get(word);
      previous.set(word, { n: iterations, opMs });
      if ((before === undefined || opMs < CALIBRATION_MS) && round < CALIBRATION_ROUNDS) {
        again.set(word, n * CALIBRATION_GROWTH);
        continue;
      }
      // Noise on a busy machine can shrink the growth to nothing: at least a CALIBRATION_GROWTH-th
      // of the last loop's average, so that a loop never runs more than that many times too long.
      const average = opMs / iterations;
      const marginal = before === undefined || iterations <= before.n ? average : (opMs - before.opMs) / (iterations - before.n);
      const msPerIteration = Math.max(marginal, average / CALIBRATION_GROWTH, 1e-9);
      counts.set(word, Math.min(MAX_ITERATIONS, Math.max(MIN_ITERATIONS, Math.round(loopMs / msPerIteration))));
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
