// Timing the vmexit guest from the host: every line of its console output is stamped with the
// host clock when its newline arrives. The guest prints `@1 TEST` before its operation's loop,
// `@2 TEST` between that loop and the matching loop without the operation, `@3 TEST` after it,
// then `TEST: N iterations, A ticks each, loop alone B, difference D` (guests/vmexit/main.c).
// The cost of the operation in host time is ((t2 - t1) - (t3 - t2)) / N: the wall time of the
// two loops minus each other, the same printing cost in both. The guest's own figure D (RDTSC
// ticks; retired instructions under wasmvisor) is kept beside it.

import { existsSync, readFileSync } from "node:fs";

export interface StampedLine {
  text: string;
  /** The clock when the line's newline arrived, ms. */
  at: number;
}

/** A host clock in ms: wall time, or the CPU time the host running the guest has used. */
export type Clock = () => number;
export const CLOCK_KINDS = ["wall", "cpu"] as const;
export type ClockKind = (typeof CLOCK_KINDS)[number];

export const wallClock: Clock = () => performance.now();
const SCHEDSTAT = "/proc/thread-self/schedstat";
/**
 * CPU time of this thread, the one running an in-process emulator: what it spent, however loaded
 * the machine; V8's compiler threads, still optimising code of an earlier run, are not counted.
 * Linux's schedstat has the thread's run time, but brings it up to date only at scheduler ticks
 * (4 ms here) and switches, too coarse for short loops. It also has the time the thread waited
 * for a CPU, brought up to date whenever the thread gets one back: so while the thread has not
 * slept, wall time minus waiting time grows exactly as its CPU time. Across a sleep (a voluntary
 * switch) the run time's growth is taken instead, exact to a tick. Elsewhere: the process's
 * user + system time.
 */
export const threadCpuClock: Clock = existsSync(SCHEDSTAT)
  ? (() => {
      let cpu = 0; // the last value returned, ms: readings only add to it
      let last: ThreadSchedStat | undefined; // the reading behind it
      return () => {
        const stat = threadSchedStat();
        if (stat !== undefined && last !== undefined) {
          const awake = stat.awakeMs - last.awakeMs;
          // Not negative, but the kernel times waits with its scheduler clock, not the one
          // performance.now() reads, and across a switch the two may disagree by microseconds.
          cpu += Math.max(0, stat.sleeps === last.sleeps ? awake : Math.min(awake, stat.runMs - last.runMs));
        }
        last = stat ?? last; // without a consistent reading the last value stands; the next counts on from it
        return cpu;
      };
    })()
  : () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    };

interface ThreadSchedStat {
  /** Run time as of the kernel's last update. */
  runMs: number;
  /** Wall time minus the time spent waiting for a CPU: exact while the thread does not sleep. */
  awakeMs: number;
  /** Voluntary switches: sleeps. */
  sleeps: number;
}

/**
 * The schedstat, the sleep count and the wall time as of one moment. They are read one after the
 * other, and a switch after the schedstat and before the wall time would count the wait in this
 * reading's wall time but only in the next reading's schedstat: awake time that the next reading
 * takes back, the clock going back by the wait. The third field of schedstat counts the times the
 * thread got a CPU: the same after the wall time as before, the thread kept its CPU throughout.
 * Otherwise it is read again, with a fresh time slice; undefined if that keeps failing.
 */
function threadSchedStat(): ThreadSchedStat | undefined {
  for (let attempt = 0; attempt < 3; attempt++) {
    const [run, waited, arrivals] = readSchedStat();
    const sleeps = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync("/proc/thread-self/status", "utf8"));
    const now = performance.now();
    if (readSchedStat()[2] === arrivals) return { runMs: run / 1e6, awakeMs: now - waited / 1e6, sleeps: Number(sleeps![1]) };
  }
  return undefined;
}

/** Run time and time waited for a CPU (ns), and the times the thread got one. */
function readSchedStat(): number[] {
  return readFileSync(SCHEDSTAT, "utf8").split(" ").map(Number);
}

/** Collects console bytes into stamped lines; call byte() from the console callback. */
export class LineStamper {
  readonly lines: StampedLine[] = [];
  private current = "";

  constructor(private readonly clock: Clock) {}

  byte(value: number, at?: number): void {
    if (value === 0x0a) {
      this.lines.push({ text: this.current, at: at ?? this.clock() });
      this.current = "";
    } else if (value !== 0x0d) {
      this.current += String.fromCharCode(value);
    }
  }

  /** For hosts that deliver output in chunks (a pipe): each newline gets the chunk's arrival time. */
  chunk(bytes: Uint8Array): void {
    const at = this.clock();
    for (const value of bytes) this.byte(value, at);
  }

  /** Whether the guest said it finished. */
  get done(): boolean {
    return this.lines.some((l) => l.text === DONE_LINE);
  }
}

export const DONE_LINE = "vmexit: done";

export interface TestTiming {
  /** Iterations the guest ran (its own count). */
  iterations: number;
  /** Host ms of the operation's loop and of the base loop. */
  opMs: number;
  baseMs: number;
  /** The guest's difference per iteration in its own RDTSC ticks. */
  guestTicks: number;
}

const RESULT = /^(\S+): (\d+) iterations, (\d+) ticks each, loop alone (\d+), difference (-?\d+)$/;

/** The timing of every test the guest completed, by its label (the word it was given). */
export function testTimings(lines: readonly StampedLine[]): Map<string, TestTiming> {
  const marks = new Map<string, number[]>();
  const timings = new Map<string, TestTiming>();
  for (const { text, at } of lines) {
    const marker = /^@([123]) (\S+)$/.exec(text);
    if (marker) {
      const times = marks.get(marker[2]) ?? [];
      times[Number(marker[1]) - 1] = at;
      marks.set(marker[2], times);
      continue;
    }
    const result = RESULT.exec(text);
    const times = result ? marks.get(result[1]) : undefined;
    if (result && times && [0, 1, 2].every((i) => Number.isFinite(times[i]))) {
      timings.set(result[1], { iterations: Number(result[2]), opMs: times[1] - times[0], baseMs: times[2] - times[1], guestTicks: Number(result[5]) });
    }
  }
  return timings;
}

/** ns per iteration of the operation alone. */
export function nsPerIteration(t: TestTiming): number {
  return ((t.opMs - t.baseMs) * 1e6) / t.iterations;
}

/** Guest MIPS of the operation's loop (the compute tests have no base loop: it is empty). */
export function mips(t: TestTiming, instructionsPerIteration: number): number {
  return (t.iterations * instructionsPerIteration) / ((t.opMs - t.baseMs) * 1e3);
}
