// Timing a guest from the host: every line of its console output is stamped with a host clock
// when its newline arrives. A marker guest frames each measured piece of work with marker lines
// of the same length, `@1 LABEL` before it, `@2 LABEL` after it and `@3 LABEL` after a second
// piece that does the same minus the work (guests/bench/markers.h, guests/vmexit/main.c): the
// work's cost is (t2 - t1) - (t3 - t2), the same printing cost in both. The vmexit guest's second
// piece is its loop without the operation; the benchmark guests' is empty, so that what is left
// is the phase alone. The vmexit guest then prints
// `TEST: N iterations, A ticks each, loop alone B, difference D`, so its cost per iteration is
// that over N; its own figure D (RDTSC ticks; retired instructions under wasmvisor) is kept beside it.

export interface StampedLine {
  text: string;
  /** The clock when the line's newline arrived, ms. */
  at: number;
}

/** A host clock in ms: wall time, or the CPU time the host running the guest has used. */
export type Clock = () => number;
export const CLOCK_KINDS = ["wall", "cpu"] as const;
export type ClockKind = (typeof CLOCK_KINDS)[number];

export const wallClock: Clock = () => performance.now();

/** The vmexit guest's last line. */
export const DONE_LINE = /^vmexit: done$/;

/** Collects console bytes into stamped lines; call byte() from the console callback. */
export class LineStamper {
  readonly lines: StampedLine[] = [];
  private current = "";

  /** `doneLine`: what the guest prints when it finished (`done`). */
  constructor(
    private readonly clock: Clock,
    private readonly doneLine: RegExp = DONE_LINE,
  ) {}

  byte(value: number, at?: number): void {
    if (value === 0x0a) {
      this.lines.push({ text: this.current, at: at ?? this.clock() });
      this.current = "";
    } else if (value !== 0x0d) {
      this.current += String.fromCharCode(value);
    }
  }

  /** For hosts that deliver output in chunks (a pipe): each newline gets the chunk's arrival time. */
  chunk(bytes: Uint8Array): void {
    const at = this.clock();
    for (const value of bytes) this.byte(value, at);
  }

  /** Whether the guest said it finished. */
  get done(): boolean {
    return this.lines.some((l) => this.doneLine.test(l.text));
  }
}

export interface TestTiming {
  /** Iterations the guest ran (its own count). */
  iterations: number;
  /** Host ms of the operation's loop and of the base loop. */
  opMs: number;
  baseMs: number;
  /** The guest's difference per iteration in its own RDTSC ticks. */
  guestTicks: number;
  /** Under wasmvisor: its VM exits per iteration, the loop's minus the base loop's (at least 0: exit-runs.ts withL0Exits). */
  l0Exits?: number;
  /** Under --if-mode bt: each of binary translation's counts (TRANSLATION_COUNTERS) per iteration, the same way. */
  translation?: Record<string, number>;
}

const RESULT = /^(\S+): (\d+) iterations, (\d+) ticks each, loop alone (\d+), difference (-?\d+)$/;

const MARKER = /^@([123]) (\S+)$/;

/** Whether a line is a marker line. */
export const isMarker = (text: string): boolean => MARKER.test(text);

/** The stamps of each label's three markers, for the labels whose three all have a stamp. */
export function markerStamps(lines: readonly StampedLine[]): Map<string, [number, number, number]> {
  const marks = new Map<string, number[]>();
  for (const { text, at } of lines) {
    const marker = MARKER.exec(text);
    if (marker) {
      const times = marks.get(marker[2]) ?? [];
      times[Number(marker[1]) - 1] = at;
      marks.set(marker[2], times);
    }
  }
  const complete = [...marks].filter(([, t]) => [0, 1, 2].every((i) => Number.isFinite(t[i])));
  return new Map(complete.map(([label, t]) => [label, [t[0], t[1], t[2]]]));
}

/** The cost of each piece of work the markers framed, (t2 - t1) - (t3 - t2), in the clock's unit, by label. */
export function phaseCosts(lines: readonly StampedLine[]): Map<string, number> {
  return new Map([...markerStamps(lines)].map(([label, [t1, t2, t3]]) => [label, t2 - t1 - (t3 - t2)]));
}

/** The timing of every test the vmexit guest completed, by its label (the word it was given). */
export function testTimings(lines: readonly StampedLine[]): Map<string, TestTiming> {
  const marks = markerStamps(lines);
  const timings = new Map<string, TestTiming>();
  for (const { text } of lines) {
    const result = RESULT.exec(text);
    const times = result ? marks.get(result[1]) : undefined;
    if (result && times) {
      timings.set(result[1], { iterations: Number(result[2]), opMs: times[1] - times[0], baseMs: times[2] - times[1], guestTicks: Number(result[5]) });
    }
  }
  return timings;
}

/** ns per iteration of the operation alone. */
export function nsPerIteration(t: TestTiming): number {
  return ((t.opMs - t.baseMs) * 1e6) / t.iterations;
}

/** Guest MIPS of the operation's loop (the compute tests have no base loop: it is empty). */
export function mips(t: TestTiming, instructionsPerIteration: number): number {
  return (t.iterations * instructionsPerIteration) / ((t.opMs - t.baseMs) * 1e3);
}
