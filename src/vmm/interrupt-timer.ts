// Interrupts the VMM raises at a point in the guest's virtual time (instructions retired): the
// "inject vector N after K instructions" hypercall (the timer devices schedule on VirtualClock
// instead). The run loop arms the core's preemption timer for the earliest
// deadline, so the guest stops exactly there; the VMM reports that stop as an external-interrupt
// exit (reason 1), which is what it models: an interrupt arriving while the guest ran. A saved
// machine keeps the deadlines (saveState).
// Each vector has one timer, as a device has one counter: scheduling a vector that is already
// scheduled moves its deadline. So a guest that schedules in a loop keeps at most 256 deadlines,
// and each schedule costs the host a bounded insert.

import { C_PREEMPTION_TIMER } from "../../assembly/vmcs-layout.js";
import type { Vmcs } from "../core/vmcs.js";
import { StatePath } from "../devices/saved-values.js";

interface Deadline {
  /** Retired-instruction count at which the interrupt is raised. */
  at: number;
  vector: number;
}

export class InterruptTimer {
  /** Sorted by `at`; equal deadlines keep the order they were scheduled in. */
  private readonly deadlines: Deadline[] = [];

  constructor(private readonly vmcs: Vmcs) {}

  /** Raises `vector` once the guest has retired `instructions` more instructions (replacing its earlier deadline). */
  schedule(vector: number, instructions: number): void {
    if (!Number.isInteger(vector) || vector < 0 || vector > 255) throw new RangeError(`interrupt vector must be 0-255, not ${vector}`);
    if (!Number.isSafeInteger(instructions) || instructions < 0) throw new RangeError(`instructions must be a whole number, 0 or more, not ${instructions}`);
    const now = this.vmcs.instructionsRetired();
    const at = now + instructions;
    const earlier = this.deadlines.findIndex((d) => d.vector === vector);
    if (earlier >= 0) this.deadlines.splice(earlier, 1);
    let i = this.deadlines.length;
    while (i > 0 && this.deadlines[i - 1].at > at) i--;
    this.deadlines.splice(i, 0, { at, vector });
    // Inside a VM entry's budget: make the current one end at the new deadline if it is sooner.
    if (instructions < this.vmcs.get(C_PREEMPTION_TIMER)) this.vmcs.set(C_PREEMPTION_TIMER, instructions);
  }

  saveState(): { deadlines: Deadline[] } {
    return { deadlines: this.deadlines.map((d) => ({ ...d })) };
  }

  /** The deadlines, in order, one per vector. */
  restoreState(state: { deadlines: Deadline[] }, at = new StatePath("timer")): void {
    const seen = new Set<number>();
    at.list("deadlines", state.deadlines, 256, (list, deadline, i) => {
      list.at(i).counter("at", deadline.at);
      list.at(i).integer("vector", deadline.vector, 0, 255);
      list.unique(i, deadline.vector, seen, `a deadline for vector ${deadline.vector}`);
      if (i > 0 && deadline.at < state.deadlines[i - 1].at) list.refuse(i, "comes before the deadline ahead of it: they are kept in order");
    });
    this.deadlines.length = 0;
    for (const { at: when, vector } of state.deadlines) this.deadlines.push({ at: when, vector });
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
