// Host time per VM exit spent in the VMM, for the browser demo's live table and chart: from the
// exit's arrival in the dispatcher to its handler's return, nothing of the guest's run after it
// (exit-timer.ts charges that too, which in a guest that runs between exits is mostly guest time).
// What it leaves out, the core's side of the round trip (leaving the guest, the call out of wasm
// and back, the VM entry), is what the bench's exit loops add: the demo's "measure exit costs".
// A browser's clock is poor for this: it ticks in 5 or 100 µs steps, and one reading costs
// ~350 ns in Chromium, several times a fast handler. So:
// - one exit in SAMPLE_EVERY of each reason is timed, which keeps the readings' cost off the guest;
// - each timed exit reads 0 or one step, and summed over many exits, whose phase against the
//   ticks is unrelated to them, the steps count the time spent: a mean is given only once its sum
//   spans MIN_TICKS steps (~±20 %);
// - each reading includes one clock call, measured the same way (pairs of readings with nothing
//   between) and taken off; a mean under twice that is mostly the clock's own cost, and is not
//   given: fast exits read "n/a" in a browser, and "measure exit costs" is the way to their cost;
// - a reading past INTERRUPTED_MS is the thread descheduled (or a GC) in the middle, which on a
//   busy machine would double the sum: it is left out, as not timed.
// Under nesting the sums are kept by kind too (exit-level.ts): reflecting an exit of L2 into L1 is
// timed apart from L0 handling one, and from L1's own exits.

import { EXIT_REASON_LIMIT } from "./exits/table.js";
import { EXIT_KINDS, EXIT_OF_L1, type ExitKind } from "./exit-level.js";

const SAMPLE_EVERY = 16;
/** Clock steps a sum must span before its mean is given. */
const MIN_TICKS = 25;
/** Longer than any handler's own work: the thread was not running all that time. */
const INTERRUPTED_MS = 0.2;
/** Pairs of readings, in clock steps of total time, to measure what one reading adds. */
const CALIBRATION_TICKS = 400;

export interface HandlerTime {
  /** Exits timed and their summed readings in ms. */
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

/** What one reading adds to an interval, ms: the mean of back-to-back pairs, as the exits are read. */
function measureClockCost(resolutionMs: number): number {
  const end = performance.now() + CALIBRATION_TICKS * resolutionMs;
  let sum = 0;
  let pairs = 0;
  for (let now = 0; now < end; ) {
    const start = performance.now();
    now = performance.now();
    if (now - start > INTERRUPTED_MS) continue;
    sum += now - start;
    pairs++;
  }
  return sum / pairs;
}

export class HandlerTimer {
  readonly resolutionMs = measureResolution();
  readonly clockCostMs = measureClockCost(this.resolutionMs);
  /** By kind and reason at that level (the code L1 sees for a reflected SVM exit): index kind * EXIT_REASON_LIMIT + reason. */
  private readonly ms = new Float64Array(EXIT_KINDS * EXIT_REASON_LIMIT);
  private readonly exits = new Float64Array(EXIT_KINDS * EXIT_REASON_LIMIT);
  private readonly seen = new Uint32Array(EXIT_KINDS * EXIT_REASON_LIMIT);
  /** By the core's reason, every kind together. */
  private readonly reasonMs = new Float64Array(EXIT_REASON_LIMIT);
  private readonly reasonExits = new Float64Array(EXIT_REASON_LIMIT);
  /** An emulated instruction's own exit is dispatched inside its handler: only the outer one is timed. */
  private depth = 0;
  private key = -1;
  private reason = -1;
  private startMs = 0;

  /** An exit's handling begins; `atLevel` is what it is at its level (ExitStats.record). */
  begin(reason: number, kind: ExitKind = EXIT_OF_L1, atLevel = reason): void {
    const key = kind * EXIT_REASON_LIMIT + atLevel;
    if (this.depth++ > 0 || reason >= EXIT_REASON_LIMIT || atLevel >= EXIT_REASON_LIMIT || this.seen[key]++ % SAMPLE_EVERY !== 0) return;
    this.key = key;
    this.reason = reason;
    this.startMs = performance.now();
  }

  end(): void {
    if (--this.depth > 0 || this.key < 0) return;
    const ms = performance.now() - this.startMs;
    if (ms <= INTERRUPTED_MS) {
      this.ms[this.key] += ms;
      this.exits[this.key]++;
      this.reasonMs[this.reason] += ms;
      this.reasonExits[this.reason]++;
    }
    this.key = -1;
  }

  /** The sums so far: of one kind of exit (exit-level.ts) by its reason at that level, or of every kind by the core's reason. */
  time(reason: number, kind?: ExitKind): HandlerTime {
    if (reason < 0 || reason >= EXIT_REASON_LIMIT) return { exits: 0, ms: 0 };
    if (kind === undefined) return { exits: this.reasonExits[reason], ms: this.reasonMs[reason] };
    return { exits: this.exits[kind * EXIT_REASON_LIMIT + reason], ms: this.ms[kind * EXIT_REASON_LIMIT + reason] };
  }

  /** The sums over every reason. */
  total(): HandlerTime {
    return { exits: this.reasonExits.reduce((a, b) => a + b, 0), ms: this.reasonMs.reduce((a, b) => a + b, 0) };
  }

  /** Mean ns per exit of a sum (or of the difference of two), undefined where the clock cannot tell it. */
  nsPerExit({ exits, ms }: HandlerTime): number | undefined {
    if (exits === 0 || ms < MIN_TICKS * this.resolutionMs) return undefined;
    const mean = ms / exits;
    return mean < 2 * this.clockCostMs ? undefined : (mean - this.clockCostMs) * 1e6;
  }
}
