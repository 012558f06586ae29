import { beforeEach, describe, expect, it } from "vitest";
import { COLUMNS, VGA_TEXT_SIZE, VgaText } from "../../src/devices/vga-text.js";

const CRTC_INDEX = 0x14, CRTC_DATA = 0x15, STATUS = 0x1a, ATTR = 0x00, ATTR_READ = 0x01, MISC_WRITE = 0x02, MISC_READ = 0x0c;

describe("VgaText", () => {
  let vga: VgaText;
  let frameBuffer: Uint8Array; // the 32 KiB from 0xB8000
  beforeEach(() => {
    vga = new VgaText();
    frameBuffer = new Uint8Array(VGA_TEXT_SIZE);
  });
  const crtc = (index: number, value: number) => {
    vga.write(CRTC_INDEX, 1, index);
    vga.write(CRTC_DATA, 1, value);
  };

  it("reads characters and attributes from the frame buffer (0xB8000 on)", () => {
    frameBuffer.set([0x48, 0x1f, 0x69, 0x4e], 2 * (COLUMNS + 3));
    const screen = vga.snapshot(frameBuffer);
    expect(screen.cells[COLUMNS + 3]).toBe(0x1f48);
    expect(screen.cells[COLUMNS + 4]).toBe(0x4e69);
    expect(screen.blink).toBe(true);
  });

  it("places the cursor from CRTC registers 0x0E/0x0F and hides it with bit 5 of 0x0A", () => {
    crtc(0x0e, 0x00);
    crtc(0x0f, 0xa5); // 165 = row 2, column 5
    expect(vga.snapshot(frameBuffer).cursor).toMatchObject({ row: 2, column: 5, visible: true, startLine: 13, endLine: 14 });
    crtc(0x0a, 0x20);
    expect(vga.snapshot(frameBuffer).cursor.visible).toBe(false);
    vga.write(CRTC_INDEX, 1, 0x0f);
    expect(vga.read(CRTC_DATA, 1)).toBe(0xa5);
  });

  it("takes a word OUT to the CRTC index as index and data", () => {
    vga.write(CRTC_INDEX, 2, 0x0e | (0x01 << 8));
    vga.write(CRTC_INDEX, 2, 0x0f | (0x00 << 8));
    expect(vga.snapshot(frameBuffer).cursor).toMatchObject({ row: 3, column: 16 });
  });

  it("scrolls with the start address: the screen begins that many cells in", () => {
    frameBuffer[2 * COLUMNS] = 0x41;
    crtc(0x0c, 0);
    crtc(0x0d, COLUMNS);
    expect(vga.snapshot(frameBuffer).cells[0] & 0xff).toBe(0x41);
  });

  it("toggles the retrace bits of input status 1 on every read", () => {
    const a = vga.read(STATUS, 1) & 9;
    const b = vga.read(STATUS, 1) & 9;
    expect(a ^ b).toBe(9);
  });

  it("runs the attribute controller's index/data flip-flop, reset by reading input status 1", () => {
    vga.read(STATUS, 1);
    vga.write(ATTR, 1, 0x10); // index: attribute mode control
    vga.write(ATTR, 1, 0x00); // data: blink off
    expect(vga.read(ATTR_READ, 1)).toBe(0x00);
    expect(vga.snapshot(frameBuffer).blink).toBe(false);
  });

  it("keeps miscellaneous output as written", () => {
    expect(vga.read(MISC_READ, 1)).toBe(0x67);
    vga.write(MISC_WRITE, 1, 0x63);
    expect(vga.read(MISC_READ, 1)).toBe(0x63);
  });

  it("marks the screen dirty when a CRTC register changes the picture", () => {
    vga.dirty = false;
    crtc(0x0f, 0x10);
    expect(vga.dirty).toBe(true);
  });
});
