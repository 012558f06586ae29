// The checks every restoreState() makes before it takes a saved value, shared by the devices and
// the VMM's own state. A state file's checksum proves only that it was not damaged, not that it
// was written by wasmvisor: each value is checked against what the device could have produced
// (a register's width, a count's range, a queue's capacity, an event's time beside the clock),
// so a forged file is refused with one line naming the value, before any of it is applied, and
// never makes the host loop, grow or write where the guest could not.

/** A state file that cannot be restored; the message is one line that says why. */
export class SavedStateError extends Error {
  override name = "SavedStateError";
}

/** A machine that cannot be saved now (its nested guest runs, say); the message says why, in one line. */
export class UnsaveableStateError extends Error {
  override name = "UnsaveableStateError";
}

/** Where a value sits in a saved machine ("devices.pit.channels[0]"), and the checks of values there. */
export class StatePath {
  constructor(readonly path: string) {}

  /** A field (a name) or list entry (an index) below this one. */
  at(part: string | number): StatePath {
    return new StatePath(typeof part === "number" ? `${this.path}[${part}]` : `${this.path}.${part}`);
  }

  /** Refuses the file: what is wrong with the value at `part`. */
  refuse(part: string | number, what: string): never {
    throw new SavedStateError(`corrupt state file: ${this.at(part).path} ${what}`);
  }

  /** Refuses `value` at `part`, which should have been `expected`. */
  private outOfRange(part: string | number, value: unknown, expected: string): never {
    const shown = JSON.stringify(value) ?? String(value);
    return this.refuse(part, `is ${shown.length > 40 ? `${shown.slice(0, 40)}...` : shown}, ${expected}`);
  }

  /** A whole number from `min` to `max`. */
  integer(part: string | number, value: number, min: number, max: number): void {
    if (!Number.isInteger(value) || value < min || value > max) this.outOfRange(part, value, `not a whole number from ${min} to ${max}`);
  }

  /** A count that only grows from 0: a whole number JavaScript holds exactly. */
  counter(part: string | number, value: number): void {
    this.integer(part, value, 0, Number.MAX_SAFE_INTEGER);
  }

  byte(part: string | number, value: number): void {
    this.integer(part, value, 0, 0xff);
  }

  /** A number, not necessarily whole, from `min` to `max` (times in ns or ms). */
  number(part: string | number, value: number, min: number, max: number): void {
    if (typeof value !== "number" || !(value >= min && value <= max)) this.outOfRange(part, value, `not a number from ${min} to ${max}`);
  }

  flag(part: string | number, value: boolean): void {
    if (typeof value !== "boolean") this.outOfRange(part, value, "not true or false");
  }

  /** A list of at most `capacity` entries, each checked by `entry`. */
  list<T>(part: string | number, values: T[], capacity: number, entry: (at: StatePath, value: T, index: number) => void): void {
    if (values.length > capacity) this.refuse(part, `has ${values.length} entries, more than the ${capacity} it can hold`);
    const at = this.at(part);
    values.forEach((value, i) => entry(at, value, i));
  }

  /** Entry `index` of a list that holds each value once: `value` must not be among `seen`, those before it. */
  unique(index: number, value: number, seen: Set<number>, what: string): void {
    if (seen.has(value)) this.refuse(index, `holds ${what} again, which the list holds once`);
    seen.add(value);
  }

  /** A list of at most `capacity` bytes. */
  bytes(part: string | number, values: number[], capacity: number): void {
    this.list(part, values, capacity, (at, value, i) => at.byte(i, value));
  }
}
