// The demo's per-exit VMM time: only the outermost dispatch of a nested exit is timed, and a mean
// is given only once the time summed spans enough steps of the clock to mean something.

import { describe, expect, it } from "vitest";
import { HandlerTimer } from "../../src/vmm/handler-timer.js";

describe("HandlerTimer", () => {
  it("times an exit dispatched inside another's handler as part of the outer one", () => {
    const timer = new HandlerTimer();
    timer.begin(30);
    timer.begin(10);
    timer.end();
    timer.end();
    expect(timer.time(30).exits).toBe(1);
    expect(timer.time(10).exits).toBe(0);
    expect(timer.total().exits).toBe(1);
  });

  it("gives no mean while the summed time is under 25 clock steps, and the mean once it is", () => {
    const timer = new HandlerTimer();
    const step = timer.resolutionMs;
    expect(timer.nsPerExit({ exits: 0, ms: 0 })).toBeUndefined();
    // A 100 µs clock that ticked once in 1,000 exits of ~50 ns: one step, not a figure.
    expect(timer.nsPerExit({ exits: 1000, ms: step })).toBeUndefined();
    // Node's clock steps in well under a µs: 1 ms over 1,000 exits is a figure, less one clock reading.
    expect(step).toBeLessThan(1 / 25);
    const ns = timer.nsPerExit({ exits: 1000, ms: 1 })!;
    expect(ns).toBeGreaterThan(500);
    expect(ns).toBeLessThanOrEqual(1000);
  });
});
