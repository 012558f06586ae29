// A DeviceClock the test moves by hand: time stands still until advance() and callbacks run in
// deadline order as time passes them, so timer devices can be tested to the nanosecond.

import type { ClockEvent, DeviceClock } from "../../src/devices/clock.js";

interface Scheduled {
  at: number;
  order: number;
  fire: () => void;
}

export class ManualClock implements DeviceClock {
  private time = 0;
  private events: Scheduled[] = [];
  private nextOrder = 0;

  now(): number {
    return this.time;
  }

  schedule(atNs: number, fire: () => void, order = this.nextOrder): ClockEvent {
    const event = { at: atNs, order, fire };
    this.nextOrder = Math.max(this.nextOrder, order + 1);
    this.events.push(event);
    return { at: atNs, order, cancel: () => (this.events = this.events.filter((e) => e !== event)) };
  }

  /** Deadlines still waiting, earliest first. */
  get pending(): number[] {
    return this.events.map((e) => e.at).sort((a, b) => a - b);
  }

  /** Moves time forward by `ns`, running every callback whose deadline is passed on the way. */
  advance(ns: number): void {
    const end = this.time + ns;
    for (;;) {
      const due = this.events.filter((e) => e.at <= end).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!due) break;
      this.events = this.events.filter((e) => e !== due);
      this.time = Math.max(this.time, due.at);
      due.fire();
    }
    this.time = end;
  }
}
