// The VGA's registers at 0x3C0-0x3DF and the 80x25 colour text screen. Text mode's frame buffer is
// guest RAM at 0xB8000, two bytes per cell (character in code page 437, attribute: foreground in
// bits 0-3, background in 4-6, blink or bright background in 7). The CRTC (index 0x3D4, data 0x3D5)
// holds the timing that sizes a graphics screen, the cursor shape (0x0A/0x0B, bit 5 of 0x0A hides
// it), the start address (0x0C/0x0D, for hardware scrolling) and the cursor location (0x0E/0x0F);
// while bit 7 of its register 0x11 is set, registers 0-7 ignore writes (but bit 4 of 7), as on
// every VGA. Input status 1 (0x3DA) toggles its retrace bits on every read, so guests that wait for
// vertical retrace do not wait forever, and resets the attribute controller's index/data flip-flop
// (0x3C0); bit 5 of the attribute index enables the palette (clear: a graphics screen is blank) and
// the attribute mode control register (index 0x10) bit 3 chooses blink or bright backgrounds. The
// sequencer (0x3C4/0x3C5) and graphics controller (0x3CE/0x3CF) keep the bits QEMU keeps, which
// say whether the screen is graphics and how pixels are laid out (std-vga.ts reads them); the DAC
// is vga-dac.ts. Everything starts as a BIOS leaves mode 3.
// The frame buffer itself is guest RAM, not this device's: the VMM keeps the screen's copy of it
// (src/vmm/display-update.ts, by the strategy --display-update picks) and snapshot() reads the
// picture from that copy. saveState()/restoreState()
// carry the registers across a saved machine (the frame buffer is guest RAM and is saved with it).

import type { IoSize, PortDevice } from "./device.js";
import type { FrameBufferLayout } from "../vmm/display-update.js";
import { StatePath } from "./saved-values.js";
import { VgaDac, type VgaDacState } from "./vga-dac.js";

export const VGA_PORT = 0x3c0;
export const VGA_PORT_COUNT = 0x20;
export const VGA_TEXT_BASE = 0xb8000;
/** The text frame buffer window, 0xB8000-0xBFFFF (32 KiB: several pages of 80x25). */
export const VGA_TEXT_SIZE = 0x8000;
export const COLUMNS = 80;
export const ROWS = 25;
/** Scan lines per character row: mode 3's 400 lines over 25 rows (the font's glyphs are 8x16). */
export const GLYPH_HEIGHT = 16;
/** The text frame buffer as the display update sees it: rows of 80 two-byte cells. */
export const VGA_TEXT_LAYOUT: FrameBufferLayout = { base: VGA_TEXT_BASE, size: VGA_TEXT_SIZE, pitch: COLUMNS * 2, bytesPerPixel: 2, columns: COLUMNS, rows: Math.floor(VGA_TEXT_SIZE / (COLUMNS * 2)) };

// Offsets from 0x3C0.
const ATTRIBUTE = 0x00;
const ATTRIBUTE_READ = 0x01;
const MISC_WRITE = 0x02;
const SEQUENCER_INDEX = 0x04;
const SEQUENCER_DATA = 0x05;
const DAC_PIXEL_MASK = 0x06;
const DAC_READ_INDEX = 0x07; // reads: the DAC's state
const DAC_WRITE_INDEX = 0x08;
const DAC_DATA = 0x09;
const MISC_READ = 0x0c;
const GRAPHICS_INDEX = 0x0e;
const GRAPHICS_DATA = 0x0f;
const CRTC_INDEX = 0x14;
const CRTC_DATA = 0x15;
const INPUT_STATUS = 0x1a;

const CRTC_CURSOR_START = 0x0a;
const CRTC_CURSOR_END = 0x0b;
const CRTC_START_HIGH = 0x0c;
const CRTC_START_LOW = 0x0d;
const CRTC_CURSOR_HIGH = 0x0e;
const CRTC_CURSOR_LOW = 0x0f;
const CRTC_OVERFLOW = 0x07;
const CRTC_VSYNC_END = 0x11;
const CRTC_PROTECT = 0x80; // register 0x11 bit 7: registers 0-7 are write-protected
const OVERFLOW_UNPROTECTED = 0x10; // ... but for bit 4 of register 7
/** The bits of each sequencer and graphics register that QEMU keeps (sr_mask, gr_mask). */
const SEQUENCER_MASK = [0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff];
const GRAPHICS_MASK = [0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff];
/** Attribute index bit 5: the palette is enabled, and the screen shows. */
export const ATTRIBUTE_PALETTE_ENABLE = 0x20;
/** Mode 3 as a BIOS sets it up (the register tables every VGA programming guide gives). */
const MODE3_CRTC = [
  0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00,
  0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
];
const MODE3_SEQUENCER = [0x03, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00];
const MODE3_GRAPHICS = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff];
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
  sequencer: number[];
  graphics: number[];
  dac: VgaDacState;
  plain: number[];
  crtcIndex: number;
  attributeIndex: number;
  sequencerIndex: number;
  graphicsIndex: number;
  attributeFlipFlop: boolean;
  retrace: number;
}

export class VgaText implements PortDevice {
  readonly name = "vga";
  /** Set when a register that changes the picture is written, cleared by whoever redraws. */
  dirty = true;
  /** CRTC, attribute, sequencer and graphics controller registers, for std-vga.ts to read. */
  readonly crtc = new Uint8Array(0x19);
  readonly attribute = new Uint8Array(0x15);
  readonly sequencer = new Uint8Array(MODE3_SEQUENCER);
  readonly graphics = new Uint8Array(MODE3_GRAPHICS);
  readonly dac = new VgaDac();
  private readonly plain = new Uint8Array(VGA_PORT_COUNT);
  private crtcIndex = 0;
  /** As written, with bit 5 (ATTRIBUTE_PALETTE_ENABLE) set as a BIOS leaves it. */
  attributeIndex = ATTRIBUTE_PALETTE_ENABLE;
  private sequencerIndex = 0;
  private graphicsIndex = 0;
  private attributeFlipFlop = false;
  private retrace = 0;

  constructor() {
    this.crtc.set(MODE3_CRTC); // an underline cursor (0x0A/0x0B: 0x0D, 0x0E), registers 0-7 locked
    this.attribute[ATTRIBUTE_MODE] = BLINK_ENABLE;
    this.plain[MISC_READ] = 0x67;
  }

  saveState(): VgaTextState {
    const { crtcIndex, attributeIndex, sequencerIndex, graphicsIndex, attributeFlipFlop, retrace } = this;
    return {
      crtc: [...this.crtc], attribute: [...this.attribute], sequencer: [...this.sequencer], graphics: [...this.graphics], dac: this.dac.saveState(),
      plain: [...this.plain], crtcIndex, attributeIndex, sequencerIndex, graphicsIndex, attributeFlipFlop, retrace,
    };
  }

  restoreState(state: VgaTextState, at = new StatePath(this.name)): void {
    at.bytes("crtc", state.crtc, this.crtc.length);
    at.bytes("attribute", state.attribute, this.attribute.length);
    at.bytes("sequencer", state.sequencer, this.sequencer.length);
    at.bytes("graphics", state.graphics, this.graphics.length);
    at.bytes("plain", state.plain, this.plain.length);
    at.byte("crtcIndex", state.crtcIndex);
    at.byte("attributeIndex", state.attributeIndex);
    at.integer("sequencerIndex", state.sequencerIndex, 0, SEQUENCER_MASK.length - 1);
    at.integer("graphicsIndex", state.graphicsIndex, 0, 0x0f);
    if (state.retrace !== 0 && state.retrace !== RETRACE_BITS) at.refuse("retrace", `is ${state.retrace}, not 0 or ${RETRACE_BITS}`);
    this.dac.restoreState(state.dac, at.at("dac"));
    this.crtc.set(state.crtc);
    this.attribute.set(state.attribute);
    this.sequencer.set(state.sequencer);
    this.graphics.set(state.graphics);
    this.plain.set(state.plain);
    ({ crtcIndex: this.crtcIndex, attributeIndex: this.attributeIndex, attributeFlipFlop: this.attributeFlipFlop, retrace: this.retrace } = state);
    ({ sequencerIndex: this.sequencerIndex, graphicsIndex: this.graphicsIndex } = state);
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
      case SEQUENCER_INDEX:
        return this.sequencerIndex;
      case SEQUENCER_DATA:
        return this.sequencer[this.sequencerIndex];
      case GRAPHICS_INDEX:
        return this.graphicsIndex;
      case GRAPHICS_DATA:
        return this.graphics[this.graphicsIndex] ?? 0;
      case DAC_PIXEL_MASK:
        return this.dac.pixelMask;
      case DAC_READ_INDEX:
        return this.dac.status;
      case DAC_WRITE_INDEX:
        return this.dac.nextWrite;
      case DAC_DATA:
        return this.dac.readData();
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
        this.writeCrtc(this.crtcIndex, byte);
        this.dirty = true;
        break;
      case SEQUENCER_INDEX:
        this.sequencerIndex = byte & 7;
        break;
      case SEQUENCER_DATA:
        this.sequencer[this.sequencerIndex] = byte & SEQUENCER_MASK[this.sequencerIndex];
        this.dirty = true;
        break;
      case GRAPHICS_INDEX:
        this.graphicsIndex = byte & 0x0f;
        break;
      case GRAPHICS_DATA:
        if (this.graphicsIndex < this.graphics.length) this.graphics[this.graphicsIndex] = byte & GRAPHICS_MASK[this.graphicsIndex];
        this.dirty = true;
        break;
      case DAC_PIXEL_MASK:
        this.dac.pixelMask = byte;
        break;
      case DAC_READ_INDEX:
        this.dac.setReadIndex(byte);
        break;
      case DAC_WRITE_INDEX:
        this.dac.setWriteIndex(byte);
        break;
      case DAC_DATA:
        this.dac.writeData(byte);
        this.dirty = true;
        break;
      case ATTRIBUTE:
        if (this.attributeFlipFlop && (this.attributeIndex & 0x1f) < this.attribute.length) this.attribute[this.attributeIndex & 0x1f] = byte;
        else if (!this.attributeFlipFlop) this.attributeIndex = byte & 0x3f;
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

  private writeCrtc(index: number, value: number): void {
    if (index >= this.crtc.length) return;
    if (this.crtc[CRTC_VSYNC_END] & CRTC_PROTECT && index <= CRTC_OVERFLOW) {
      if (index === CRTC_OVERFLOW) this.crtc[index] = (this.crtc[index] & ~OVERFLOW_UNPROTECTED) | (value & OVERFLOW_UNPROTECTED);
      return;
    }
    this.crtc[index] = value;
  }

  /** Where the screen starts in the frame buffer, from the CRTC start address. */
  get startAddress(): number {
    return (this.crtc[CRTC_START_HIGH] << 8) | this.crtc[CRTC_START_LOW];
  }

  /** The screen as the monitor shows it, read from `frameBuffer` (the 32 KiB from 0xB8000). */
  snapshot(frameBuffer: Uint8Array): TextScreen {
    const cells = new Uint16Array(COLUMNS * ROWS);
    const start = this.startAddress * 2;
    for (let i = 0; i < cells.length; i++) {
      const at = (start + i * 2) % VGA_TEXT_SIZE;
      cells[i] = at + 1 < frameBuffer.length ? frameBuffer[at] | (frameBuffer[at + 1] << 8) : 0;
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
