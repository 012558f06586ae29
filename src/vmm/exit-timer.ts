// Host time per VM exit, cheaply enough to leave on while measuring exits that cost tens of
// nanoseconds. Reading the clock (performance.now()) costs more than such an exit, so it is read
// only when the exit reason changes: the time from one reading to the next is charged to the run of
// consecutive exits of one reason in between, each exit's share being the time from it to the next
// exit (its handler, the VM entry, and the guest's run up to the next exit). In a loop of CPUID
// instructions that is exactly the round trip core -> handler -> resume; for exits far apart it
// includes the guest's work in between, which is why the instructions retired are kept alongside.
// The cost of one clock reading, measured once, is taken off each interval. Under nesting a run is
// of one reason and one kind (exit-level.ts): an L2 CPUID reflected into L1 is timed apart from L1's
// own CPUID, and the time from it to L1's next exit is what reflecting it and L1's handler cost.

import type { Vmcs } from "../core/vmcs.js";
import type { ExitStats } from "./exit-stats.js";
import { EXIT_OF_L1, type ExitKind } from "./exit-level.js";

let clockCostMs: number | undefined;

/** The median cost of one performance.now() call, in ms, measured once per thread. */
export function measuredClockCostMs(): number {
  return (clockCostMs ??= measureClockCost());
}

function measureClockCost(): number {
  const samples: number[] = [];
  for (let batch = 0; batch < 21; batch++) {
    const start = performance.now();
    let end = start;
    for (let i = 0; i < 100; i++) end = performance.now();
    samples.push((end - start) / 100);
  }
  return samples.sort((a, b) => a - b)[samples.length >> 1];
}

export class ExitTimer {
  private reason = -1;
  private kind: ExitKind = EXIT_OF_L1;
  private atLevel = -1;
  private exits = 0;
  private startMs = 0;
  private startInstructions = 0;
  private readonly clockCost: number;

  constructor(
    private readonly stats: ExitStats,
    private readonly vmcs: Vmcs,
  ) {
    this.clockCost = measuredClockCostMs();
  }

  /** Called at every exit, before its handler; `atLevel` is what it is at its level (ExitStats.record). */
  exit(reason: number, kind: ExitKind = EXIT_OF_L1, atLevel = reason): void {
    if (reason === this.reason && kind === this.kind && atLevel === this.atLevel) {
      this.exits++;
      return;
    }
    this.close();
    this.reason = reason;
    this.kind = kind;
    this.atLevel = atLevel;
    this.exits = 1;
  }

  /** Charges the exits since the last reading; at the end of a run, with no next exit to wait for. */
  close(): void {
    const now = performance.now();
    const instructions = this.vmcs.instructionsRetired();
    if (this.reason >= 0) {
      const ms = Math.max(0, now - this.startMs - this.clockCost);
      this.stats.charge(this.reason, this.exits, ms, instructions - this.startInstructions, this.kind, this.atLevel);
    }
    this.reason = -1;
    this.startMs = now;
    this.startInstructions = instructions;
  }
}
