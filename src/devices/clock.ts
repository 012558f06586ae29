// Time as devices see it. Timer devices (the PIT, the RTC) read the current time and ask to be
// called back at a later one; they never look at the host's clock themselves. The VMM's clock
// (src/vmm/virtual-clock.ts) derives time from the instructions the guest has retired, so runs
// repeat exactly, or from the host's clock when asked to; tests drive a clock by hand. Events due
// at the same time fire in the order they were scheduled in; a device restoring a saved machine
// passes each event's old `order` back, so that order survives the save.

export const NS_PER_SECOND = 1_000_000_000;

/** A callback scheduled with a DeviceClock. */
export interface ClockEvent {
  /** When it fires, in ns. */
  readonly at: number;
  /** Its place among events due at the same time: lower fires first. */
  readonly order: number;
  /** Drops the callback if it has not run yet. */
  cancel(): void;
}

export interface DeviceClock {
  /** Nanoseconds since the machine was switched on. */
  now(): number;
  /**
   * Calls `fire` once the clock reaches `atNs` (at once if that has passed). `order` is only for
   * restoring a saved machine: the saved event's order; by default, after everything scheduled so far.
   */
  schedule(atNs: number, fire: () => void, order?: number): ClockEvent;
}
