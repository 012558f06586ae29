// The VGA screen on a canvas: text, drawn the way the hardware scans it out: 80x25 cells of 9x16
// pixels (the 9th column repeats the 8th for the line-drawing characters 0xC0-0xDF, blank for the
// rest), glyphs from the 8x16 font, colours from the 16-colour VGA palette, attribute bit 7
// blinking the character (or brightening the background when the guest turns blinking off), and
// the cursor drawn over its scan lines, blinking. Keys typed while the canvas has focus go to the
// guest's PS/2 keyboard, and so does pasted text, a key press per character. The font (5.5 KB
// of the page's script) is a chunk of its own, fetched after the first paint, as xterm.js and
// uPlot are: until it arrives the screen stays blank. A graphics mode arrives as a frame of RGBA
// pixels (the worker draws it with the std-VGA's render()): the canvas takes the guest's
// resolution and aspect ratio, and the page's CSS scales it to fit.

import type { Rect } from "../../devices/std-vga.js";
import { COLUMNS, GLYPH_HEIGHT, ROWS, type TextScreen } from "../../devices/vga-text.js";
import { VGA_COLOURS, cellColours } from "../../display/vga-palette.js";
import { afterFirstPaint } from "./first-paint.js";

const CELL_WIDTH = 9;
/** Blink periods: the cursor toggles every 16 frames of 60 Hz, blinking text every 32. */
const CURSOR_BLINK_MS = 267;
const MODIFIER_KEYS = new Set(["Shift", "Control", "Alt", "Meta", "CapsLock", "AltGraph"]);

export class VgaScreen {
  private readonly context: CanvasRenderingContext2D;
  private image!: ImageData;
  private pixels!: Uint32Array;
  private font: Uint8Array | undefined;
  /** The palette as canvas pixels (RGBA bytes, little-endian in a Uint32). */
  private readonly palette = Uint32Array.from(VGA_COLOURS, ([r, g, b]) => (0xff << 24) | (b << 16) | (g << 8) | r);
  private screen: TextScreen | undefined;
  private phase = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    onKey: (key: string, ctrl: boolean) => void,
  ) {
    this.context = canvas.getContext("2d")!;
    this.resize(COLUMNS * CELL_WIDTH, ROWS * GLYPH_HEIGHT);
    // Nearest-neighbour scaling keeps the glyphs crisp when enlarged, but drops pixel columns
    // when shrinking (phone width), where smooth scaling reads better.
    new ResizeObserver(() => this.followScale()).observe(canvas);
    canvas.addEventListener("click", () => canvas.focus());
    canvas.addEventListener("keydown", (event) => {
      if (MODIFIER_KEYS.has(event.key) || event.altKey || event.metaKey) return;
      event.preventDefault();
      onKey(event.key, event.ctrlKey);
    });
    canvas.addEventListener("paste", (event) => {
      event.preventDefault();
      const text = event.clipboardData?.getData("text/plain") ?? "";
      // A character a key types goes as that key (a line end as Enter); a CR LF is one line end.
      for (const character of text.replace(/\r\n?/g, "\n")) onKey(character, false);
    });
    setInterval(() => {
      this.phase++;
      if (this.screen) this.draw();
    }, CURSOR_BLINK_MS);
    this.clear();
    void afterFirstPaint()
      .then(() => import("../vga-font.js"))
      .then(({ vgaFont }) => {
        this.font = vgaFont();
        if (this.screen) this.draw();
      });
  }

  show(screen: TextScreen): void {
    this.resize(COLUMNS * CELL_WIDTH, ROWS * GLYPH_HEIGHT);
    this.screen = screen;
    this.draw();
  }

  /**
   * A graphics mode's frame, width x height pixels, of which `rect` changed: its RGBA pixels line
   * after line (the worker sends the whole frame after a mode switch, since a new size clears).
   */
  showFrame(width: number, height: number, rect: Rect, rgba: Uint8ClampedArray): void {
    this.screen = undefined;
    this.resize(width, height);
    for (let y = 0; y < rect.height; y++) this.image.data.set(rgba.subarray(y * rect.width * 4, (y + 1) * rect.width * 4), ((rect.y + y) * width + rect.x) * 4);
    this.context.putImageData(this.image, 0, 0, rect.x, rect.y, rect.width, rect.height);
  }

  /** Gives the canvas a new resolution (and its aspect ratio), if it changed. */
  private resize(width: number, height: number): void {
    const { canvas } = this;
    if (this.image && canvas.width === width && canvas.height === height) return;
    canvas.width = width;
    canvas.height = height;
    canvas.style.aspectRatio = `${width} / ${height}`;
    this.image = this.context.createImageData(width, height);
    this.pixels = new Uint32Array(this.image.data.buffer);
    this.followScale();
  }

  private followScale(): void {
    this.canvas.classList.toggle("enlarged", this.canvas.clientWidth * devicePixelRatio >= this.canvas.width);
  }

  clear(): void {
    this.screen = undefined;
    this.pixels.fill(this.palette[0]);
    this.context.putImageData(this.image, 0, 0);
  }

  private draw(): void {
    if (!this.font) return;
    const { font } = this;
    const { cells, cursor, blink } = this.screen!;
    const textVisible = (this.phase & 2) === 0;
    const width = this.canvas.width;
    for (let cell = 0; cell < cells.length; cell++) {
      const character = cells[cell] & 0xff;
      const attribute = cells[cell] >> 8;
      const { fg, bg } = cellColours(attribute, blink);
      const hidden = blink && attribute & 0x80 && !textVisible;
      const foreground = this.palette[fg];
      const background = this.palette[bg];
      const lineGraphics = character >= 0xc0 && character <= 0xdf;
      const x0 = (cell % COLUMNS) * CELL_WIDTH;
      const y0 = Math.floor(cell / COLUMNS) * GLYPH_HEIGHT;
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        const bits = hidden ? 0 : font[character * GLYPH_HEIGHT + row];
        const ninth = lineGraphics ? bits & 1 : 0;
        let at = (y0 + row) * width + x0;
        for (let bit = 0x80; bit; bit >>= 1) this.pixels[at++] = bits & bit ? foreground : background;
        this.pixels[at] = ninth ? foreground : background;
      }
    }
    if (cursor.visible && (this.phase & 1) === 0) {
      const colour = this.palette[cellColours(cells[cursor.row * COLUMNS + cursor.column] >> 8, blink).fg];
      const last = Math.min(cursor.endLine, GLYPH_HEIGHT - 1);
      for (let line = cursor.startLine; line <= last; line++) {
        const at = (cursor.row * GLYPH_HEIGHT + line) * width + cursor.column * CELL_WIDTH;
        this.pixels.fill(colour, at, at + CELL_WIDTH);
      }
    }
    this.context.putImageData(this.image, 0, 0);
  }
}
