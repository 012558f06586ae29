// Timing the vmexit guest from the host: every line of its console output is stamped with the
// host clock when its newline arrives. The guest prints `@1 TEST` before its operation's loop,
// `@2 TEST` between that loop and the matching loop without the operation, `@3 TEST` after it,
// then `TEST: N iterations, A ticks each, loop alone B, difference D` (guests/vmexit/main.c).
// The cost of the operation in host time is ((t2 - t1) - (t3 - t2)) / N: the wall time of the
// two loops minus each other, the same printing cost in both. The guest's own figure D (RDTSC
// ticks; retired instructions under wasmvisor) is kept beside it.

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

/** Collects console bytes into stamped lines; call byte() from the console callback. */
export class LineStamper {
  readonly lines: StampedLine[] = [];
  private current = "";

  constructor(private readonly clock: Clock) {}

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
    return this.lines.some((l) => l.text === DONE_LINE);
  }
}

export const DONE_LINE = "vmexit: done";

export interface TestTiming {
  /** Iterations the guest ran (its own count). */
  iterations: number;
  /** Host ms of the operation's loop and of the base loop. */
  opMs: number;
  baseMs: number;
  /** The guest's difference per iteration in its own RDTSC ticks. */
  guestTicks: number;
}

const RESULT = /^(\S+): (\d+) iterations, (\d+) ticks each, loop alone (\d+), difference (-?\d+)$/;

/** The timing of every test the guest completed, by its label (the word it was given). */
export function testTimings(lines: readonly StampedLine[]): Map<string, TestTiming> {
  const marks = new Map<string, number[]>();
  const timings = new Map<string, TestTiming>();
  for (const { text, at } of lines) {
    const marker = /^@([123]) (\S+)$/.exec(text);
    if (marker) {
      const times = marks.get(marker[2]) ?? [];
      times[Number(marker[1]) - 1] = at;
      marks.set(marker[2], times);
      continue;
    }
    const result = RESULT.exec(text);
    const times = result ? marks.get(result[1]) : undefined;
    if (result && times && [0, 1, 2].every((i) => Number.isFinite(times[i]))) {
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
