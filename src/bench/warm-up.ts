// Time to peak speed: how long a fresh VM takes before the guest runs as fast as it will (its
// blocks compiled and installed, V8's optimised code in). From (time, instructions retired)
// samples taken at slice ends: the speed of each stretch between samples; the peak is the median
// speed of the stretches in the run's second half; the time to peak is when the first stretch
// at PEAK_SHARE of it or faster ended, counted from the run's start.

export interface RetiredSample {
  ms: number; // host time
  retired: number; // instructions retired by then
}

/** A stretch this close to the peak speed counts as at it. */
export const PEAK_SHARE = 0.9;
/** Fewer stretches than this say nothing about a warm-up. */
const MIN_STRETCHES = 4;

/** Ms from `samples[0]` to the end of the first stretch at peak speed; undefined for a run too short to tell. */
export function timeToPeak(samples: readonly RetiredSample[]): number | undefined {
  if (samples.length < MIN_STRETCHES + 1) return undefined;
  const stretches = samples.slice(1).map((s, i) => ({ end: s.ms, speed: (s.retired - samples[i].retired) / Math.max(s.ms - samples[i].ms, 1e-6) }));
  const half = samples[0].ms + (samples.at(-1)!.ms - samples[0].ms) / 2;
  const late = stretches.filter((s) => s.end > half).map((s) => s.speed).sort((a, b) => a - b);
  const peak = late[late.length >> 1];
  const first = stretches.find((s) => s.speed >= PEAK_SHARE * peak)!; // the median's stretch at least
  return first.end - samples[0].ms;
}
