// The demo's per-exit VMM time: one exit in 16 of each reason is timed, only the outermost
// dispatch of a nested exit, and a mean is given only where the clock can tell it.

import { describe, expect, it } from "vitest";
import { HandlerTimer } from "../../src/vmm/handler-timer.js";

describe("HandlerTimer", () => {
  it("times the first exit of each reason in 16, an exit dispatched inside another's handler as part of the outer one", () => {
    const timer = new HandlerTimer();
    for (let i = 0; i < 32; i++) {
      timer.begin(30);
      timer.begin(10);
      timer.end();
      timer.end();
    }
    expect(timer.time(30).exits).toBe(2);
    expect(timer.time(10).exits).toBe(0);
    expect(timer.total().exits).toBe(2);
  });

  it("gives a mean only once the sum spans 25 clock steps and the mean is at least two clock readings", () => {
    const timer = new HandlerTimer();
    const step = timer.resolutionMs;
    const reading = timer.clockCostMs;
    expect(timer.nsPerExit({ exits: 0, ms: 0 })).toBeUndefined();
    // A 100 µs clock that ticked once in 1,000 exits: one step, not a figure.
    expect(timer.nsPerExit({ exits: 1000, ms: step })).toBeUndefined();
    // Mostly the clock's own cost: not a figure.
    expect(timer.nsPerExit({ exits: 1e6, ms: 1e6 * reading * 1.5 })).toBeUndefined();
    // A mean of three readings and a microsecond: the clock's cost comes off. (The reading is
    // measured as the timer is made; on a loaded machine it can exceed 1 µs, so the mean is
    // built from it rather than fixed.)
    const mean = 3 * reading + 1e-3;
    expect(timer.nsPerExit({ exits: 1e6, ms: 1e6 * mean })).toBeCloseTo((mean - reading) * 1e6, 3);
  });
});
