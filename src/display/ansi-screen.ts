// `--display vga`: the guest's VGA text screen drawn in a terminal with ANSI escape sequences, in
// the VGA palette's exact colours (24-bit SGR) and code page 437 shown as Unicode. Only rows that
// changed since the last frame are redrawn, so a guest updating a counter costs one row per
// refresh, and the terminal's cursor is put where the VGA cursor is. A graphics frame is drawn in
// half blocks (half-blocks.ts), scaled to the same area, its rows redrawn only when they changed
// too. The screen occupies the top 25 rows; the rows below it can scroll on their own
// (consoleRegion()) for COM1's output.

import { COLUMNS, ROWS, type TextScreen } from "../devices/vga-text.js";
import { halfBlockRows } from "./half-blocks.js";
import { CP437, VGA_COLOURS, cellColours } from "./vga-palette.js";

const ESC = "\x1b[";

function sgr(fg: number, bg: number): string {
  const [r, g, b] = VGA_COLOURS[fg];
  const [R, G, B] = VGA_COLOURS[bg];
  return `${ESC}38;2;${r};${g};${b};48;2;${R};${G};${B}m`;
}

/** One row of the screen as text with colour changes, ending with the colours reset. */
export function renderRow(screen: TextScreen, row: number): string {
  let text = "";
  let last = -1;
  for (let column = 0; column < COLUMNS; column++) {
    const cell = screen.cells[row * COLUMNS + column];
    const attribute = cell >> 8;
    if (attribute !== last) {
      const { fg, bg } = cellColours(attribute, screen.blink);
      text += sgr(fg, bg);
      last = attribute;
    }
    text += CP437[cell & 0xff];
  }
  return `${text}${ESC}0m`;
}

export class AnsiScreen {
  private readonly shown: string[] = [];

  constructor(private readonly write: (text: string) => void) {}

  /** Draws the rows that changed and places (or hides) the cursor. */
  draw(screen: TextScreen): void {
    const out = this.changedRows(Array.from({ length: ROWS }, (_, row) => renderRow(screen, row)));
    const { cursor } = screen;
    this.write(out + (cursor.visible ? `${ESC}${cursor.row + 1};${cursor.column + 1}H${ESC}?25h` : `${ESC}?25l`));
  }

  /** Draws a graphics frame (RGBA, width x height) in the screen's 25 rows and `columns` columns. */
  drawPixels(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, columns: number): void {
    this.write(this.changedRows(halfBlockRows(rgba, width, height, columns, ROWS)) + `${ESC}?25l`);
  }

  /** The sequence that rewrites the rows that differ from what is shown. */
  private changedRows(rows: string[]): string {
    let out = "";
    rows.forEach((text, row) => {
      if (text === this.shown[row]) return;
      this.shown[row] = text;
      out += `${ESC}${row + 1};1H${text}`;
    });
    return out;
  }

  /**
   * Clears the terminal and makes rows 27 onwards (of `terminalRows`) a scrolling region for
   * console text below the screen; returns the sequence that writes `text` there.
   */
  consoleRegion(terminalRows: number): ((text: string) => string) | undefined {
    this.write(`${ESC}2J`);
    this.shown.length = 0;
    if (terminalRows < ROWS + 3) return undefined;
    this.write(`${ESC}${ROWS + 2};${terminalRows}r`);
    return (text) => `\x1b7${ESC}${terminalRows};1H${text}\x1b8`;
  }

  /** Gives the terminal back: whole-screen scrolling, cursor visible and below everything drawn. */
  release(terminalRows: number): void {
    this.write(`${ESC}r${ESC}?25h${ESC}${Math.max(terminalRows, ROWS + 1)};1H\n`);
  }
}
