// Time to peak speed (issue 17), the bench's measure of how long a phase of a guest runs before
// the compiling tier has it at full speed: the interpreter runs a block until it is hot, compiles
// on the guest's thread stall it, and compiled code runs only from then on. A run of the guest
// samples the retired-instruction count and the bench's clock at the end of every slice
// (VirtualMachine RunLimits.onSliceEnd: every 2 million instructions) and at every line of its
// console, its phase markers among them. A phase's speed over a window of PEAK_WINDOW samples is
// instructions over time; its typical speed the median window's; its time to peak the time from
// its first sample (its start marker) to the end of the first window at PEAK_FRACTION of the
// typical speed. The median, not the best window: one part of a phase that runs faster than the
// rest does not set the bar for the whole phase (with the best window, a phase would reach its
// "peak" only where its fastest part starts). Reading the CPU clock costs tens of µs, a few % of
// a slice: the bench samples in a run of its own, not in those it times.

import { median } from "./report.js";

/** The VM at a slice's end: instructions retired since boot, and the clock (ms). */
export interface SpeedSample {
  retired: number;
  ms: number;
}

/** A window at this fraction of the phase's typical speed counts as at peak speed. */
export const PEAK_FRACTION = 0.9;
/** Samples (slices) a window of the speed spans: short enough to see a compile's effect, long enough to ride over one slow slice. */
export const PEAK_WINDOW = 4;

/**
 * Ms from the first sample in [firstRetired, lastRetired] (a phase's stretch of instructions) to
 * the end of the first window there at PEAK_FRACTION of its median window's speed; undefined with
 * PEAK_WINDOW samples or fewer in it (a phase shorter than a window).
 */
export function timeToPeak(samples: readonly SpeedSample[], firstRetired: number, lastRetired: number): number | undefined {
  const inPhase = samples.filter((s) => s.retired >= firstRetired && s.retired <= lastRetired);
  if (inPhase.length <= PEAK_WINDOW) return undefined;
  const speeds = inPhase.slice(PEAK_WINDOW).map((end, i) => {
    const start = inPhase[i];
    return end.ms > start.ms ? (end.retired - start.retired) / (end.ms - start.ms) : Infinity;
  });
  const typical = median(speeds);
  const first = speeds.findIndex((speed) => speed >= PEAK_FRACTION * typical);
  return inPhase[first + PEAK_WINDOW].ms - inPhase[0].ms;
}
