// VGA in 80x25 colour text mode, the screen every PC guest can write to: the frame buffer is guest
// RAM at 0xB8000, two bytes per cell (character in code page 437, attribute: foreground in bits 0-3,
// background in 4-6, blink or bright background in 7), and the registers at 0x3C0-0x3DF. The CRTC
// (index 0x3D4, data 0x3D5) holds the cursor shape (0x0A/0x0B, bit 5 of 0x0A hides it), the start
// address (0x0C/0x0D, for hardware scrolling) and the cursor location (0x0E/0x0F). Input status 1
// (0x3DA) toggles its retrace bits on every read, so guests that wait for vertical retrace do not
// wait forever, and resets the attribute controller's index/data flip-flop (0x3C0); the attribute
// mode control register (index 0x10) bit 3 chooses blink or bright backgrounds. The sequencer,
// graphics controller, DAC and miscellaneous output registers keep what is written, with no effect.
// The frame buffer itself is not trapped by this device: the VMM either reads it periodically
// (snapshot()) or, with --vga-trap, hears of each write (written()). saveState()/restoreState()
// carry the registers across a saved machine (the frame buffer is guest RAM and is saved with it).

import type { IoSize, PortDevice } from "./device.js";
import { StatePath } from "./saved-values.js";

export const VGA_PORT = 0x3c0;
export const VGA_PORT_COUNT = 0x20;
export const VGA_TEXT_BASE = 0xb8000;
/** The text frame buffer window, 0xB8000-0xBFFFF (32 KiB: several pages of 80x25). */
export const VGA_TEXT_SIZE = 0x8000;
export const COLUMNS = 80;
export const ROWS = 25;
/** Scan lines per character row: mode 3's 400 lines over 25 rows (the font's glyphs are 8x16). */
export const GLYPH_HEIGHT = 16;

// Offsets from 0x3C0.
const ATTRIBUTE = 0x00;
const ATTRIBUTE_READ = 0x01;
const MISC_WRITE = 0x02;
const SEQUENCER_INDEX = 0x04;
const MISC_READ = 0x0c;
const GRAPHICS_INDEX = 0x0e;
const CRTC_INDEX = 0x14;
const CRTC_DATA = 0x15;
const INPUT_STATUS = 0x1a;

const CRTC_CURSOR_START = 0x0a;
const CRTC_CURSOR_END = 0x0b;
const CRTC_START_HIGH = 0x0c;
const CRTC_START_LOW = 0x0d;
const CRTC_CURSOR_HIGH = 0x0e;
const CRTC_CURSOR_LOW = 0x0f;
const CURSOR_DISABLE = 0x20;
const ATTRIBUTE_MODE = 0x10;
const BLINK_ENABLE = 0x08;
const RETRACE_BITS = 0x09;

export interface TextScreen {
  /** COLUMNS x ROWS cells, row by row: character | attribute << 8. */
  cells: Uint16Array;
  cursor: { row: number; column: number; visible: boolean; startLine: number; endLine: number };
  /** Attribute bit 7 blinks the character (true, the default) or brightens the background. */
  blink: boolean;
}

export interface VgaTextState {
  crtc: number[];
  attribute: number[];
  plain: number[];
  crtcIndex: number;
  attributeIndex: number;
  attributeFlipFlop: boolean;
  retrace: number;
}

export class VgaText implements PortDevice {
  readonly name = "vga";
  /** Set by written(), cleared by whoever redraws: the frame buffer changed since. */
  dirty = true;
  private readonly crtc = new Uint8Array(0x19);
  private readonly attribute = new Uint8Array(0x15);
  private readonly plain = new Uint8Array(VGA_PORT_COUNT);
  private crtcIndex = 0;
  private attributeIndex = 0;
  private attributeFlipFlop = false;
  private retrace = 0;

  constructor() {
    this.crtc[CRTC_CURSOR_START] = 0x0d; // an underline cursor, as the BIOS sets up mode 3
    this.crtc[CRTC_CURSOR_END] = 0x0e;
    this.attribute[ATTRIBUTE_MODE] = BLINK_ENABLE;
    this.plain[MISC_READ] = 0x67;
  }

  saveState(): VgaTextState {
    const { crtcIndex, attributeIndex, attributeFlipFlop, retrace } = this;
    return { crtc: [...this.crtc], attribute: [...this.attribute], plain: [...this.plain], crtcIndex, attributeIndex, attributeFlipFlop, retrace };
  }

  restoreState(state: VgaTextState, at = new StatePath(this.name)): void {
    at.bytes("crtc", state.crtc, this.crtc.length);
    at.bytes("attribute", state.attribute, this.attribute.length);
    at.bytes("plain", state.plain, this.plain.length);
    at.byte("crtcIndex", state.crtcIndex);
    at.byte("attributeIndex", state.attributeIndex);
    if (state.retrace !== 0 && state.retrace !== RETRACE_BITS) at.refuse("retrace", `is ${state.retrace}, not 0 or ${RETRACE_BITS}`);
    this.crtc.set(state.crtc);
    this.attribute.set(state.attribute);
    this.plain.set(state.plain);
    ({ crtcIndex: this.crtcIndex, attributeIndex: this.attributeIndex, attributeFlipFlop: this.attributeFlipFlop, retrace: this.retrace } = state);
    this.dirty = true;
  }

  read(offset: number, _size: IoSize): number {
    switch (offset) {
      case CRTC_INDEX:
        return this.crtcIndex;
      case CRTC_DATA:
        return this.crtc[this.crtcIndex] ?? 0xff;
      case INPUT_STATUS:
        this.attributeFlipFlop = false;
        this.retrace ^= RETRACE_BITS;
        return this.retrace;
      case ATTRIBUTE:
        return this.attributeIndex;
      case ATTRIBUTE_READ:
        return this.attribute[this.attributeIndex & 0x1f] ?? 0xff;
      default:
        return this.plain[offset];
    }
  }

  write(offset: number, _size: IoSize, value: number): void {
    const byte = value & 0xff;
    if (_size === 2 && (offset === CRTC_INDEX || offset === SEQUENCER_INDEX || offset === GRAPHICS_INDEX)) {
      // A word OUT writes the index and the data register after it in one go.
      this.write(offset, 1, byte);
      this.write(offset + 1, 1, value >> 8);
      return;
    }
    switch (offset) {
      case CRTC_INDEX:
        this.crtcIndex = byte;
        break;
      case CRTC_DATA:
        if (this.crtcIndex < this.crtc.length) this.crtc[this.crtcIndex] = byte;
        this.dirty = true;
        break;
      case ATTRIBUTE:
        if (this.attributeFlipFlop && (this.attributeIndex & 0x1f) < this.attribute.length) this.attribute[this.attributeIndex & 0x1f] = byte;
        else if (!this.attributeFlipFlop) this.attributeIndex = byte;
        this.attributeFlipFlop = !this.attributeFlipFlop;
        this.dirty = true;
        break;
      case MISC_WRITE:
        this.plain[MISC_READ] = byte;
        break;
      default:
        this.plain[offset] = byte;
    }
  }

  /** The VMM saw the guest write the frame buffer at `address` (--vga-trap). */
  written(_address: number): void {
    this.dirty = true;
  }

  /** Where the screen starts in the frame buffer, from the CRTC start address. */
  get startAddress(): number {
    return (this.crtc[CRTC_START_HIGH] << 8) | this.crtc[CRTC_START_LOW];
  }

  /** The screen as the monitor would show it, read from guest RAM. */
  snapshot(ram: Uint8Array): TextScreen {
    const cells = new Uint16Array(COLUMNS * ROWS);
    const start = this.startAddress * 2;
    for (let i = 0; i < cells.length; i++) {
      const at = VGA_TEXT_BASE + ((start + i * 2) % VGA_TEXT_SIZE);
      cells[i] = at + 1 < ram.length ? ram[at] | (ram[at + 1] << 8) : 0;
    }
    const location = ((this.crtc[CRTC_CURSOR_HIGH] << 8) | this.crtc[CRTC_CURSOR_LOW]) - this.startAddress;
    const startLine = this.crtc[CRTC_CURSOR_START] & 0x1f;
    const endLine = this.crtc[CRTC_CURSOR_END] & 0x1f;
    const onScreen = location >= 0 && location < COLUMNS * ROWS;
    return {
      cells,
      cursor: {
        row: Math.floor(location / COLUMNS),
        column: location % COLUMNS,
        visible: onScreen && !(this.crtc[CRTC_CURSOR_START] & CURSOR_DISABLE) && startLine <= endLine,
        startLine,
        endLine,
      },
      blink: (this.attribute[ATTRIBUTE_MODE] & BLINK_ENABLE) !== 0,
    };
  }
}
