import { beforeEach, describe, expect, it } from "vitest";
import { IoBus } from "../../src/devices/bus.js";
import { StdVga, VGA_GRAPHICS_BASE } from "../../src/devices/std-vga.js";
import { sixToEight } from "../../src/devices/vga-dac.js";
import { STD_VGA_LFB_ADDRESS } from "../../src/devices/pci-functions.js";

const VIDEO_BYTES = 0x200000;
// The standard mode 13h register table (guests/gfx/vga.c writes the same).
const MISC = 0x63;
const SEQ = [0x03, 0x01, 0x0f, 0x00, 0x0e];
const CRTC = [0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x0e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff];
const GC = [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff];
const AC = [...Array(16).keys(), 0x41, 0x00, 0x0f, 0x00, 0x00];

describe("std-VGA display", () => {
  let io: IoBus;
  let ram: Uint8Array;
  let video: Uint8Array;
  let mapped: (number | undefined)[];
  let display: StdVga;
  beforeEach(() => {
    io = new IoBus();
    ram = new Uint8Array(1 << 20);
    video = new Uint8Array(VIDEO_BYTES);
    mapped = [];
    display = new StdVga(io, { ram: () => ram, video: () => video }, VIDEO_BYTES, (base) => mapped.push(base));
  });
  const mode13h = (unlock = true) => {
    io.write(0x3c2, 1, MISC);
    SEQ.forEach((v, i) => io.write(0x3c4, 2, i | (v << 8)));
    if (unlock) io.write(0x3d4, 2, 0x11 | (0x0e << 8)); // clears bit 7 of register 0x11
    CRTC.forEach((v, i) => io.write(0x3d4, 2, i | (v << 8)));
    GC.forEach((v, i) => io.write(0x3ce, 2, i | (v << 8)));
    AC.forEach((v, i) => {
      io.read(0x3da, 1);
      io.write(0x3c0, 1, i);
      io.write(0x3c0, 1, v);
    });
    io.read(0x3da, 1);
    io.write(0x3c0, 1, 0x20);
  };
  const palette = (index: number, r: number, g: number, b: number) => {
    io.write(0x3c8, 1, index);
    for (const c of [r, g, b]) io.write(0x3c9, 1, c);
  };
  const dispi = (index: number, value: number) => {
    io.write(0x1ce, 2, index);
    io.write(0x1cf, 2, value);
  };
  const pixels = (width: number, height: number) => {
    const rgba = new Uint8Array(width * height * 4);
    display.render(rgba);
    return new Uint32Array(rgba.buffer);
  };

  it("starts in text mode with BAR 0's video memory mapped at QEMU's address", () => {
    expect(display.mode().kind).toBe("text");
    expect(mapped).toEqual([STD_VGA_LFB_ADDRESS]);
  });

  it("switches to 320x200x256 from the standard register tables, at 0xA0000, with no BIOS", () => {
    mode13h();
    expect(display.mode()).toEqual({ kind: "graphics", width: 320, height: 200, bpp: 8, lineBytes: 320, frame: { base: VGA_GRAPHICS_BASE, size: 64000 } });
  });

  it("ignores CRTC registers 0-7 while register 0x11 bit 7 locks them, as the unlock step in every mode-set shows", () => {
    const crtc1 = () => {
      io.write(0x3d4, 1, 0x01);
      return io.read(0x3d5, 1);
    };
    io.write(0x3d4, 2, 0x01 | (0x27 << 8)); // mode 3 as a BIOS leaves it: 0x11 is 0x8E, locked
    expect(crtc1()).toBe(0x4f);
    io.write(0x3d4, 2, 0x07 | (0xff << 8)); // ... but for bit 4 of the overflow register
    io.write(0x3d4, 1, 0x07);
    expect(io.read(0x3d5, 1)).toBe(0x1f);
    io.write(0x3d4, 2, 0x11 | (0x0e << 8));
    io.write(0x3d4, 2, 0x01 | (0x27 << 8));
    expect(crtc1()).toBe(0x27);
    mode13h(false);
    expect(display.mode().width).toBe(320);
  });

  it("draws each byte through the DAC, 6-bit components widened as QEMU widens them", () => {
    mode13h();
    palette(1, 0x3f, 0x00, 0x21);
    palette(2, 0x01, 0x02, 0x03);
    ram[VGA_GRAPHICS_BASE + 0] = 1;
    ram[VGA_GRAPHICS_BASE + 319] = 2;
    ram[VGA_GRAPHICS_BASE + 199 * 320 + 5] = 1;
    const out = pixels(320, 200);
    const rgba = (r: number, g: number, b: number) => (0xff000000 | (sixToEight(b) << 16) | (sixToEight(g) << 8) | sixToEight(r)) >>> 0;
    expect(out[0]).toBe(rgba(0x3f, 0, 0x21));
    expect(out[319]).toBe(rgba(1, 2, 3));
    expect(out[199 * 320 + 5]).toBe(rgba(0x3f, 0, 0x21));
    expect(out[1]).toBe(0xff000000);
    expect([sixToEight(0x3f), sixToEight(0x21), sixToEight(0x01), sixToEight(0x02)]).toEqual([0xff, 0x87, 0x07, 0x08]);
  });

  it("draws only the rectangle asked for", () => {
    mode13h();
    palette(7, 0x3f, 0x3f, 0x3f);
    ram.fill(7, VGA_GRAPHICS_BASE, VGA_GRAPHICS_BASE + 64000);
    const rgba = new Uint8Array(320 * 200 * 4);
    display.render(rgba, { x: 10, y: 20, width: 3, height: 2 });
    const out = new Uint32Array(rgba.buffer);
    expect(out.filter((p) => p !== 0).length).toBe(6);
    expect(out[20 * 320 + 10]).toBe(0xffffffff);
    expect(out[21 * 320 + 12]).toBe(0xffffffff);
  });

  it("is blank while the attribute index's palette bit is clear, and in planar 16-colour modes", () => {
    mode13h();
    io.read(0x3da, 1);
    io.write(0x3c0, 1, 0x00);
    expect(display.mode().kind).toBe("blank");
    io.write(0x3c0, 1, 0x20);
    io.write(0x3ce, 2, 0x05 | (0x00 << 8)); // shift mode 0: planar
    expect(display.mode()).toMatchObject({ kind: "blank", width: 320, height: 200 });
    ram.fill(9, VGA_GRAPHICS_BASE, VGA_GRAPHICS_BASE + 64000);
    expect(pixels(320, 200).every((p) => p === 0xff000000)).toBe(true);
  });

  it("follows the CRTC start address (in chain-4 units of 4 bytes); past the 64 KiB window the frame goes on in video memory, as QEMU's", () => {
    mode13h();
    palette(3, 0x3f, 0, 0);
    palette(4, 0, 0x3f, 0);
    io.write(0x3d4, 2, 0x0c | (0x3e << 8)); // 0x3E80 * 4 = 64000
    io.write(0x3d4, 2, 0x0d | (0x80 << 8));
    ram[VGA_GRAPHICS_BASE + 64000] = 3;
    ram[VGA_GRAPHICS_BASE + 64000 + 320 * 4] = 3; // 65280: still in the window
    ram[VGA_GRAPHICS_BASE + (64000 + 320 * 5) % 65536] = 3; // the window's start: not shown
    video[64000 + 320 * 5] = 4; // video memory past the window: shown
    video[64000] = 4; // inside the window's range: the window (RAM) is shown
    const out = pixels(320, 200);
    expect(out[0]).toBe(0xff0000ff);
    expect(out[4 * 320]).toBe(0xff0000ff);
    expect(out[5 * 320]).toBe(0xff00ff00);
    expect(display.mode().frame).toEqual({ base: VGA_GRAPHICS_BASE + 64000, size: 65536 - 64000 });
    // A copy of the window's part (the display update's screen) draws the same picture.
    const rgba = new Uint8Array(320 * 200 * 4);
    display.render(rgba, undefined, ram.slice(VGA_GRAPHICS_BASE + 64000, VGA_GRAPHICS_BASE + 65536));
    expect(new Uint32Array(rgba.buffer)).toEqual(out);
    // A start past the window: the whole frame is video memory, nothing of it in the window.
    io.write(0x3d4, 2, 0x0c | (0x40 << 8)); // 0x4000 * 4 = 65536
    io.write(0x3d4, 2, 0x0d | (0x00 << 8));
    video[65536 + 320] = 3;
    expect(pixels(320, 200)[320]).toBe(0xff0000ff);
    expect(display.mode().frame.size).toBe(0);
  });

  for (const [bpp, bytes, expected] of [
    [32, [0x10, 0x20, 0x30, 0x99], 0xff102030],
    [24, [0x10, 0x20, 0x30], 0xff102030],
    [16, [0xff, 0xff], 0xfff8fcf8],
    [15, [0xff, 0x7f], 0xfff8f8f8],
  ] as const) {
    it(`draws dispi ${bpp} bpp from video memory at BAR 0 (blue, green, red in memory)`, () => {
      dispi(4, 0);
      dispi(1, 640);
      dispi(2, 480);
      dispi(3, bpp);
      dispi(4, 0x41);
      const perPixel = bytes.length === 3 ? 3 : bytes.length === 2 ? 2 : 4;
      video.set(bytes, (479 * 640 + 639) * perPixel);
      const mode = display.mode();
      expect(mode).toEqual({ kind: "graphics", width: 640, height: 480, bpp, lineBytes: 640 * perPixel, frame: { base: STD_VGA_LFB_ADDRESS, size: 640 * 480 * perPixel } });
      const out = pixels(640, 480);
      expect(out[479 * 640 + 639]).toBe(expected);
      expect(out[0]).toBe(0xff000000);
    });
  }

  it("draws dispi 8 bpp through the DAC, with 8-bit components when ENABLE asks for them", () => {
    palette(5, 0x3f, 0x80, 0x01);
    dispi(4, 0);
    dispi(1, 800);
    dispi(2, 600);
    dispi(3, 8);
    dispi(4, 0x41);
    video[799] = 5;
    expect(pixels(800, 600)[799]).toBe((0xff000000 | (sixToEight(1) << 16) | (sixToEight(0x80) << 8) | 0xff) >>> 0);
    dispi(4, 0x41 | 0x20 | 0x80);
    expect(pixels(800, 600)[799]).toBe(0xff01803f);
  });

  it("clears the frame it enables unless NOCLEARMEM is set", () => {
    video.fill(0xaa);
    dispi(1, 640);
    dispi(2, 480);
    dispi(3, 32);
    dispi(4, 0x41);
    expect(video[640 * 480 * 4 - 1]).toBe(0);
    expect(video[640 * 480 * 4]).toBe(0xaa);
    dispi(4, 0);
    video.fill(0xaa);
    dispi(4, 0xc1);
    expect(video[0]).toBe(0xaa);
  });

  it("takes absurd modes as QEMU does with the same video memory, and never draws outside it", () => {
    const cases: [number, number, number, number[]][] = [
      [0, 0, 0, [8, 1, 8]],
      [10000, 10000, 32, [10000, 0x34, 32]],
      [65535, 65535, 65535, [16000, 131, 8]], // 2 MiB / 16000-byte lines
      [800, 600, 7, [800, 600, 8]],
    ];
    for (const [x, y, bpp, back] of cases) {
      dispi(4, 0);
      dispi(1, x);
      dispi(2, y);
      dispi(3, bpp);
      dispi(4, 0xc1);
      const read = [1, 2, 3].map((i) => {
        io.write(0x1ce, 2, i);
        return io.read(0x1cf, 2);
      });
      expect(read).toEqual(back);
      const { width, height, frame } = display.mode();
      expect(frame.size).toBeLessThanOrEqual(VIDEO_BYTES);
      video.fill(0x11);
      expect(pixels(width, height).every((p) => p !== 0)).toBe(true);
    }
  });

  it("refuses a target too small for the frame with a one-line RangeError", () => {
    mode13h();
    expect(() => display.render(new Uint8Array(10))).toThrow(new RangeError("a 320x200 frame needs 256000 bytes, not 10"));
  });

  it("survives garbage on every VGA and dispi port", () => {
    let x = 12345;
    const next = () => (x = (x * 1103515245 + 12345) >>> 0) >>> 8;
    for (let i = 0; i < 20000; i++) {
      const port = next() & 1 ? 0x3c0 + (next() & 0x1f) : 0x1ce + (next() & 1);
      if (next() & 1) io.write(port, [1, 2, 4][next() % 3] as 1 | 2 | 4, next());
      else io.read(port, 1);
    }
    const { width, height } = display.mode();
    expect(width * height * 4).toBeLessThanOrEqual(16000 * 12000 * 4);
    const frame = display.mode().frame;
    expect(frame.size).toBeLessThanOrEqual(VIDEO_BYTES);
  });
});
