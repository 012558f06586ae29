import { describe, expect, it } from "vitest";
import { PEAK_SHARE, timeToPeak, type RetiredSample } from "../../src/bench/warm-up.js";

/** Samples every 10 ms of a guest running at `mips(t)` million instructions per second in stretch t. */
function samples(mips: (stretch: number) => number, stretches: number, startMs = 1000): RetiredSample[] {
  const out: RetiredSample[] = [{ ms: startMs, retired: 0 }];
  for (let t = 0; t < stretches; t++) out.push({ ms: out[t].ms + 10, retired: out[t].retired + mips(t) * 1e4 });
  return out;
}

describe("time to peak speed", () => {
  it("is when the first stretch at peak speed ended, from the first sample", () => {
    // 50 MIPS interpreted for 70 ms, 300 MIPS from then on: the 8th stretch, ending at 80 ms, is the first fast one
    expect(timeToPeak(samples((t) => (t < 7 ? 50 : 300), 40))).toBe(80);
  });

  it(`counts a stretch within ${PEAK_SHARE * 100} % of the peak as at it, not one slower`, () => {
    expect(timeToPeak(samples((t) => (t < 3 ? 10 : t < 6 ? 0.89 * 200 : t < 9 ? 0.91 * 200 : 200), 30))).toBe(70);
  });

  it("takes the peak from the run's second half, so that one fast stretch early does not set it", () => {
    expect(timeToPeak(samples((t) => (t === 0 ? 1000 : t < 10 ? 20 : 100), 40))).toBe(10); // 1000 >= 0.9 x 100: the first stretch
    expect(timeToPeak(samples((t) => (t === 5 ? 1000 : t < 10 ? 20 : 100), 40))).toBe(60);
  });

  it("is 10 ms (one stretch) for a guest at full speed from the start, and unknown for too few samples", () => {
    expect(timeToPeak(samples(() => 200, 20))).toBe(10);
    expect(timeToPeak(samples(() => 200, 3))).toBeUndefined();
  });
});
