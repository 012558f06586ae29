// The PC's CMOS RAM and real-time clock, a Motorola MC146818 at 0x70 (index; bit 7 is the NMI mask,
// kept and ignored) and 0x71 (data), interrupting on IRQ 8. The time of day is derived from the
// device clock (clock.ts), so under the virtual clock a guest that reads the date twice sees exactly
// the virtual time between: the RTC starts at `startMs` (a fixed date by default, or the host's
// time) and runs with the machine. Registers: seconds/minutes/hours with their alarms, weekday,
// day, month, year and century (0x32), in BCD or binary and 12- or 24-hour form as status register
// B says; status A (update in progress for the last 244 us of each second, divider, periodic rate),
// B (SET freezes nothing here but lets the guest set the clock; PIE, AIE, UIE, DM, 24/12), C (flags,
// cleared by reading, which also lowers IRQ 8) and D (valid). Like a BIOS would, the RAM holds the
// base and extended memory sizes (0x15-0x18, 0x30-0x31), memory above 16 MiB in 64 KiB units
// (0x34-0x35) and the checksum over 0x10-0x2D. saveState()/restoreState() carry the RAM, the
// calendar and the pending periodic and once-a-second events across a saved machine.

import { NS_PER_SECOND, type ClockEvent, type DeviceClock } from "./clock.js";
import { UNCONNECTED, type IoSize, type IrqLine, type PortDevice } from "./device.js";
import { StatePath } from "./saved-values.js";

export const CMOS_PORT = 0x70;
export const CMOS_PORT_COUNT = 2;
export const RTC_IRQ = 8;

// Register numbers.
const SECONDS = 0x00;
const SECONDS_ALARM = 0x01;
const MINUTES = 0x02;
const MINUTES_ALARM = 0x03;
const HOURS = 0x04;
const HOURS_ALARM = 0x05;
const WEEKDAY = 0x06;
const DAY = 0x07;
const MONTH = 0x08;
const YEAR = 0x09;
const STATUS_A = 0x0a;
const STATUS_B = 0x0b;
const STATUS_C = 0x0c;
const STATUS_D = 0x0d;
const CENTURY = 0x32;
const TIME_REGISTERS = new Set([SECONDS, MINUTES, HOURS, WEEKDAY, DAY, MONTH, YEAR, CENTURY]);

const A_UIP = 0x80;
const B_PIE = 0x40;
const B_AIE = 0x20;
const B_UIE = 0x10;
const B_BINARY = 0x04;
const B_24_HOUR = 0x02;
const C_IRQF = 0x80;
const C_PF = 0x40;
const C_AF = 0x20;
const C_UF = 0x10;
const D_VALID = 0x80;
const HOUR_PM = 0x80;
const ALARM_ANY = 0xc0;
const UPDATE_NS = 244_000;
const NS_PER_MS = 1_000_000;
/** The largest time a JavaScript Date holds, in ms either side of 1970: the calendar's range. */
const MAX_DATE_MS = 8.64e15;

/** 2024-01-01 00:00:00 UTC: where the virtual clock's calendar starts unless told otherwise. */
export const DEFAULT_RTC_START_MS = Date.UTC(2024, 0, 1);

/** A pending clock event as saved: when, and its place among events due then. */
export interface SavedEvent {
  at: number;
  order: number;
}

export interface CmosRtcState {
  ram: number[];
  index: number;
  epochMs: number;
  periodic: SavedEvent | null;
  secondly: SavedEvent | null;
}

/** The period of the periodic interrupt at the rate in status register A (rates 1 and 2 as 8 and 9). */
function periodNs(statusA: number): number {
  const rate = statusA & 0x0f;
  return (NS_PER_SECOND * (1 << ((rate < 3 ? rate + 7 : rate) - 1))) / 32768;
}

/** A saved event: at a time no later than `latest` (it may be overdue), in its place among events due then. */
function checkEvent(at: StatePath, event: SavedEvent, latest: number): void {
  at.number("at", event.at, 0, latest);
  at.counter("order", event.order);
}

const toBcd = (n: number) => ((n / 10) | 0) * 16 + (n % 10);
const fromBcd = (n: number) => (n >> 4) * 10 + (n & 15);

export class CmosRtc implements PortDevice {
  readonly name = "cmos-rtc";
  private readonly ram = new Uint8Array(128);
  private index = 0;
  /** The calendar time at clock 0, moved when the guest sets the clock. */
  private epochMs: number;
  private periodic: ClockEvent | undefined;
  private secondly: ClockEvent | undefined;

  constructor(
    private readonly clock: DeviceClock,
    memoryBytes: number,
    private readonly irq: IrqLine = UNCONNECTED,
    startMs = DEFAULT_RTC_START_MS,
  ) {
    this.epochMs = startMs - clock.now() / NS_PER_MS;
    this.ram[STATUS_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    this.ram[STATUS_B] = B_24_HOUR;
    this.ram[STATUS_D] = D_VALID;
    this.setMemorySize(memoryBytes);
  }

  saveState(): CmosRtcState {
    const saved = (event: ClockEvent | undefined) => (event === undefined ? null : { at: event.at, order: event.order });
    return { ram: [...this.ram], index: this.index, epochMs: this.epochMs, periodic: saved(this.periodic), secondly: saved(this.secondly) };
  }

  /** Takes the saved registers as they are and re-arms the saved events; nothing is signalled. */
  restoreState(state: CmosRtcState, at = new StatePath(this.name)): void {
    at.bytes("ram", state.ram, this.ram.length);
    at.integer("index", state.index, 0, 0x7f);
    at.number("epochMs", state.epochMs, -MAX_DATE_MS, MAX_DATE_MS);
    const [statusA, statusB] = [state.ram[STATUS_A], state.ram[STATUS_B]];
    const now = this.clock.now();
    // Each event as schedulePeriodic() and scheduleSecondly() leave it: only while enabled, and
    // no further off than one period.
    if (state.periodic !== null) {
      if (!(statusB & B_PIE) || !(statusA & 0x0f)) at.refuse("periodic", "is pending with periodic interrupts off in status registers A and B");
      checkEvent(at.at("periodic"), state.periodic, now + periodNs(statusA));
    }
    if (state.secondly !== null) {
      if (!(statusB & (B_UIE | B_AIE))) at.refuse("secondly", "is pending with update and alarm interrupts off in status register B");
      checkEvent(at.at("secondly"), state.secondly, now + NS_PER_SECOND);
    }
    this.periodic?.cancel();
    this.secondly?.cancel();
    this.periodic = this.secondly = undefined;
    this.ram.set(state.ram);
    this.index = state.index;
    this.epochMs = state.epochMs;
    if (state.periodic !== null) this.periodicAt(state.periodic.at, state.periodic.order);
    if (state.secondly !== null) this.secondlyAt(state.secondly.at, state.secondly.order);
  }

  read(offset: number, _size: IoSize): number {
    if (offset === 0) return 0xff; // the index register is write-only
    const reg = this.index;
    if (TIME_REGISTERS.has(reg)) return this.timeRegister(reg);
    if (reg === STATUS_A) return this.ram[STATUS_A] | (this.updateInProgress() ? A_UIP : 0);
    if (reg === STATUS_C) {
      const flags = this.ram[STATUS_C];
      this.ram[STATUS_C] = 0;
      this.irq(false);
      return flags;
    }
    return this.ram[reg];
  }

  write(offset: number, _size: IoSize, value: number): void {
    const byte = value & 0xff;
    if (offset === 0) {
      this.index = byte & 0x7f;
      return;
    }
    const reg = this.index;
    if (TIME_REGISTERS.has(reg)) this.setTimeRegister(reg, byte);
    else if (reg === STATUS_A) {
      this.ram[STATUS_A] = byte & 0x7f;
      this.schedulePeriodic();
    } else if (reg === STATUS_B) {
      this.ram[STATUS_B] = byte;
      this.schedulePeriodic();
      this.scheduleSecondly();
    } else if (reg !== STATUS_C && reg !== STATUS_D) this.ram[reg] = byte;
  }

  /** The calendar time now, in milliseconds since 1970. */
  nowMs(): number {
    return this.epochMs + this.clock.now() / NS_PER_MS;
  }

  private setMemorySize(bytes: number): void {
    const extendedKiB = Math.min(0xffff, Math.max(0, bytes / 1024 - 1024));
    const above16M = Math.min(0xffff, Math.max(0, (bytes - (16 << 20)) / 65536));
    const words: [number, number][] = [
      [0x15, 640],
      [0x17, extendedKiB],
      [0x30, extendedKiB],
      [0x34, above16M],
    ];
    for (const [reg, value] of words) {
      this.ram[reg] = value & 0xff;
      this.ram[reg + 1] = value >> 8;
    }
    let sum = 0;
    for (let reg = 0x10; reg <= 0x2d; reg++) sum += this.ram[reg];
    this.ram[0x2e] = sum >> 8;
    this.ram[0x2f] = sum & 0xff;
  }

  private get binary(): boolean {
    return (this.ram[STATUS_B] & B_BINARY) !== 0;
  }

  private encode(n: number): number {
    return this.binary ? n : toBcd(n);
  }

  private decode(n: number): number {
    return this.binary ? n : fromBcd(n);
  }

  private encodeHour(hour: number): number {
    if (this.ram[STATUS_B] & B_24_HOUR) return this.encode(hour);
    return this.encode(hour % 12 || 12) | (hour >= 12 ? HOUR_PM : 0);
  }

  private decodeHour(byte: number): number {
    if (this.ram[STATUS_B] & B_24_HOUR) return this.decode(byte);
    return (this.decode(byte & 0x7f) % 12) + (byte & HOUR_PM ? 12 : 0);
  }

  private timeRegister(reg: number): number {
    const t = new Date(Math.floor(this.nowMs()));
    switch (reg) {
      case SECONDS:
        return this.encode(t.getUTCSeconds());
      case MINUTES:
        return this.encode(t.getUTCMinutes());
      case HOURS:
        return this.encodeHour(t.getUTCHours());
      case WEEKDAY:
        return this.encode(t.getUTCDay() + 1);
      case DAY:
        return this.encode(t.getUTCDate());
      case MONTH:
        return this.encode(t.getUTCMonth() + 1);
      case YEAR:
        return this.encode(t.getUTCFullYear() % 100);
      default: // CENTURY
        return this.encode(Math.floor(t.getUTCFullYear() / 100));
    }
  }

  /** The guest sets one field of the clock: the calendar moves, the rest of the time stays. */
  private setTimeRegister(reg: number, byte: number): void {
    const now = this.nowMs();
    const t = new Date(Math.floor(now));
    const value = reg === HOURS ? this.decodeHour(byte) : this.decode(byte);
    if (reg === SECONDS) t.setUTCSeconds(value);
    else if (reg === MINUTES) t.setUTCMinutes(value);
    else if (reg === HOURS) t.setUTCHours(value);
    else if (reg === DAY) t.setUTCDate(value);
    else if (reg === MONTH) t.setUTCMonth(value - 1);
    else if (reg === YEAR) t.setUTCFullYear(Math.floor(t.getUTCFullYear() / 100) * 100 + value);
    else if (reg === CENTURY) t.setUTCFullYear(value * 100 + (t.getUTCFullYear() % 100));
    // WEEKDAY follows from the date.
    this.epochMs += t.getTime() - Math.floor(now);
    this.scheduleSecondly();
  }

  /** How far into the current second of the calendar the clock is. */
  private nsIntoSecond(): number {
    return (((this.nowMs() % 1000) + 1000) % 1000) * NS_PER_MS;
  }

  private updateInProgress(): boolean {
    return this.nsIntoSecond() >= NS_PER_SECOND - UPDATE_NS;
  }

  private raise(flag: number): void {
    this.ram[STATUS_C] |= flag;
    // PF, AF and UF sit at the bit positions of their enables PIE, AIE and UIE in register B.
    const enabled = this.ram[STATUS_B] & (B_PIE | B_AIE | B_UIE);
    if (flag & enabled && !(this.ram[STATUS_C] & C_IRQF)) {
      this.ram[STATUS_C] |= C_IRQF;
      this.irq(true);
    }
  }

  /** Periodic interrupts at 32768 >> (rate - 1) Hz while PIE is set. */
  private schedulePeriodic(): void {
    this.periodic?.cancel();
    this.periodic = undefined;
    const rate = this.ram[STATUS_A] & 0x0f;
    if (!(this.ram[STATUS_B] & B_PIE) || rate === 0) return;
    this.periodicAt(this.clock.now() + periodNs(this.ram[STATUS_A]));
  }

  private periodicAt(at: number, order?: number): void {
    const fire = () => {
      this.raise(C_PF);
      // Periods the clock went past meanwhile (a stalled host under the real clock, a restored
      // machine) would only set PF again: go on from the first one still to come.
      const period = periodNs(this.ram[STATUS_A]);
      this.periodicAt(at + period * Math.max(1, Math.floor((this.clock.now() - at) / period) + 1));
    };
    this.periodic = this.clock.schedule(at, fire, order);
  }

  /** Update-ended and alarm interrupts once a second, at each second boundary, while enabled. */
  private scheduleSecondly(): void {
    this.secondly?.cancel();
    this.secondly = undefined;
    if (!(this.ram[STATUS_B] & (B_UIE | B_AIE))) return;
    this.secondlyAt(this.clock.now() + NS_PER_SECOND - this.nsIntoSecond());
  }

  private secondlyAt(at: number, order?: number): void {
    const fire = () => {
      this.raise(C_UF);
      if (this.alarmMatches()) this.raise(C_AF);
      this.scheduleSecondly();
    };
    this.secondly = this.clock.schedule(at, fire, order);
  }

  private alarmMatches(): boolean {
    const pairs: [number, number][] = [
      [SECONDS_ALARM, SECONDS],
      [MINUTES_ALARM, MINUTES],
      [HOURS_ALARM, HOURS],
    ];
    return pairs.every(([alarm, reg]) => (this.ram[alarm] & ALARM_ANY) === ALARM_ANY || this.ram[alarm] === this.timeRegister(reg));
  }
}
