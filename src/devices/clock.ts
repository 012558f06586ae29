// Time as devices see it. Timer devices (the PIT, the RTC) read the current time and ask to be
// called back at a later one; they never look at the host's clock themselves. The VMM's clock
// (src/vmm/virtual-clock.ts) derives time from the instructions the guest has retired, so runs
// repeat exactly, or from the host's clock when asked to; tests drive a clock by hand.

export const NS_PER_SECOND = 1_000_000_000;

/** A callback scheduled with a DeviceClock. */
export interface ClockEvent {
  /** Drops the callback if it has not run yet. */
  cancel(): void;
}

export interface DeviceClock {
  /** Nanoseconds since the machine was switched on. */
  now(): number;
  /** Calls `fire` once the clock reaches `atNs` (at once if that has passed). */
  schedule(atNs: number, fire: () => void): ClockEvent;
}
