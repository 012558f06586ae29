// The CPU-time clock the bench stamps console lines with (--clock cpu): it must see loops far
// shorter than a scheduler tick (the kernel's run-time count moves only every few ms), never go
// back, and never count more than the wall time that passed.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { threadCpuClock, threadSleeps } from "../../src/bench/thread-cpu-clock.js";

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Work of a fixed size, about 100 ms of CPU. */
function work(): number {
  let x = 1;
  for (let i = 0; i < 100_000_000; i++) x = (Math.imul(x, 31) + i) | 0;
  return x;
}

/** This thread's schedstat, ms: run time (up to date to a scheduler tick), time waited for a CPU. */
function schedstat(): { run: number; waited: number } {
  const [run, waited] = readFileSync("/proc/thread-self/schedstat", "utf8").split(" ").map(Number);
  return { run: run / 1e6, waited: waited / 1e6 };
}

/**
 * Runs `body` while one busy thread more than there are CPUs competes with this one, so that
 * this thread is preempted (every few ms) between and within the clock's readings.
 */
async function underLoad(body: () => void): Promise<void> {
  const workers = Array.from({ length: availableParallelism() }, () => new Worker("for (;;);", { eval: true }));
  try {
    await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once("online", resolve))));
    body();
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/**
 * The clock's growth over a stretch is its wall time less the waits for a CPU (a wait lasts at
 * least as long as the kernel counts it, so 1 ms is slack enough), and no less than the kernel's
 * run time, which lags by up to a tick (10 ms at HZ=100) at either end.
 */
function expectCpuTime(stretch: () => void): void {
  const wallStart = performance.now();
  const start = schedstat();
  const cpuStart = threadCpuClock();
  stretch();
  const cpu = threadCpuClock() - cpuStart;
  const end = schedstat();
  const wall = performance.now() - wallStart;
  expect(cpu).toBeLessThanOrEqual(wall - (end.waited - start.waited) + 1);
  expect(cpu).toBeGreaterThan(end.run - start.run - 25);
}

describe("threadCpuClock", () => {
  it("measures every 0.5 ms busy loop, and none as longer than it took", () => {
    for (let i = 0; i < 40; i++) {
      const wallStart = performance.now();
      const cpuStart = threadCpuClock();
      spin(0.5);
      const cpu = threadCpuClock() - cpuStart;
      const wall = performance.now() - wallStart;
      expect(cpu).toBeGreaterThan(0);
      expect(cpu).toBeLessThanOrEqual(wall);
    }
  });

  it("does not count time spent asleep", async () => {
    const start = threadCpuClock();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(threadCpuClock() - start).toBeLessThan(25);
  });

  it("measures fixed work by its CPU time", () => {
    expectCpuTime(work);
  });

  // A preemption between reading schedstat and reading the wall time made it go back by the wait.
  it("never goes back, read 5000 times while busy threads take its CPU", async () => {
    await underLoad(() =>
      expectCpuTime(() => {
        let last = threadCpuClock();
        for (let i = 0; i < 5000; i++) {
          const now = threadCpuClock();
          expect(now).toBeGreaterThanOrEqual(last);
          last = now;
        }
      }),
    );
  });

  it("measures fixed work by its CPU time while busy threads take its CPU", async () => {
    await underLoad(() => expectCpuTime(work));
  });
});

// The cold-start row withholds its verdict when its stretch slept (cold-start.ts): a sleep must count.
it("threadSleeps counts this thread's sleeps", () => {
  const before = threadSleeps();
  expect(before).toBeGreaterThanOrEqual(0); // Linux, as CI
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  expect(threadSleeps()).toBeGreaterThan(before!);
});
