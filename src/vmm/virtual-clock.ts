// The machine's clock, which the timer devices (PIT, RTC) run on. By default it is virtual: time is
// the number of instructions the guest has retired, at 10 ns each (a 100 MIPS machine), plus the
// time the guest spent halted, so the same guest with the same input sees the same times and
// interrupts at the same instructions on every run, however fast the host is. While the guest is
// halted nothing executes, so virtual time jumps straight to the next scheduled event instead of
// waiting for it. With `real`, time is the host's monotonic clock since the VM was created: guests
// see wall-clock time, runs no longer repeat, and a halted guest really waits.
// Events are callbacks at a time (DeviceClock.schedule); the run loop asks how many instructions
// the guest may run before the next one (the core's preemption-timer budget, so the guest stops
// exactly there under the virtual clock) and runs the ones that are due. A saved machine keeps the
// clock's own state here (saveState) and its events with the devices that scheduled them.

import { NS_PER_SECOND, type ClockEvent, type DeviceClock } from "../devices/clock.js";
import { StatePath } from "../devices/saved-values.js";

export const CLOCK_MODES = ["virtual", "real"] as const;
export type ClockMode = (typeof CLOCK_MODES)[number];

/** Virtual time per retired instruction. */
export const NS_PER_INSTRUCTION = 10;
export const VIRTUAL_MIPS = NS_PER_SECOND / NS_PER_INSTRUCTION / 1e6;
/** Under the real clock, how often (in instructions) the run loop looks at the time while events wait. */
const REAL_TIME_POLL_INSTRUCTIONS = 50_000;
const NS_PER_MS = 1_000_000;
/**
 * The latest time a saved machine may have reached: 2^64 ns, 584 years (a guest that only halts
 * between its RTC's once-a-second interrupts would take some ten hours of host time to get there).
 * Up to it a double counts nanoseconds in steps of at most 4 us, well under the RTC's shortest
 * period (122 us), so no event is ever rescheduled at its own time.
 */
const MAX_CLOCK_NS = 2 ** 64;

interface Scheduled {
  at: number;
  order: number;
  fire: () => void;
}

/** What a saved machine keeps of its clock; the events are saved by the devices that own them. */
export interface VirtualClockState {
  /** The time when the machine was saved (the real clock continues from it). */
  nowNs: number;
  idleNs: number;
  nextOrder: number;
}

export class VirtualClock implements DeviceClock {
  /** Sorted by time, then by order (by default the order they were scheduled in). */
  private readonly events: Scheduled[] = [];
  private nextOrder = 0;
  /** Virtual time the guest spent halted. */
  private idleNs = 0;
  private startMs = performance.now();

  constructor(
    private readonly instructionsRetired: () => number,
    readonly mode: ClockMode = "virtual",
    /** Told when an event becomes the earliest, so that a guest running on a budget stops for it. */
    private readonly onEarliest: () => void = () => {},
  ) {}

  now(): number {
    if (this.mode === "real") return Math.round((performance.now() - this.startMs) * NS_PER_MS);
    return this.instructionsRetired() * NS_PER_INSTRUCTION + this.idleNs;
  }

  schedule(atNs: number, fire: () => void, order = this.nextOrder): ClockEvent {
    const event = { at: atNs, order, fire };
    this.nextOrder = Math.max(this.nextOrder, order + 1);
    let i = this.events.length;
    while (i > 0 && (this.events[i - 1].at > atNs || (this.events[i - 1].at === atNs && this.events[i - 1].order > order))) i--;
    this.events.splice(i, 0, event);
    if (i === 0) this.onEarliest();
    return {
      at: atNs,
      order,
      cancel: () => {
        const at = this.events.indexOf(event);
        if (at >= 0) this.events.splice(at, 1);
      },
    };
  }

  saveState(): VirtualClockState {
    return { nowNs: this.now(), idleNs: this.idleNs, nextOrder: this.nextOrder };
  }

  /**
   * Before the devices restore their events (which they check against the time restored here).
   * The real clock goes on from the saved time; the virtual one is the guest's retired
   * instructions, already restored, and its idle time, which must add up to the saved time.
   */
  restoreState(state: VirtualClockState, at = new StatePath("clock")): void {
    at.number("nowNs", state.nowNs, 0, MAX_CLOCK_NS);
    at.number("idleNs", state.idleNs, 0, state.nowNs);
    at.counter("nextOrder", state.nextOrder);
    this.idleNs = state.idleNs;
    this.nextOrder = state.nextOrder;
    this.startMs = performance.now() - state.nowNs / NS_PER_MS;
    if (this.now() !== state.nowNs && this.mode === "virtual") {
      at.refuse("nowNs", `is ${state.nowNs}, not the ${this.now()} ns that the instructions retired and the idle time make`);
    }
  }

  /** Time of the earliest event, or Infinity. */
  get nextEvent(): number {
    return this.events.length > 0 ? this.events[0].at : Infinity;
  }

  /** Instructions the guest may retire before the clock needs looking at (Infinity: no events). */
  instructionsUntilNext(): number {
    if (this.events.length === 0) return Infinity;
    if (this.mode === "real") return REAL_TIME_POLL_INSTRUCTIONS;
    return Math.max(0, Math.ceil((this.events[0].at - this.now()) / NS_PER_INSTRUCTION));
  }

  /** Runs every event that is due, earliest first (events they schedule run too, if due). */
  runDue(): void {
    while (this.events.length > 0 && this.events[0].at <= this.now()) this.events.shift()!.fire();
  }

  /** Milliseconds of real time until the next event (real clock), for a host that wants to sleep. */
  msUntilNext(): number {
    return Math.max(0, (this.nextEvent - this.now()) / NS_PER_MS);
  }

  /**
   * The guest is halted under the virtual clock: time jumps to the next event, which then runs.
   * Returns the instructions' worth of time skipped, or undefined if nothing is scheduled.
   */
  skipToNextEvent(): number | undefined {
    if (this.mode !== "virtual" || this.events.length === 0) return undefined;
    const skipped = Math.max(0, this.events[0].at - this.now());
    this.idleNs += skipped;
    this.runDue();
    return skipped / NS_PER_INSTRUCTION;
  }
}
