// The bench's CPU-time clock (--clock cpu), apart from marker-timing.ts so that the browser demo,
// which has no /proc, can use the marker timing.

import { existsSync, openSync, readSync } from "node:fs";
import type { Clock, ClockKind } from "./marker-timing.js";
import { wallClock } from "./marker-timing.js";

const SCHEDSTAT = "/proc/thread-self/schedstat";
const HAS_SCHEDSTAT = existsSync(SCHEDSTAT); // Linux tells this thread's scheduling statistics
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
export const threadCpuClock: Clock = HAS_SCHEDSTAT
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
    const sleeps = threadSleeps();
    const now = performance.now();
    if (readSchedStat()[2] === arrivals && sleeps !== undefined) return { runMs: run / 1e6, awakeMs: now - waited / 1e6, sleeps };
  }
  return undefined;
}

/**
 * The times this thread has slept (voluntary switches), where Linux tells; across a sleep
 * threadCpuClock counts whole scheduler ticks only, so a short stretch that slept is not timed exactly.
 */
export function threadSleeps(): number | undefined {
  if (!HAS_SCHEDSTAT) return undefined;
  const sleeps = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readStatus());
  return sleeps ? Number(sleeps[1]) : undefined;
}

/** Run time and time waited for a CPU (ns), and the times the thread got one. */
function readSchedStat(): number[] {
  return readSchedStatText().split(" ").map(Number);
}

/**
 * A file of this thread's /proc directory, read anew from its start at each call through a
 * descriptor opened at the first (by the thread that reads: a module's state is its thread's).
 * A reading of the clock reads three files, and the bench times every compile of the compiling
 * tier with the clock, inside the phases it times: opened, read and closed each time they cost
 * 16 µs a reading (1-1.5 ms of a compute.elf run's 40 compiles), read through kept descriptors 5 µs.
 */
function threadFile(path: string): () => string {
  let fd: number | undefined;
  const buffer = Buffer.alloc(4096);
  return () => {
    fd ??= openSync(path, "r");
    return buffer.toString("latin1", 0, readSync(fd, buffer, 0, buffer.length, 0));
  };
}
const readSchedStatText = threadFile(SCHEDSTAT);
const readStatus = threadFile("/proc/thread-self/status");

/** The clock --clock names. */
export function benchClock(kind: ClockKind): Clock {
  return kind === "cpu" ? threadCpuClock : wallClock;
}
