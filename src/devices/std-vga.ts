// QEMU's std-VGA (-vga std) as a display: the VGA registers (vga-text.ts, with the DAC), the dispi
// interface (bochs-dispi.ts), the PCI function whose BAR 0 is the video memory, and the one answer
// everything that shows the screen needs: what the mode is, where in guest-physical memory its
// frame buffer lives, and its pixels as RGBA (GraphicsDisplay). Which mode shows is decided as
// QEMU's vga_update_display decides it: dispi enabled, else blank while the attribute index's
// palette bit is clear, else graphics or text by the graphics controller's misc register.
//
// VGA graphics: only the 256-colour chain-4 layout (mode 13h and its relatives) is drawn. The
// frame buffer is guest RAM at 0xA0000 (64 KiB; a frame running past its end goes on in video
// memory, as on QEMU), pixel x of line y at start * 4 + y * offset * 8 + x, the size from the CRTC as QEMU reads it: (display end + 1) * 8 dots wide, each pixel two
// dots, and the vertical display end (with its overflow bits) in scan lines, each line repeated
// (maximum scan line + 1) times. Planar 16-colour and CGA modes show blank, as does the 4-bpp
// dispi mode; writes with chain-4 off are not modelled (the window is plain RAM).
// Dispi graphics: XRES x YRES pixels of 8 (DAC palette), 15, 16, 24 or 32 bpp from video memory.

import { BochsDispi, DISPI_PORT, DISPI_PORT_COUNT, type BochsDispiState } from "./bochs-dispi.js";
import type { IoBus } from "./bus.js";
import type { PortDevice } from "./device.js";
import { PCI_BAR0 } from "./pci-bus.js";
import { memoryBarAddress, stdVgaFunction } from "./pci-functions.js";
import { StatePath } from "./saved-values.js";
import { ATTRIBUTE_PALETTE_ENABLE, VGA_PORT, VGA_PORT_COUNT, VgaText } from "./vga-text.js";

/** The VGA graphics window: 0xA0000-0xAFFFF (graphics controller memory map 1). */
export const VGA_GRAPHICS_BASE = 0xa0000;
export const VGA_GRAPHICS_SIZE = 0x10000;

/** A guest-physical address range. */
export interface PhysicalRange {
  base: number;
  size: number;
}

/** What the screen shows now. */
export interface DisplayMode {
  /** "text": 80x25 cells (VgaText.snapshot()); "graphics": pixels (render()); "blank": black. */
  kind: "text" | "graphics" | "blank";
  /** Pixels at the guest's resolution (graphics and blank; 0 for text). */
  width: number;
  height: number;
  /** Bits per pixel in the frame buffer: 8 (palette), 15, 16, 24 or 32; 0 for text and blank. */
  bpp: number;
  /** Bytes from one line of the frame to the next. */
  lineBytes: number;
  /**
   * Where the visible frame lives, guest-physical: from its first pixel to its last line's end
   * (0xA0000 onwards in VGA modes, inside PCI BAR 0 in dispi modes). Empty for text and blank, or
   * while BAR 0 is not mapped.
   */
  frame: PhysicalRange;
}

/** A rectangle of the frame, in pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The interface the display-update strategies and every screen (terminal, PNG, canvas) use. */
export interface GraphicsDisplay {
  mode(): DisplayMode;
  /**
   * Draws `rect` (default: all) of the current graphics mode into `rgba`, a width x height x 4
   * byte image of the whole frame, at the rectangle's place: RGBA, alpha 255. Blank draws black.
   * The pixels come from guest memory, or from `frame`, a copy of mode().frame (the display
   * update's screen: byte 0 is the frame's first byte); a pixel past its end draws black.
   */
  render(rgba: Uint8Array | Uint8ClampedArray, rect?: Rect, frame?: Uint8Array): void;
  /** Bumped when the mode, the palette or a register the picture depends on changed. */
  readonly changes: number;
}

/** Where the std-VGA reads memory: guest RAM and its own video memory (views valid until memory grows). */
export interface VideoMemorySource {
  ram(): Uint8Array;
  video(): Uint8Array;
}

const GRAPHICS_MISC = 0x06;
const GRAPHICS_MODE = 0x05;
const MISC_GRAPHICS = 0x01;
const SHIFT_256_COLOURS = 2;
const CRTC_H_DISPLAY_END = 0x01;
const CRTC_OVERFLOW = 0x07;
const CRTC_MAX_SCAN = 0x09;
const CRTC_START_HIGH = 0x0c;
const CRTC_START_LOW = 0x0d;
const CRTC_V_DISPLAY_END = 0x12;
const CRTC_OFFSET = 0x13;
const NO_FRAME: PhysicalRange = { base: 0, size: 0 };
const BLACK = 0xff000000;

/** Bytes a pixel of `bpp` bits takes in the frame buffer (15 bpp pixels take 2). */
function bytesPerPixel(bpp: number): number {
  return (bpp + 7) >> 3;
}

/** The dispi registers; the VGA registers are saved as the VgaText, the PCI function with the bus, video memory beside RAM. */
export type StdVgaState = BochsDispiState;

export class StdVga implements GraphicsDisplay {
  readonly vga = new VgaText();
  readonly dispi: BochsDispi;
  readonly pci;
  /**
   * Called after every guest write to a register that may change the mode (VGA, dispi, the PCI
   * function): the display update follows the frame buffer from there (src/vmm/display-update.ts).
   */
  onRegisterWrite: (() => void) | undefined;
  /** Where BAR 0 maps the video memory now, or undefined. */
  private lfb: number | undefined;
  private lfbChanges = 0;

  constructor(
    bus: IoBus,
    private readonly memory: VideoMemorySource,
    /** Bytes of video memory (a power of two of at least 64 KiB). */
    readonly videoMemoryBytes: number,
    /** Told where BAR 0 maps the video memory (undefined: nowhere) whenever that changes. */
    private readonly mapVideoMemory: (base: number | undefined) => void,
  ) {
    bus.register(VGA_PORT, VGA_PORT_COUNT, this.tellingWrites(this.vga));
    this.dispi = new BochsDispi(videoMemoryBytes, (bytes) => this.memory.video().fill(0, 0, bytes));
    bus.register(DISPI_PORT, DISPI_PORT_COUNT, this.tellingWrites(this.dispi));
    this.pci = stdVgaFunction(videoMemoryBytes);
    this.pci.onWrite = () => {
      this.followBar();
      this.onRegisterWrite?.();
    };
    this.followBar();
  }

  /** `device` on the bus, calling onRegisterWrite after each of its writes. */
  private tellingWrites(device: PortDevice): PortDevice {
    return {
      name: device.name,
      read: (offset, size) => device.read(offset, size),
      write: (offset, size, value) => {
        device.write(offset, size, value);
        this.onRegisterWrite?.();
      },
    };
  }

  get changes(): number {
    return this.dispi.changes + this.vga.dac.changes + this.lfbChanges;
  }

  saveState(): StdVgaState {
    return this.dispi.saveState();
  }

  restoreState(state: StdVgaState, at = new StatePath("display")): void {
    this.dispi.restoreState(state, at);
  }

  /** BAR 0 moved, or memory decoding went on or off. */
  followBar(): void {
    const lfb = memoryBarAddress(this.pci, PCI_BAR0, this.videoMemoryBytes);
    if (lfb === this.lfb) return;
    this.lfb = lfb;
    this.lfbChanges++;
    this.mapVideoMemory(lfb);
  }

  mode(): DisplayMode {
    if (this.dispi.enabled) {
      const { width, height, bpp, lineBytes, startByte } = this.dispi.layout();
      const drawn = bpp === 4 ? 0 : bpp;
      const frame = this.lfb === undefined ? NO_FRAME : { base: this.lfb + startByte, size: (height - 1) * lineBytes + width * bytesPerPixel(drawn) };
      return { kind: drawn ? "graphics" : "blank", width, height, bpp: drawn, lineBytes, frame: drawn ? frame : NO_FRAME };
    }
    const { vga } = this;
    if (!(vga.graphics[GRAPHICS_MISC] & MISC_GRAPHICS)) return { kind: "text", width: 0, height: 0, bpp: 0, lineBytes: 0, frame: NO_FRAME };
    const { crtc } = vga;
    const dots = (crtc[CRTC_H_DISPLAY_END] + 1) * 8;
    const scanLines = (crtc[CRTC_V_DISPLAY_END] | ((crtc[CRTC_OVERFLOW] & 0x02) << 7) | ((crtc[CRTC_OVERFLOW] & 0x40) << 3)) + 1;
    const doubleScan = crtc[CRTC_MAX_SCAN] >> 7;
    const linesPerRow = ((crtc[CRTC_MAX_SCAN] & 0x1f) + 1) << doubleScan;
    const width = dots >> 1;
    const height = Math.ceil(scanLines / linesPerRow);
    const lineBytes = crtc[CRTC_OFFSET] << 3;
    const shown = (vga.attributeIndex & ATTRIBUTE_PALETTE_ENABLE) !== 0 && ((vga.graphics[GRAPHICS_MODE] >> 5) & 3) === SHIFT_256_COLOURS;
    if (!shown) return { kind: "blank", width, height, bpp: 0, lineBytes, frame: NO_FRAME };
    // The frame's part in the window; the rest, if any, lies in video memory past it (renderVga()).
    const start = this.vgaStartByte();
    const size = Math.min((height - 1) * lineBytes + width, VGA_GRAPHICS_SIZE - start);
    return { kind: "graphics", width, height, bpp: 8, lineBytes, frame: size > 0 ? { base: VGA_GRAPHICS_BASE + start, size } : NO_FRAME };
  }

  render(rgba: Uint8Array | Uint8ClampedArray, rect?: Rect, frame?: Uint8Array): void {
    const mode = this.mode();
    const { width, height } = mode;
    if (rgba.length < width * height * 4) throw new RangeError(`a ${width}x${height} frame needs ${width * height * 4} bytes, not ${rgba.length}`);
    const x0 = Math.max(0, rect?.x ?? 0);
    const y0 = Math.max(0, rect?.y ?? 0);
    const x1 = Math.min(width, rect ? rect.x + rect.width : width);
    const y1 = Math.min(height, rect ? rect.y + rect.height : height);
    const out = new Uint32Array(rgba.buffer, rgba.byteOffset, width * height);
    if (mode.kind !== "graphics") {
      for (let y = y0; y < y1; y++) out.fill(BLACK, y * width + x0, y * width + x1);
      return;
    }
    if (this.dispi.enabled) this.renderDispi(out, mode, x0, y0, x1, y1, frame);
    else this.renderVga(out, mode, x0, y0, x1, y1, frame);
  }

  /**
   * Dispi lines from video memory (or `frame`, its copy from the frame's first byte); the fix-up
   * keeps the frame inside video memory, and a mapped-out BAR changes where the guest sees it, not
   * what is shown. A pixel past the source's end draws black.
   */
  private renderDispi(out: Uint32Array, mode: DisplayMode, x0: number, y0: number, x1: number, y1: number, frame: Uint8Array | undefined): void {
    const source = frame ?? this.memory.video();
    const start = frame ? 0 : this.dispi.layout().startByte;
    const pixelBytes = bytesPerPixel(mode.bpp);
    const pixel = this.pixelReader(mode.bpp, source);
    for (let y = y0; y < y1; y++) {
      const line = start + y * mode.lineBytes;
      let at = y * mode.width + x0;
      // Whole lines inside the source, the common case, without a check per pixel; at 32 bpp a
      // word a pixel where the line is aligned (B, G, R, X in memory: swap red and blue).
      const inside = line + x1 * pixelBytes <= source.length;
      if (inside && mode.bpp === 32 && (source.byteOffset + line) % 4 === 0) {
        const words = new Uint32Array(source.buffer, source.byteOffset + line + x0 * 4, x1 - x0);
        for (let i = 0; i < words.length; i++) {
          const v = words[i];
          out[at++] = BLACK | ((v & 0xff) << 16) | (v & 0xff00) | ((v >>> 16) & 0xff);
        }
      } else {
        for (let x = x0; x < x1; x++) {
          const from = line + x * pixelBytes;
          out[at++] = inside || from + pixelBytes <= source.length ? pixel(from) : BLACK;
        }
      }
    }
  }

  /**
   * Mode 13h and its relatives: pixel x of line y is byte start + y * offset + x of video memory,
   * as QEMU's vga_draw_graphic reads it. Its first 64 KiB are the chain-4 window, guest RAM at
   * 0xA0000 (or `frame`, the copy of mode().frame, the window's part from the first pixel); a frame
   * that runs past the window's end goes on into video memory beyond 64 KiB (the same bytes a
   * dispi mode or the LFB wrote there), wrapping at its end, as QEMU's does (checked against
   * qemu-system-i386 7.2: test/guests/graphics.test.ts, "13h wrap"). Those bytes are read live.
   */
  private renderVga(out: Uint32Array, mode: DisplayMode, x0: number, y0: number, x1: number, y1: number, frame: Uint8Array | undefined): void {
    const ram = this.memory.ram(), video = this.memory.video();
    const start = this.vgaStartByte();
    const palette = this.palette(false);
    const window = frame ?? ram.subarray(VGA_GRAPHICS_BASE + Math.min(start, VGA_GRAPHICS_SIZE), VGA_GRAPHICS_BASE + VGA_GRAPHICS_SIZE);
    for (let y = y0; y < y1; y++) {
      const line = start + y * mode.lineBytes;
      let at = y * mode.width + x0;
      for (let x = x0; x < x1; x++) {
        const offset = line + x;
        const inWindow = offset - start; // into `window`, which starts at the first pixel
        if (offset >= VGA_GRAPHICS_SIZE) out[at++] = palette[video[offset % video.length]];
        else out[at++] = inWindow < window.length ? palette[window[inWindow]] : BLACK;
      }
    }
  }

  /** The DAC's 256 colours as 0xAABBGGRR. */
  private palette(eightBit: boolean): Uint32Array {
    return Uint32Array.from({ length: 256 }, (_, i) => this.vga.dac.rgba(i, eightBit));
  }

  /** The CRTC start address in bytes of video memory (QEMU: start * 4 in chain-4 memory). */
  private vgaStartByte(): number {
    const { crtc } = this.vga;
    return ((crtc[CRTC_START_HIGH] << 8) | crtc[CRTC_START_LOW]) * 4;
  }

  /** Reads one pixel at a byte offset of `source` as 0xAABBGGRR, as QEMU's line drawers convert it. */
  private pixelReader(bpp: number, source: Uint8Array): (at: number) => number {
    const rgba = (r: number, g: number, b: number) => (0xff000000 | (b << 16) | (g << 8) | r) >>> 0;
    switch (bpp) {
      case 8: {
        const palette = this.palette(this.dispi.dac8Bit);
        return (at) => palette[source[at]];
      }
      case 15:
        return (at) => {
          const v = source[at] | (source[at + 1] << 8);
          return rgba((v >> 7) & 0xf8, (v >> 2) & 0xf8, (v << 3) & 0xf8);
        };
      case 16:
        return (at) => {
          const v = source[at] | (source[at + 1] << 8);
          return rgba((v >> 8) & 0xf8, (v >> 3) & 0xfc, (v << 3) & 0xf8);
        };
      default: // 24 and 32: blue, green, red in memory order
        return (at) => rgba(source[at + 2], source[at + 1], source[at]);
    }
  }
}
