// Time to peak speed (src/bench/time-to-peak.ts), the real-C rows' `to peak`: the wall time from a
// phase's start until it runs at its peak speed. Worked on made-up slice samples, then on regloop,
// whose one hot loop must not reach its peak before the compiling tier has compiled it: with every
// compile made to take SLOW_MS, its time to peak is at least that.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { PHASE_GUESTS, phasesToPeak, readGolden } from "../../src/bench/real-c.js";
import { PEAK_WINDOW, timeToPeak, type SpeedSample } from "../../src/bench/time-to-peak.js";
import { runGuestOnWasmvisor } from "../../src/bench/wasmvisor-runner.js";
import { wallClock } from "../../src/bench/marker-timing.js";

/** Slices of a million instructions, the nth taking msPerSlice(n) ms; the first sample at 0. */
function samples(slices: number, msPerSlice: (n: number) => number): SpeedSample[] {
  const out: SpeedSample[] = [{ retired: 0, ms: 0 }];
  for (let n = 0; n < slices; n++) out.push({ retired: (n + 1) * 1e6, ms: out[n].ms + msPerSlice(n) });
  return out;
}

describe("timeToPeak", () => {
  it("is the end of the first window at 90 % of the median window's speed: after a slow start, when the phase is fast", () => {
    // 10 slices of 5 ms (interpreted, compiling), then 1 ms each
    const trace = samples(40, (n) => (n < 10 ? 5 : 1));
    expect(timeToPeak(trace, 0, 40e6)).toBe(10 * 5 + PEAK_WINDOW * 1);
  });

  it("is one window for a phase at its peak from the start, however slow a slice later", () => {
    expect(timeToPeak(samples(40, (n) => (n === 20 ? 9 : 1)), 0, 40e6)).toBe(PEAK_WINDOW);
  });

  it("is not held back by a part of the phase faster than the rest", () => {
    // 30 slices at 2 ms, then 10 at 1 ms: at its typical speed from the start
    expect(timeToPeak(samples(40, (n) => (n < 30 ? 2 : 1)), 0, 40e6)).toBe(PEAK_WINDOW * 2);
  });

  it("counts from the phase's first sample, and only the samples in its stretch of instructions", () => {
    // a fast phase from 20e6 after a slow one: the slow one is not part of it
    const trace = samples(40, (n) => (n < 20 ? 5 : 1));
    expect(timeToPeak(trace, 20e6, 40e6)).toBe(PEAK_WINDOW);
    expect(timeToPeak(trace, 0, 20e6)).toBe(PEAK_WINDOW * 5); // even speed: at peak from its start
  });

  it("tells nothing of a phase shorter than a window", () => {
    expect(timeToPeak(samples(40, () => 1), 0, PEAK_WINDOW * 1e6 - 1)).toBeUndefined();
    expect(timeToPeak(samples(40, () => 1), 0, PEAK_WINDOW * 1e6)).toBe(PEAK_WINDOW);
  });
});

describe("a guest's phases", () => {
  const SLOW_MS = 25;
  const RealModule = WebAssembly.Module;
  afterEach(() => {
    WebAssembly.Module = RealModule;
  });

  it("reach their peak no sooner than the compiling tier has compiled their hot loop", async () => {
    const regloop = PHASE_GUESTS.find((g) => g.name === "regloop")!;
    const kernel = readFileSync(regloop.path);
    const core = readFileSync("build/core.wasm");
    WebAssembly.Module = class extends RealModule {
      constructor(bytes: BufferSource) {
        super(bytes);
        const start = performance.now();
        while (performance.now() - start < SLOW_MS);
      }
    };
    const run = await runGuestOnWasmvisor(regloop.path, kernel, core, regloop.markerArgs, {}, wallClock, regloop.done, undefined, wallClock);
    const toPeak = phasesToPeak(run.speed, run.retired, await readGolden(regloop)).get("regloop")!;
    const phaseMs = run.lines.find((l) => l.text === "@2 regloop")!.at - run.lines.find((l) => l.text === "@1 regloop")!.at;
    expect(run.compiles.regions).toBeGreaterThan(0);
    expect(toPeak).toBeGreaterThanOrEqual(SLOW_MS);
    expect(toPeak).toBeLessThanOrEqual(phaseMs);
  }, 120_000);
});
