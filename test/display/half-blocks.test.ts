import { describe, expect, it } from "vitest";
import { halfBlockRows } from "../../src/display/half-blocks.js";
import { AnsiScreen } from "../../src/display/ansi-screen.js";

/** A width x height RGBA frame whose pixel x, y is colour(x, y). */
function frame(width: number, height: number, colour: (x: number, y: number) => [number, number, number]): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgba.set([...colour(x, y), 255], (y * width + x) * 4);
  return rgba;
}

const cells = (line: string) => [...line.matchAll(/\x1b\[38;2;(\d+;\d+;\d+);48;2;(\d+;\d+;\d+)m(▀+)/g)].flatMap((m) => Array(m[3].length).fill(`${m[1]}/${m[2]}`));

describe("graphics in a terminal, in half blocks", () => {
  it("shows two pixels a cell: the top one as the foreground of ▀, the bottom one as its background", () => {
    const rows = halfBlockRows(frame(2, 2, (x, y) => [x * 100, y * 100, 7]), 2, 2, 2, 1);
    expect(rows).toHaveLength(1);
    expect(cells(rows[0])).toEqual(["0;0;7/0;100;7", "100;0;7/100;100;7"]);
    expect(rows[0].endsWith("\x1b[0m\x1b[K")).toBe(true);
  });

  it("scales a large frame down to fit, keeping its aspect ratio, each cell pixel the mean of what it covers", () => {
    // 640x480 into 80 columns and 25 rows (50 pixel rows): 66x50, centred with 7 spaces.
    const rows = halfBlockRows(frame(640, 480, (x) => (x < 325 ? [255, 0, 0] : [0, 0, 255])), 640, 480, 80, 25);
    expect(rows).toHaveLength(25);
    expect(rows.every((row) => cells(row).length === 66)).toBe(true);
    expect(rows[0].startsWith("\x1b[0m       \x1b[38")).toBe(true);
    const first = cells(rows[0]);
    expect(first[0]).toBe("255;0;0/255;0;0");
    expect(first[65]).toBe("0;0;255/0;0;255");
    expect(first.filter((c) => c !== "255;0;0/255;0;0" && c !== "0;0;255/0;0;255")).toHaveLength(1); // the cell across the edge, blended
  });

  it("averages a one-pixel line into the cell that covers it rather than dropping it", () => {
    const rows = halfBlockRows(frame(8, 8, (x) => (x === 3 ? [255, 255, 255] : [0, 0, 0])), 8, 8, 2, 1);
    expect(cells(rows[0])).toEqual(["64;64;64/64;64;64", "0;0;0/0;0;0"]);
  });

  it("enlarges a small frame, and blanks the rows below it", () => {
    const rows = halfBlockRows(frame(2, 1, (x) => [x * 255, 0, 0]), 2, 1, 8, 3);
    expect(cells(rows[0])).toEqual(["0;0;0/0;0;0", "0;0;0/0;0;0", "0;0;0/0;0;0", "0;0;0/0;0;0", "255;0;0/255;0;0", "255;0;0/255;0;0", "255;0;0/255;0;0", "255;0;0/255;0;0"]);
    expect(cells(rows[1])).toHaveLength(8);
    expect(rows[2]).toBe("\x1b[0m\x1b[K");
  });

  it("redraws only the rows of the frame that changed, with the cursor hidden", () => {
    const out: string[] = [];
    const screen = new AnsiScreen((text) => out.push(text));
    screen.drawPixels(frame(4, 4, () => [1, 2, 3]), 4, 4, 4);
    expect(out[0].match(/\x1b\[\d+;1H/g)).toHaveLength(25);
    screen.drawPixels(frame(4, 4, (_x, y) => (y === 3 ? [9, 9, 9] : [1, 2, 3])), 4, 4, 4);
    expect(out[1].match(/\x1b\[\d+;1H/g)).toEqual(["\x1b[2;1H"]);
    expect(out[1].endsWith("\x1b[?25l")).toBe(true);
  });
});
