// The Intel 8254 programmable interval timer at 0x40-0x43: three 16-bit down-counters clocked at
// 1.193182 MHz, channel 0's output wired to IRQ 0 (the PC's system timer). Nothing ticks: a
// channel remembers when its count was loaded and computes its count and output from the clock
// (clock.ts, virtual time by default) when the guest asks, as QEMU's hw/timer/i8254 does; channel
// 0 schedules one clock event per rising edge of its output, so a guest that programs 100 Hz costs
// the VMM one event per tick, not one per PIT clock. Supported: the control word (counter select,
// read/write LSB, MSB or both, modes 0-5, BCD flag kept), counter latch, the read-back command
// (count and status), null count. Interrupts come from modes 0 (once, at terminal count), 2 (rate
// generator) and 3 (square wave); channels 1 and 2 count but drive nothing (their gates, DRAM
// refresh and the speaker port 0x61, are not modelled). saveState()/restoreState() carry the
// channels, their latches and channel 0's next scheduled edge across a saved machine; a restore
// refuses a value no channel could hold (saved-values.ts), such as a count of 0 or an edge later
// than the next one. Edges the clock went past while one waited (a stalled host under the real
// clock) are not raised one by one: like edges arriving while IRR is set, they would latch nothing.

import { NS_PER_SECOND, type ClockEvent, type DeviceClock } from "./clock.js";
import { UNCONNECTED, type IoSize, type IrqLine, type PortDevice } from "./device.js";
import { StatePath } from "./saved-values.js";

export const PIT_PORT = 0x40;
export const PIT_PORT_COUNT = 4;
export const PIT_IRQ = 0;
export const PIT_HZ = 1_193_182;

const CONTROL = 3;
const READ_BACK = 3;
const ACCESS_LATCH = 0;
const ACCESS_LSB = 1;
const ACCESS_MSB = 2;
const ACCESS_WORD = 3;
const READ_BACK_NO_COUNT = 0x20;
const READ_BACK_NO_STATUS = 0x10;
const STATUS_OUTPUT = 0x80;
const STATUS_NULL_COUNT = 0x40;

/** One channel as saveState() gives it; `edge` is the pending interrupt edge, if any. */
export interface PitChannelState {
  mode: number;
  access: number;
  bcd: number;
  count: number;
  loadedAt: number;
  nullCount: boolean;
  writeLow: number | null;
  readHigh: boolean;
  latched: number[];
  status: number | null;
  edge: { period: number; order: number } | null;
}

export interface PitState {
  channels: PitChannelState[];
}

class Channel {
  mode = 0;
  access = ACCESS_WORD;
  bcd = 0;
  /** The count loaded, 1-65536 (a written 0 means 65536). */
  count = 0x10000;
  loadedAt = 0;
  nullCount = true;
  private writeLow: number | undefined;
  private readHigh = false;
  private latched: number[] = [];
  private status: number | undefined;
  private event: ClockEvent | undefined;
  /** Which rising edge since the load `event` is for. */
  private eventPeriod = 0;

  constructor(
    private readonly clock: DeviceClock,
    private readonly irq: IrqLine,
  ) {}

  program(access: number, mode: number, bcd: number): void {
    this.access = access;
    this.mode = mode > 5 ? mode - 4 : mode; // 6 and 7 are aliases of 2 and 3
    this.bcd = bcd;
    this.writeLow = undefined;
    this.readHigh = false;
    this.nullCount = true;
    this.stop();
  }

  /** Ticks of the 1.193182 MHz clock since the count was loaded. */
  private ticks(): number {
    return Math.floor(((this.clock.now() - this.loadedAt) * PIT_HZ) / NS_PER_SECOND);
  }

  /** The counting element's value now (what a latch would capture). */
  currentCount(): number {
    const d = this.ticks();
    switch (this.mode) {
      case 2:
        return this.count - (d % this.count);
      case 3:
        return (this.count - ((2 * d) % this.count)) & 0xffff;
      default:
        return (this.count - d) & 0xffff;
    }
  }

  /** The OUT pin now. */
  output(): boolean {
    const d = this.ticks();
    switch (this.mode) {
      case 0:
        return d >= this.count;
      case 1:
        return d < this.count;
      case 2:
        return d % this.count !== this.count - 1; // low for the one clock at count 1
      case 3:
        return d % this.count < (this.count + 1) >> 1;
      default:
        return d !== this.count; // modes 4 and 5: a one-clock low strobe at terminal count
    }
  }

  latchCount(): void {
    if (this.latched.length > 0) return; // a second latch before the first is read is ignored
    const count = this.currentCount();
    if (this.access === ACCESS_LSB) this.latched = [count & 0xff];
    else if (this.access === ACCESS_MSB) this.latched = [count >> 8];
    else this.latched = [count & 0xff, count >> 8];
  }

  latchStatus(): void {
    if (this.status !== undefined) return;
    this.status = (this.output() ? STATUS_OUTPUT : 0) | (this.nullCount ? STATUS_NULL_COUNT : 0) | (this.access << 4) | (this.mode << 1) | this.bcd;
  }

  read(): number {
    if (this.status !== undefined) {
      const status = this.status;
      this.status = undefined;
      return status;
    }
    if (this.latched.length > 0) return this.latched.shift()!;
    const count = this.currentCount();
    if (this.access === ACCESS_LSB) return count & 0xff;
    if (this.access === ACCESS_MSB) return count >> 8;
    this.readHigh = !this.readHigh;
    return this.readHigh ? count & 0xff : count >> 8;
  }

  write(byte: number): void {
    if (this.access === ACCESS_LSB) this.load(byte);
    else if (this.access === ACCESS_MSB) this.load(byte << 8);
    else if (this.writeLow === undefined) this.writeLow = byte;
    else {
      this.load(this.writeLow | (byte << 8));
      this.writeLow = undefined;
    }
  }

  private load(value: number): void {
    this.count = value === 0 ? 0x10000 : value;
    this.loadedAt = this.clock.now();
    this.nullCount = false;
    this.stop();
    this.irq(false);
    this.scheduleEdge(1);
  }

  /** When OUT rises for the `period`-th time after the load, in the modes that interrupt; undefined in the others. */
  private edgeTime(period: number): number | undefined {
    let tick: number;
    if (this.mode === 0 && period === 1) tick = this.count;
    else if (this.mode === 2 || this.mode === 3) tick = period * this.count;
    else return undefined;
    return this.loadedAt + Math.ceil((tick * NS_PER_SECOND) / PIT_HZ);
  }

  /** Whole periods of the count since the load: the rising edges so far in modes 2 and 3. */
  private periodsSoFar(): number {
    return Math.floor(this.ticks() / this.count);
  }

  /** Schedules the `period`-th rising edge of OUT after the load, for the modes that interrupt. */
  private scheduleEdge(period: number, order?: number): void {
    const at = this.edgeTime(period);
    if (at === undefined) return;
    this.eventPeriod = period;
    this.event = this.clock.schedule(
      at,
      () => {
        this.event = undefined;
        this.irq(true); // a rising edge latches IRQ 0 in the PIC ...
        this.irq(false); // ... which the next edge needs the line low for
        // Edges the clock went past meanwhile (a real clock on a stalled host, a restored machine)
        // would only latch the request again: go on from the first edge still to come.
        this.scheduleEdge(Math.max(period + 1, this.periodsSoFar() + 1));
      },
      order,
    );
  }

  saveState(): PitChannelState {
    const { mode, access, bcd, count, loadedAt, nullCount, readHigh, event } = this;
    const edge = event === undefined ? null : { period: this.eventPeriod, order: event.order };
    return { mode, access, bcd, count, loadedAt, nullCount, writeLow: this.writeLow ?? null, readHigh, latched: [...this.latched], status: this.status ?? null, edge };
  }

  /** Checks every saved value against what the channel can hold, then takes them. */
  restoreState(state: PitChannelState, at: StatePath): void {
    at.integer("mode", state.mode, 0, 5);
    at.integer("access", state.access, ACCESS_LSB, ACCESS_WORD);
    at.integer("bcd", state.bcd, 0, 1);
    at.integer("count", state.count, 1, 0x10000);
    at.number("loadedAt", state.loadedAt, 0, this.clock.now());
    if (state.writeLow !== null) at.byte("writeLow", state.writeLow);
    at.bytes("latched", state.latched, 2);
    if (state.status !== null) at.byte("status", state.status);
    this.stop();
    ({ mode: this.mode, access: this.access, bcd: this.bcd, count: this.count, loadedAt: this.loadedAt, nullCount: this.nullCount, readHigh: this.readHigh } = state);
    this.writeLow = state.writeLow ?? undefined;
    this.latched = [...state.latched];
    this.status = state.status ?? undefined;
    if (state.edge !== null) {
      // The edge to come: one the channel's mode raises, no later than the first after now.
      const edge = at.at("edge");
      edge.integer("period", state.edge.period, 1, this.mode === 0 ? 1 : this.periodsSoFar() + 1);
      edge.counter("order", state.edge.order);
      if (this.edgeTime(state.edge.period) === undefined) at.refuse("edge", `is pending in mode ${this.mode}, which raises no interrupt`);
      this.scheduleEdge(state.edge.period, state.edge.order);
    }
  }

  private stop(): void {
    this.event?.cancel();
    this.event = undefined;
  }
}

export class Pit8254 implements PortDevice {
  readonly name = "pit-8254";
  readonly channels: Channel[];

  /** `irq0` is channel 0's output line. */
  constructor(clock: DeviceClock, irq0: IrqLine = UNCONNECTED) {
    this.channels = [new Channel(clock, irq0), new Channel(clock, UNCONNECTED), new Channel(clock, UNCONNECTED)];
  }

  saveState(): PitState {
    return { channels: this.channels.map((channel) => channel.saveState()) };
  }

  restoreState(state: PitState, at = new StatePath(this.name)): void {
    this.channels.forEach((channel, i) => channel.restoreState(state.channels[i], at.at("channels").at(i)));
  }

  read(offset: number, _size: IoSize): number {
    return offset === CONTROL ? 0xff : this.channels[offset].read(); // the control port is write-only
  }

  write(offset: number, _size: IoSize, value: number): void {
    const byte = value & 0xff;
    if (offset !== CONTROL) {
      this.channels[offset].write(byte);
      return;
    }
    const select = byte >> 6;
    if (select === READ_BACK) {
      for (let i = 0; i < 3; i++) {
        if (!(byte & (2 << i))) continue;
        if (!(byte & READ_BACK_NO_STATUS)) this.channels[i].latchStatus();
        if (!(byte & READ_BACK_NO_COUNT)) this.channels[i].latchCount();
      }
      return;
    }
    const access = (byte >> 4) & 3;
    if (access === ACCESS_LATCH) this.channels[select].latchCount();
    else this.channels[select].program(access, (byte >> 1) & 7, byte & 1);
  }
}
