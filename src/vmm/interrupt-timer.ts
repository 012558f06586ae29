// Interrupts the VMM raises at a point in the guest's virtual time (instructions retired): the
// "inject vector N after K instructions" hypercall (the timer devices schedule on VirtualClock
// instead). The run loop arms the core's preemption timer for the earliest
// deadline, so the guest stops exactly there; the VMM reports that stop as an external-interrupt
// exit (reason 1), which is what it models: an interrupt arriving while the guest ran. A saved
// machine keeps the deadlines (saveState).

import { C_PREEMPTION_TIMER } from "../../assembly/vmcs-layout.js";
import type { Vmcs } from "../core/vmcs.js";

interface Deadline {
  /** Retired-instruction count at which the interrupt is raised. */
  at: number;
  vector: number;
}

export class InterruptTimer {
  /** Sorted by `at`; equal deadlines keep the order they were scheduled in. */
  private readonly deadlines: Deadline[] = [];

  constructor(private readonly vmcs: Vmcs) {}

  /** Raises `vector` once the guest has retired `instructions` more instructions. */
  schedule(vector: number, instructions: number): void {
    const now = this.vmcs.instructionsRetired();
    const at = now + instructions;
    let i = this.deadlines.length;
    while (i > 0 && this.deadlines[i - 1].at > at) i--;
    this.deadlines.splice(i, 0, { at, vector });
    // Inside a VM entry's budget: make the current one end at the new deadline if it is sooner.
    if (instructions < this.vmcs.get(C_PREEMPTION_TIMER)) this.vmcs.set(C_PREEMPTION_TIMER, instructions);
  }

  saveState(): { deadlines: Deadline[] } {
    return { deadlines: this.deadlines.map((d) => ({ ...d })) };
  }

  restoreState(state: { deadlines: Deadline[] }): void {
    this.deadlines.splice(0, this.deadlines.length, ...state.deadlines.map((d) => ({ ...d })));
  }

  /** The earliest deadline, or Infinity. */
  get next(): number {
    return this.deadlines.length > 0 ? this.deadlines[0].at : Infinity;
  }

  /** Removes and returns the vectors whose deadline is at or before `now`, earliest first. */
  takeDue(now: number): number[] {
    let due = 0;
    while (due < this.deadlines.length && this.deadlines[due].at <= now) due++;
    return this.deadlines.splice(0, due).map((d) => d.vector);
  }

  /** Removes and returns the earliest scheduled vector (a halted guest skips ahead to it). */
  takeNext(): number | undefined {
    return this.deadlines.shift()?.vector;
  }
}
