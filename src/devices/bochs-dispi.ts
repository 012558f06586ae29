// The Bochs/QEMU display interface ("dispi", VBE_DISPI in QEMU's vga.c): a 16-bit register
// selected at port 0x1CE and read or written at 0x1CF. A guest sets a mode by writing ENABLE 0,
// XRES, YRES, BPP, then ENABLE with the enabled bit (and the LFB bit; the frame buffer is the
// std-VGA's video memory at PCI BAR 0 either way). Every write while enabled is made consistent
// as QEMU's vbe_fixup_regs does, so an absurd mode reads back as QEMU's does with the same video
// memory: a bad depth becomes 8 bpp, the width a multiple of 8 from 8 to 16000, the height from 1
// to what the memory holds at that line length (VIRT_HEIGHT), and offsets that would show past
// the memory fall back to 0. Enabling clears the visible frame unless NOCLEARMEM is set. The
// 0xA0000 bank window (BANK) is kept but not mapped: guests here draw through the LFB.

import type { IoSize, PortDevice } from "./device.js";
import { StatePath } from "./saved-values.js";

export const DISPI_PORT = 0x1ce;
/** 0x1CE index, 0x1CF data. */
export const DISPI_PORT_COUNT = 2;

export const DISPI_ID = 0;
export const DISPI_XRES = 1;
export const DISPI_YRES = 2;
export const DISPI_BPP = 3;
export const DISPI_ENABLE = 4;
export const DISPI_BANK = 5;
export const DISPI_VIRT_WIDTH = 6;
export const DISPI_VIRT_HEIGHT = 7;
export const DISPI_X_OFFSET = 8;
export const DISPI_Y_OFFSET = 9;
/** Read-only: the video memory in 64 KiB units; also the count of the registers above. */
export const DISPI_VIDEO_MEMORY_64K = 10;

export const DISPI_ENABLED = 0x01;
/** While set in ENABLE, XRES, YRES and BPP read as the largest values the interface takes. */
const DISPI_GETCAPS = 0x02;
export const DISPI_8BIT_DAC = 0x20;
export const DISPI_LFB_ENABLED = 0x40;
const DISPI_NOCLEARMEM = 0x80;

/** The newest interface version QEMU implements; the ID register takes any of 0xB0C0-0xB0C5. */
const DISPI_ID_NEWEST = 0xb0c5;
const DISPI_ID_OLDEST = 0xb0c0;
export const DISPI_MAX_XRES = 16000;
export const DISPI_MAX_YRES = 12000;
const DISPI_MAX_BPP = 32;

export interface BochsDispiState {
  index: number;
  registers: number[];
}

/** Where the mode's visible frame starts in video memory and how far apart its lines are. */
export interface DispiLayout {
  width: number;
  height: number;
  bpp: number;
  lineBytes: number;
  startByte: number;
}

export class BochsDispi implements PortDevice {
  readonly name = "bochs-dispi";
  private readonly registers = new Uint16Array(DISPI_VIDEO_MEMORY_64K);
  private index = 0;
  /** Bytes per line and start of the visible frame, as the last fix-up computed them. */
  private lineBytes = 0;
  private startByte = 0;
  /** Bumped whenever the mode or its layout may have changed. */
  changes = 0;

  constructor(
    /** Bytes of video memory behind the LFB. */
    private readonly videoMemoryBytes: number,
    /** Zeroes the first `bytes` of video memory (enabling a mode clears what it shows). */
    private readonly clearVideoMemory: (bytes: number) => void,
  ) {
    this.registers[DISPI_ID] = DISPI_ID_NEWEST;
  }

  get enabled(): boolean {
    return (this.registers[DISPI_ENABLE] & DISPI_ENABLED) !== 0;
  }

  /** The DAC's components are 8 bits wide (ENABLE bit 5) instead of 6. */
  get dac8Bit(): boolean {
    return (this.registers[DISPI_ENABLE] & DISPI_8BIT_DAC) !== 0;
  }

  /** The enabled mode, as QEMU draws it: the start rounded down to a multiple of 4 bytes. */
  layout(): DispiLayout {
    const r = this.registers;
    return { width: r[DISPI_XRES], height: r[DISPI_YRES], bpp: r[DISPI_BPP], lineBytes: this.lineBytes, startByte: this.startByte };
  }

  read(offset: number, _size: IoSize): number {
    if (offset === 0) return this.index;
    const index = this.index;
    if (index === DISPI_VIDEO_MEMORY_64K) return this.videoMemoryBytes >>> 16;
    if (index > DISPI_VIDEO_MEMORY_64K) return 0;
    if (this.registers[DISPI_ENABLE] & DISPI_GETCAPS) {
      if (index === DISPI_XRES) return DISPI_MAX_XRES;
      if (index === DISPI_YRES) return DISPI_MAX_YRES;
      if (index === DISPI_BPP) return DISPI_MAX_BPP;
    }
    return this.registers[index];
  }

  write(offset: number, _size: IoSize, value: number): void {
    const v = value & 0xffff;
    if (offset === 0) {
      this.index = v;
      return;
    }
    const r = this.registers;
    switch (this.index) {
      case DISPI_ID:
        if (v >= DISPI_ID_OLDEST && v <= DISPI_ID_NEWEST) r[DISPI_ID] = v;
        return;
      case DISPI_XRES:
      case DISPI_YRES:
      case DISPI_BPP:
      case DISPI_VIRT_WIDTH:
      case DISPI_X_OFFSET:
      case DISPI_Y_OFFSET:
        r[this.index] = v;
        this.fixUp();
        break;
      case DISPI_BANK:
        r[DISPI_BANK] = v & ((this.videoMemoryBytes >>> 16) - 1);
        break;
      case DISPI_ENABLE:
        if (v & DISPI_ENABLED && !this.enabled) {
          r[DISPI_VIRT_WIDTH] = 0;
          r[DISPI_X_OFFSET] = 0;
          r[DISPI_Y_OFFSET] = 0;
          r[DISPI_ENABLE] |= DISPI_ENABLED;
          this.fixUp();
          if (!(v & DISPI_NOCLEARMEM)) this.clearVideoMemory(r[DISPI_YRES] * this.lineBytes);
        }
        r[DISPI_ENABLE] = v;
        break;
      default:
        return; // VIRT_HEIGHT and VIDEO_MEMORY_64K are read-only; other indexes hold nothing
    }
    this.changes++;
  }

  saveState(): BochsDispiState {
    return { index: this.index, registers: [...this.registers] };
  }

  restoreState(state: BochsDispiState, at = new StatePath(this.name)): void {
    at.integer("index", state.index, 0, 0xffff);
    at.list("registers", state.registers, this.registers.length, (path, value, i) => path.integer(i, value, 0, 0xffff));
    if (state.registers.length !== this.registers.length) at.refuse("registers", `has ${state.registers.length} entries, not ${this.registers.length}`);
    this.index = state.index;
    this.registers.set(state.registers);
    this.fixUp(); // recomputes the layout, and brings any register a forged file set out of range back in
    this.changes++;
  }

  /** QEMU's vbe_fixup_regs: only while enabled. */
  private fixUp(): void {
    if (!this.enabled) return;
    const r = this.registers;
    let bits: number;
    switch (r[DISPI_BPP]) {
      case 4: case 8: case 16: case 24: case 32:
        bits = r[DISPI_BPP];
        break;
      case 15:
        bits = 16;
        break;
      default:
        bits = r[DISPI_BPP] = 8;
    }
    r[DISPI_XRES] = Math.min(r[DISPI_XRES] & ~7 || 8, DISPI_MAX_XRES);
    r[DISPI_VIRT_WIDTH] = Math.max(Math.min(r[DISPI_VIRT_WIDTH] & ~7, DISPI_MAX_XRES), r[DISPI_XRES]);
    const lineBytes = Math.floor((r[DISPI_VIRT_WIDTH] * bits) / 8);
    const maxY = Math.floor(this.videoMemoryBytes / lineBytes);
    r[DISPI_YRES] = Math.min(r[DISPI_YRES] || 1, DISPI_MAX_YRES, maxY);
    r[DISPI_X_OFFSET] = Math.min(r[DISPI_X_OFFSET], DISPI_MAX_XRES);
    r[DISPI_Y_OFFSET] = Math.min(r[DISPI_Y_OFFSET], DISPI_MAX_YRES);
    const frameBytes = r[DISPI_YRES] * lineBytes;
    const xBytes = () => Math.floor((r[DISPI_X_OFFSET] * bits) / 8);
    let start = xBytes() + r[DISPI_Y_OFFSET] * lineBytes;
    if (start + frameBytes > this.videoMemoryBytes) {
      r[DISPI_Y_OFFSET] = 0;
      start = xBytes();
      if (start + frameBytes > this.videoMemoryBytes) {
        r[DISPI_X_OFFSET] = 0;
        start = 0;
      }
    }
    r[DISPI_VIRT_HEIGHT] = maxY; // the register keeps 16 bits, as QEMU's does
    this.lineBytes = lineBytes;
    this.startByte = start & ~3;
  }
}
