// The real-C rows of `wasmvisor bench`: guests/realc.elf (ten phases of gcc -O2 C: recursion,
// function pointers, jump tables, string functions, 8/16-bit arithmetic, mul/div, qsort, CRC-32,
// matmul, sieve), compute.elf and regloop, each phase timed on wasmvisor, QEMU and v86 in the
// host's clock through the guests' phase markers (marker-timing.ts, guests/bench/markers.h), the
// same way on all three. Every run's console must match the guest's golden copy
// (guests/<name>.expected, QEMU's output; realc's does not depend on its round count), so a
// figure always belongs to a run that computed the right checksums. On wasmvisor each phase also
// gets its retired instructions and the share of them that compiled code retired.

import { readFile } from "node:fs/promises";
import type { CompileTime } from "../core/core.js";
import { fileURLToPath } from "node:url";
import { defaultCoreWasmUrl } from "../core/core.js";
import { packageFileUrl } from "../package-files.js";
import { BenchGuestError } from "./bench-guest-error.js";
import { summarize, type Measurement } from "./exit-runs.js";
import type { Host, HostStatus } from "./exit-suite.js";
import { isMarker, markerStamps, phaseCosts, type ClockKind, type StampedLine } from "./marker-timing.js";
import { findPeer, type PeerName, type PeerRunner } from "./peer-runners.js";
import { benchClock } from "./thread-cpu-clock.js";
import { median } from "./report.js";
import { timeToPeak, type SpeedSample } from "./time-to-peak.js";
import { runGuestOnWasmvisor } from "./wasmvisor-runner.js";

export interface PhaseGuest {
  /** The row name's first part, what --only matches. */
  name: string;
  /** The kernel, relative to the package root; its golden output is the same path with .expected. */
  path: string;
  /** Arguments that turn the markers on, if the guest needs any. */
  markerArgs: string;
  /** The line the guest prints last. */
  done: RegExp;
  /** What the whole guest does, for a guest with a single phase. */
  what?: string;
}

export const REALC: PhaseGuest = { name: "realc", path: "guests/realc.elf", markerArgs: "", done: /^realc: done$/ };
export const PHASE_GUESTS: readonly PhaseGuest[] = [
  REALC,
  { name: "compute", path: "guests/compute.elf", markerArgs: "markers", done: /^compute: done$/, what: "sieve, CRC-32, matmul, heapsort (whole guest)" },
  { name: "regloop", path: "guests/regloop.elf", markerArgs: "markers", done: /^regloop: \d+ iterations/, what: "8-instruction register loop, 10^8 times (whole guest)" },
  { name: "codestore", path: "guests/codestore.elf", markerArgs: "markers", done: /^codestore: \d+ iterations/, what: "store to a code page's data: a 5-instruction loop storing beside its own code, 10^6 times (whole guest)" },
];

/** realc's rounds per phase; its phases take 100-300 ms each on QEMU TCG with the default. */
export const REALC_ROUNDS = 10;

/** The guests --only selects: its pattern is matched against "NAME" (e.g. realc, compute). */
export function selectPhaseGuests(only: RegExp | undefined): PhaseGuest[] {
  return PHASE_GUESTS.filter((g) => only === undefined || only.test(g.name));
}

/** What one run of a guest on one host gave. */
export interface GuestRun {
  /** Host time of each phase (ms), in the guest's order. */
  phases: Map<string, number>;
  /** wasmvisor only: instructions retired in each phase, and the part compiled code retired. */
  retired?: Map<string, number>;
  compiled?: Map<string, number>;
  /** wasmvisor only: compiled code's share of every instruction the run retired, boot included. */
  compiledShare?: number;
  /** wasmvisor only: ms of each phase the compiling tier took (part of the phase's time). */
  compiling?: Map<string, number>;
  /** wasmvisor only: the compiling tier's work over the whole run, and the run's time. */
  compiles?: CompileTime;
  runMs?: number;
  /** wasmvisor only, from a run that sampled its speed: each phase's ms to its peak speed (time-to-peak.ts; absent for a phase too short to tell). */
  toPeak?: Map<string, number>;
}

/**
 * The phases of a run, after checking its console against the golden copy: the same lines but
 * the markers, and each of `labels` framed by all three markers. Throws a BenchGuestError naming
 * the first line that differs.
 */
export function checkedPhases(lines: readonly StampedLine[], golden: Golden, where: string): Map<string, number> {
  const expected = golden.text.split("\n").filter((l) => l !== "" && !isMarker(l));
  const actual = lines.map((l) => l.text).filter((l) => l !== "" && !isMarker(l));
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    if (actual[i] !== expected[i]) {
      throw new BenchGuestError(`${where}: line ${i + 1} is ${JSON.stringify(actual[i] ?? "<end of output>")}, not ${JSON.stringify(expected[i] ?? "<end of output>")} as in the golden copy`);
    }
  }
  const stamps = markerStamps(lines);
  const missing = golden.labels.filter((label) => !stamps.has(label));
  if (missing.length > 0) throw new BenchGuestError(`${where}: no complete markers for ${missing.join(", ")}`);
  const costs = phaseCosts(lines);
  return new Map(golden.labels.map((label) => [label, costs.get(label)!]));
}

/** A guest's golden output (QEMU's, committed) and the phases it marks, in order. */
export interface Golden {
  text: string;
  labels: string[];
}

/** The golden copy names the phases with its markers; a guest without them there is one phase, its name. */
export async function readGolden(guest: PhaseGuest): Promise<Golden> {
  const text = await readFile(packageFileUrl(guest.path.replace(/\.elf$/, ".expected")), "utf8");
  const labels = text.split("\n").flatMap((l) => /^@1 (\S+)$/.exec(l)?.[1] ?? []);
  return { text, labels: labels.length > 0 ? labels : [guest.name] };
}

export interface HostRunner {
  host: Host;
  run(guest: PhaseGuest, args: string): Promise<GuestRun>;
}

/**
 * Runs a guest on wasmvisor (compiling tier on unless `jit` is false) in `clock`; with
 * `sampleSpeed`, also samples its speed with that clock for each phase's time to peak (a reading of
 * the CPU clock costs enough to slow the phases a little: not in the runs whose times are kept).
 */
export function wasmvisorRunner(core: BufferSource, clock: ClockKind, jit = true, sampleSpeed = false): HostRunner {
  return {
    host: "wasmvisor",
    async run(guest, args) {
      const kernel = await readFile(packageFileUrl(guest.path));
      const golden = await readGolden(guest);
      const where = `${guest.path} "${args}" on wasmvisor`;
      const run = await runGuestOnWasmvisor(guest.path, kernel, core, args, { jit }, benchClock(clock), guest.done, undefined, sampleSpeed ? benchClock(clock) : undefined);
      const { phases, compiling } = compilesApart(checkedPhases(run.lines, golden, where), run.compiling);
      return {
        phases,
        retired: checkedPhases(run.retired, golden, where),
        compiled: checkedPhases(run.compiled, golden, where),
        compiledShare: run.vm.statistics().compiledCode.share,
        compiling,
        compiles: run.compiles,
        runMs: run.runMs,
        ...(sampleSpeed && { toPeak: phasesToPeak(run.speed, run.retired, golden) }),
      };
    },
  };
}

/**
 * The phases' times and their compiling times, from `phases` (checkedPhases) and the console
 * stamped with the compiling tier's ms. A phase's second piece (@2 to @3) is what printing a
 * marker line costs, taken off the phase; a compile in it (the guest's printing code turning hot
 * there) is no part of that: it is added back to the phase, and the phase's compiling time is its
 * first piece's alone.
 */
export function compilesApart(phases: ReadonlyMap<string, number>, compiling: readonly StampedLine[]): { phases: Map<string, number>; compiling: Map<string, number> } {
  const compiles = markerStamps(compiling);
  const apart = [...phases].map(([label, ms]) => {
    const [c1, c2, c3] = compiles.get(label)!;
    return { label, ms: ms + (c3 - c2), compiling: c2 - c1 };
  });
  return { phases: new Map(apart.map((p) => [p.label, p.ms])), compiling: new Map(apart.map((p) => [p.label, p.compiling])) };
}

/** Each of the golden copy's phases' time to peak speed, over its stretch of instructions (from its @1 marker, sampled, to its @2). */
export function phasesToPeak(speed: readonly SpeedSample[], retired: readonly StampedLine[], golden: Golden): Map<string, number> {
  const stretches = markerStamps(retired);
  return new Map(golden.labels.flatMap((label) => {
    const [first, last] = stretches.get(label)!;
    const ms = timeToPeak(speed, first, last);
    return ms === undefined ? [] : [[label, ms] as [string, number]];
  }));
}

function peerRunner(peer: PeerRunner, clock: ClockKind): HostRunner {
  return {
    host: peer.name,
    async run(guest, args) {
      const lines = await peer.run(fileURLToPath(packageFileUrl(guest.path)), args, clock, guest.done);
      return { phases: checkedPhases(lines, await readGolden(guest), `${guest.path} "${args}" on ${peer.name}`) };
    },
  };
}

/** One row: a phase of a guest (or realc's total), each host's median and spread. */
export interface PhaseRow {
  guest: string;
  /** The phase's label; "total" for the sum of realc's phases. */
  phase: string;
  what: string;
  results: Partial<Record<Host, Measurement>>;
  /** wasmvisor: instructions retired in the phase (the first run's) and compiled code's share of them. */
  instructions?: number;
  compiledShare?: number;
  /** wasmvisor: ms of the phase the compiling tier took (the first run's). */
  compilingMs?: number;
  /** wasmvisor: ms (by the bench's clock) from the phase's start to its peak speed (time-to-peak.ts), from the one run that samples its speed (runRealC). */
  toPeakMs?: number;
}

export interface GuestSummary {
  guest: string;
  /** Compiled code's share of all instructions the guest retired on wasmvisor, boot included (the first run's). */
  compiledShare?: number;
  /** The compiling tier's work in that run, and the run's time. */
  compiles?: CompileTime;
  runMs?: number;
}

export interface RealCOptions {
  guests: readonly PhaseGuest[];
  runs: number;
  /** realc's rounds per phase. */
  rounds: number;
  peers: readonly PeerName[];
  clock: ClockKind;
  /** Called before each run of a guest (done of total so far) with what it runs, and at the end. */
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface RealCResults {
  hosts: HostStatus[];
  rows: PhaseRow[];
  guests: GuestSummary[];
}

/** The arguments a guest runs with: its markers, and realc's rounds. */
export function guestArgs(guest: PhaseGuest, rounds: number): string {
  return guest === REALC ? String(rounds) : guest.markerArgs;
}

/**
 * Runs every guest on wasmvisor and each installed peer (measureGuests), after one untimed run
 * that lets V8 optimise the core.
 */
export async function runRealC(options: RealCOptions): Promise<RealCResults> {
  const core = await readFile(defaultCoreWasmUrl());
  const runners: HostRunner[] = [wasmvisorRunner(core, options.clock)];
  const hosts: HostStatus[] = [{ host: "wasmvisor", version: `wasmvisor (node ${process.version})` }];
  for (const name of options.peers) {
    const peer = await findPeer(name);
    if (typeof peer === "string") hosts.push({ host: name, skipped: peer });
    else {
      hosts.push({ host: name, version: peer.version });
      runners.push(peerRunner(peer, options.clock));
    }
  }
  options.onProgress?.(0, 1, "warm-up: realc on wasmvisor");
  await runners[0].run(REALC, "1");
  // The progress counts the time-to-peak runs below after measureGuests' own.
  const toPeakRuns = options.guests.length;
  let measured = 0;
  const samples = await measureGuests(runners, hosts, {
    ...options,
    onProgress: (done, total, label) => { measured = total; if (done < total) options.onProgress?.(done, total + toPeakRuns, label); },
  });
  // One more run of each guest for the time to peak (wasmvisorRunner's sampleSpeed), kept beside the first
  const sampled = wasmvisorRunner(core, options.clock, true, true);
  for (const [k, guest] of options.guests.entries()) {
    options.onProgress?.(measured + k, measured + toPeakRuns, `time to peak: ${guest.name} on wasmvisor`);
    const first = samples.get(`${guest.name} wasmvisor`)?.[0];
    if (first) first.toPeak = (await sampled.run(guest, guestArgs(guest, options.rounds))).toPeak;
  }
  options.onProgress?.(measured + toPeakRuns, measured + toPeakRuns, "done");
  return { hosts, ...phaseRows(options.guests, runners.map((r) => r.host), samples, phaseDescriptions(await readGolden(REALC))) };
}

/**
 * Runs every guest on every runner, `runs` times, interleaved (run 1 of everything, then run 2)
 * so that a burst of load spreads over all rows; the samples by `${guest} ${host}`. A peer whose
 * run fails (QEMU killed at its time limit, a wrong checksum) is dropped with its reason in
 * `hosts`, and none of its figures are kept, as in the exit rows; a failure on wasmvisor ends the
 * bench.
 */
export async function measureGuests(runners: readonly HostRunner[], hosts: HostStatus[], options: Pick<RealCOptions, "guests" | "runs" | "rounds" | "onProgress">): Promise<Map<string, GuestRun[]>> {
  const total = options.runs * options.guests.length * runners.length;
  let done = 0;
  const samples = new Map<string, GuestRun[]>();
  const failed = new Set<Host>();
  for (let run = 1; run <= options.runs; run++) {
    for (const guest of options.guests) {
      for (const runner of runners) {
        options.onProgress?.(done++, total, `run ${run}/${options.runs}: ${guest.name} on ${runner.host}`);
        if (failed.has(runner.host)) continue;
        const key = `${guest.name} ${runner.host}`;
        try {
          samples.set(key, [...(samples.get(key) ?? []), await runner.run(guest, guestArgs(guest, options.rounds))]);
        } catch (error) {
          if (runner.host === "wasmvisor" || !(error instanceof BenchGuestError)) throw error;
          failed.add(runner.host);
          for (const dropped of options.guests) samples.delete(`${dropped.name} ${runner.host}`);
          const status = hosts.find((h) => h.host === runner.host);
          if (status) status.failed = error.message;
        }
      }
    }
  }
  options.onProgress?.(total, total, "done");
  return samples;
}

/** What each realc phase does, from its golden copy's result lines ("fib: WHAT: checksum"). */
export function phaseDescriptions(golden: Golden): Map<string, string> {
  return new Map(golden.text.split("\n").flatMap((l) => {
    const m = /^(\w+): (.+): [0-9a-f]{8}$/.exec(l);
    return m ? [[m[1], m[2]] as [string, string]] : [];
  }));
}

/** The runs reduced to rows: median and spread per host, realc's phases and their total. */
export function phaseRows(guests: readonly PhaseGuest[], hosts: readonly Host[], samples: ReadonlyMap<string, GuestRun[]>, descriptions: ReadonlyMap<string, string>): { rows: PhaseRow[]; guests: GuestSummary[] } {
  const rows: PhaseRow[] = [];
  const summaries: GuestSummary[] = [];
  for (const guest of guests) {
    const ours = samples.get(`${guest.name} wasmvisor`)?.[0];
    summaries.push({ guest: guest.name, compiledShare: ours?.compiledShare, compiles: ours?.compiles, runMs: ours?.runMs });
    const labels = [...(ours ?? samples.get(`${guest.name} ${hosts[0]}`)![0]).phases.keys()];
    const row = (phase: string, what: string, value: (run: GuestRun) => number, counts?: { retired: number; compiled: number; compiling?: number }): PhaseRow => {
      const results: PhaseRow["results"] = {};
      for (const host of hosts) {
        const runs = samples.get(`${guest.name} ${host}`);
        if (runs) results[host] = summarize(runs.map(value), 1);
      }
      const toPeak = (samples.get(`${guest.name} wasmvisor`) ?? []).flatMap((run) => run.toPeak?.get(phase) ?? []);
      return {
        guest: guest.name, phase, what, results, instructions: counts?.retired, compiledShare: counts && counts.retired > 0 ? counts.compiled / counts.retired : undefined,
        compilingMs: counts?.compiling, toPeakMs: toPeak.length > 0 ? median(toPeak) : undefined,
      };
    };
    const counts = (labelsIn: readonly string[]) =>
      ours?.retired && ours.compiled
        ? {
            retired: sum(labelsIn.map((l) => ours.retired!.get(l)!)), compiled: sum(labelsIn.map((l) => ours.compiled!.get(l)!)),
            compiling: ours.compiling && sum(labelsIn.map((l) => ours.compiling!.get(l)!)),
          }
        : undefined;
    for (const label of labels) rows.push(row(label, guest.what ?? descriptions.get(label) ?? "", (run) => run.phases.get(label)!, counts([label])));
    if (labels.length > 1) rows.push(row("total", `all ${labels.length} phases`, (run) => sum([...run.phases.values()]), counts(labels)));
  }
  return { rows, guests: summaries };
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
