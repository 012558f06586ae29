// Host time per VM exit spent in the VMM, for the browser demo's live table and chart: from the
// exit's arrival in the dispatcher to its handler's return, nothing of the guest's run after it
// (exit-timer.ts charges that too, which in a guest that runs between exits is mostly guest time).
// What it leaves out, the core's side of the round trip (leaving the guest, the call out of wasm
// and back, the VM entry), is what the bench's exit loops add: the demo's "measure exit costs".
// Two clock readings per exit: the demo can afford them; the CLI's --stats uses exit-timer.ts.
// A browser's clock may tick in 5 or 100 µs steps, far coarser than one exit, so each exit reads
// 0 or one step. Summed over many exits, whose phase against the ticks is unrelated to them, the
// steps count the time spent: a figure is given only once its sum spans MIN_TICKS steps (~±20 %),
// and is unavailable before.

import { measuredClockCostMs } from "./exit-timer.js";
import { EXIT_REASON_LIMIT } from "./exits/table.js";

/** Clock steps a sum must span before its mean is given. */
const MIN_TICKS = 25;

export interface HandlerTime {
  /** Exits timed and their summed time in ms, as the clock read it. */
  exits: number;
  ms: number;
}

/** The smallest step of performance.now(): ~1 ns in Node, 5 or 100 µs in a browser. */
function measureResolution(): number {
  let step = Infinity;
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    let next = start;
    while (next === start) next = performance.now();
    step = Math.min(step, next - start);
  }
  return step;
}

export class HandlerTimer {
  readonly resolutionMs = measureResolution();
  private readonly clockCostMs = measuredClockCostMs();
  private readonly ms = new Float64Array(EXIT_REASON_LIMIT);
  private readonly exits = new Float64Array(EXIT_REASON_LIMIT);
  /** An emulated instruction's own exit is dispatched inside its handler: only the outer one is timed. */
  private depth = 0;
  private reason = 0;
  private startMs = 0;

  begin(reason: number): void {
    if (this.depth++ > 0) return;
    this.reason = reason;
    this.startMs = performance.now();
  }

  end(): void {
    if (--this.depth > 0 || this.reason >= EXIT_REASON_LIMIT) return;
    this.ms[this.reason] += performance.now() - this.startMs;
    this.exits[this.reason]++;
  }

  /** The sums so far for `reason`. */
  time(reason: number): HandlerTime {
    return { exits: this.exits[reason] ?? 0, ms: this.ms[reason] ?? 0 };
  }

  /** The sums over every reason. */
  total(): HandlerTime {
    return { exits: this.exits.reduce((a, b) => a + b, 0), ms: this.ms.reduce((a, b) => a + b, 0) };
  }

  /** Mean ns per exit of a sum (or of the difference of two), undefined while the clock is too coarse for it. */
  nsPerExit({ exits, ms }: HandlerTime): number | undefined {
    if (exits === 0 || ms < MIN_TICKS * this.resolutionMs) return undefined;
    return Math.max(0, ms / exits - this.clockCostMs) * 1e6;
  }
}
