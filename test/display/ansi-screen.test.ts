import { describe, expect, it } from "vitest";
import { COLUMNS, ROWS, type TextScreen } from "../../src/devices/vga-text.js";
import { AnsiScreen, renderRow } from "../../src/display/ansi-screen.js";
import { renderScreen } from "../../src/display/screenshot.js";

function screen(text: string, attribute: number): TextScreen {
  const cells = new Uint16Array(COLUMNS * ROWS).fill(0x0720);
  [...text].forEach((c, i) => (cells[i] = c.charCodeAt(0) | (attribute << 8)));
  return { cells, cursor: { row: 0, column: 2, visible: true, startLine: 14, endLine: 15 }, blink: true };
}

describe("the VGA screen in a terminal", () => {
  it("renders a row in the VGA palette's exact colours, changing colour only where the attribute does", () => {
    const row = renderRow(screen("Hi\x01\xdb", 0x1e), 0);
    expect(row.startsWith("\x1b[38;2;255;255;85;48;2;0;0;170mHi☺█\x1b[38;2;170;170;170;48;2;0;0;0m ")).toBe(true);
    expect(row.endsWith("\x1b[0m")).toBe(true);
  });

  it("shows attribute bit 7 as blink (background from bits 4-6) unless blinking is off", () => {
    const s = screen("x", 0xc0);
    expect(renderRow(s, 0)).toContain("48;2;170;0;0m"); // red background, not bright red
    expect(renderRow({ ...s, blink: false }, 0)).toContain("48;2;255;85;85m");
  });

  it("redraws only the rows that changed and puts the cursor where the VGA's is", () => {
    const out: string[] = [];
    const ansi = new AnsiScreen((text) => out.push(text));
    ansi.draw(screen("one", 0x07));
    expect(out[0].match(/\x1b\[\d+;1H/g)).toHaveLength(ROWS);
    ansi.draw(screen("two", 0x07));
    expect(out[1].match(/\x1b\[\d+;1H/g)).toEqual(["\x1b[1;1H"]);
    expect(out[1].endsWith("\x1b[1;3H\x1b[?25h")).toBe(true);
  });
});

describe("the VGA screen as a picture", () => {
  it("draws 8x16 glyphs in the cell's colours and the cursor over its scan lines", () => {
    const font = new Uint8Array(256 * 16);
    font.fill(0x80, 0x41 * 16, 0x41 * 16 + 16); // 'A': the leftmost column lit
    const png = renderScreen(screen("A", 0x1e), font);
    const pixel = (x: number, y: number) => Array.from(png.data.subarray((y * 640 + x) * 4, (y * 640 + x) * 4 + 4));
    expect([png.width, png.height]).toEqual([640, 400]);
    expect(pixel(0, 5)).toEqual([255, 255, 85, 255]); // yellow glyph pixel
    expect(pixel(1, 5)).toEqual([0, 0, 170, 255]); // on blue
    expect(pixel(16 + 4, 14)).toEqual([170, 170, 170, 255]); // the cursor at column 2, lines 14-15
    expect(pixel(16 + 4, 13)).toEqual([0, 0, 0, 255]);
  });
});
