// The CPU-time clock the bench stamps console lines with (--clock cpu): it must see loops far
// shorter than a scheduler tick (the kernel's run-time count moves only every few ms), never go
// back, and never count more than the wall time that passed.
import { describe, expect, it } from "vitest";
import { threadCpuClock } from "../../src/bench/marker-timing.js";

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
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
});
