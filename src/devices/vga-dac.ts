// The VGA DAC: 256 palette entries of red, green and blue. 0x3C8 sets the entry the next writes
// go to, 0x3C7 the one the next reads come from; 0x3C9 then takes or gives the components one at
// a time. As on QEMU: the byte is kept whole (the picture uses its low 6 bits, or all 8 with the
// dispi interface's 8-bit DAC), a written entry changes on its third component, and reads and
// writes share the component counter. 0x3C7 reads back 0 after a write index was set, 3 after a
// read index; 0x3C6 is the pixel mask, kept and not applied (QEMU ignores it too).

import { StatePath } from "./saved-values.js";

export const DAC_ENTRIES = 256;

export interface VgaDacState {
  palette: number[];
  pending: number[];
  readIndex: number;
  writeIndex: number;
  component: number;
  state: number;
  pixelMask: number;
}

const STATE_WRITING = 0;
const STATE_READING = 3;

export class VgaDac {
  /** Red, green, blue per entry, as written. */
  readonly palette = new Uint8Array(DAC_ENTRIES * 3);
  private readonly pending = new Uint8Array(3);
  private readIndex = 0;
  private writeIndex = 0;
  private component = 0;
  private state = STATE_WRITING;
  pixelMask = 0xff;
  /** Counts palette changes, so a picture knows when its colours are stale. */
  changes = 0;

  setReadIndex(index: number): void {
    this.readIndex = index & 0xff;
    this.component = 0;
    this.state = STATE_READING;
  }

  setWriteIndex(index: number): void {
    this.writeIndex = index & 0xff;
    this.component = 0;
    this.state = STATE_WRITING;
  }

  get status(): number {
    return this.state;
  }

  get nextWrite(): number {
    return this.writeIndex;
  }

  readData(): number {
    const value = this.palette[this.readIndex * 3 + this.component];
    if (++this.component === 3) {
      this.component = 0;
      this.readIndex = (this.readIndex + 1) & 0xff;
    }
    return value;
  }

  writeData(value: number): void {
    this.pending[this.component] = value & 0xff;
    if (++this.component === 3) {
      this.palette.set(this.pending, this.writeIndex * 3);
      this.component = 0;
      this.writeIndex = (this.writeIndex + 1) & 0xff;
      this.changes++;
    }
  }

  /** Entry `index` as 0xAABBGGRR (RGBA bytes in memory order): 6-bit components widened as QEMU does, or 8-bit ones as they are. */
  rgba(index: number, eightBit: boolean): number {
    const at = index * 3;
    const widen = eightBit ? (v: number) => v : sixToEight;
    return (0xff000000 | (widen(this.palette[at + 2]) << 16) | (widen(this.palette[at + 1]) << 8) | widen(this.palette[at])) >>> 0;
  }

  saveState(): VgaDacState {
    const { readIndex, writeIndex, component, state, pixelMask } = this;
    return { palette: [...this.palette], pending: [...this.pending], readIndex, writeIndex, component, state, pixelMask };
  }

  restoreState(state: VgaDacState, at: StatePath): void {
    at.bytes("palette", state.palette, this.palette.length);
    if (state.palette.length !== this.palette.length) at.refuse("palette", `has ${state.palette.length} bytes, not ${this.palette.length}`);
    at.bytes("pending", state.pending, 3);
    at.byte("readIndex", state.readIndex);
    at.byte("writeIndex", state.writeIndex);
    at.integer("component", state.component, 0, 2);
    if (state.state !== STATE_WRITING && state.state !== STATE_READING) at.refuse("state", `is ${state.state}, not ${STATE_WRITING} or ${STATE_READING}`);
    at.byte("pixelMask", state.pixelMask);
    this.palette.set(state.palette);
    this.pending.set(state.pending);
    ({ readIndex: this.readIndex, writeIndex: this.writeIndex, component: this.component, state: this.state, pixelMask: this.pixelMask } = state);
    this.changes++;
  }
}

/** A 6-bit DAC component on an 8-bit scale, QEMU's c6_to_8: the low bit repeated into the two new ones. */
export function sixToEight(value: number): number {
  const v = value & 0x3f;
  const low = v & 1;
  return (v << 2) | (low << 1) | low;
}
