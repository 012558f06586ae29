// `--screenshot FILE.png`: the VGA text screen as a picture, the way a VGA monitor shows mode 3
// with 8-pixel-wide glyphs: 640x400 pixels, each cell an 8x16 glyph of code page 437 (the font is
// passed in: one byte per row, bit 7 leftmost) in its foreground colour on its background colour,
// and the cursor drawn over the scan lines the CRTC's cursor start and end registers select.
// Blinking characters are drawn in their visible phase. A graphics mode is saved as its pixels at
// the guest's resolution (320x200 for mode 13h, where QEMU's screendump doubles every pixel to
// 640x400; XRES x YRES for dispi modes), a blank screen as black at its size. Encoded with pngjs
// (pure JavaScript).

import { PNG } from "pngjs";
import type { StdVga } from "../devices/std-vga.js";
import { COLUMNS, GLYPH_HEIGHT, ROWS, type TextScreen } from "../devices/vga-text.js";
import { VGA_COLOURS, cellColours } from "./vga-palette.js";

const GLYPH_WIDTH = 8;

/** The screen as an RGBA image, 640x400. */
export function renderScreen(screen: TextScreen, font: Uint8Array): PNG {
  const png = new PNG({ width: COLUMNS * GLYPH_WIDTH, height: ROWS * GLYPH_HEIGHT });
  const { cursor } = screen;
  for (let row = 0; row < ROWS; row++) {
    for (let column = 0; column < COLUMNS; column++) {
      const cell = screen.cells[row * COLUMNS + column];
      const { fg, bg } = cellColours(cell >> 8, screen.blink);
      const cursorHere = cursor.visible && cursor.row === row && cursor.column === column;
      for (let y = 0; y < GLYPH_HEIGHT; y++) {
        let bits = font[(cell & 0xff) * GLYPH_HEIGHT + y];
        if (cursorHere && y >= cursor.startLine && y <= cursor.endLine) bits = 0xff;
        for (let x = 0; x < GLYPH_WIDTH; x++) {
          const [r, g, b] = VGA_COLOURS[bits & (0x80 >> x) ? fg : bg];
          const at = ((row * GLYPH_HEIGHT + y) * png.width + column * GLYPH_WIDTH + x) * 4;
          png.data[at] = r;
          png.data[at + 1] = g;
          png.data[at + 2] = b;
          png.data[at + 3] = 0xff;
        }
      }
    }
  }
  return png;
}

/** The screen as PNG file bytes, in whatever mode it is, from `screen`: the display update's copy of the frame buffer. */
export function screenshotPng(display: StdVga, screen: Uint8Array, font: Uint8Array): Buffer {
  const mode = display.mode();
  if (mode.kind === "text") return PNG.sync.write(renderScreen(display.vga.snapshot(screen), font));
  const png = new PNG({ width: mode.width, height: mode.height });
  display.render(png.data, undefined, screen);
  return PNG.sync.write(png);
}
