import { beforeEach, describe, expect, it } from "vitest";
import { AtaPio } from "../../src/devices/ata-pio.js";
import { MemoryDisk } from "../../src/devices/block-backend.js";

const DATA = 0, ERROR = 1, COUNT = 2, LBA0 = 3, LBA1 = 4, LBA2 = 5, DEVICE = 6, STATUS = 7, CONTROL = 8;
const BSY = 0x80, DRDY = 0x40, DRQ = 0x08, ERR = 0x01;

function image(sectors: number): Uint8Array {
  const bytes = new Uint8Array(sectors * 512);
  for (let s = 0; s < sectors; s++) bytes.fill(s & 0xff, s * 512, s * 512 + 512);
  return bytes;
}

describe("AtaPio", () => {
  let bytes: Uint8Array;
  let ata: AtaPio;
  let levels: boolean[];
  beforeEach(() => {
    bytes = image(2048);
    levels = [];
    ata = new AtaPio(new MemoryDisk(bytes), (level) => levels.push(level));
  });
  const select = (lba: number, count: number) => {
    ata.write(DEVICE, 1, 0xe0 | (lba >> 24));
    ata.write(COUNT, 1, count);
    ata.write(LBA0, 1, lba & 0xff);
    ata.write(LBA1, 1, (lba >> 8) & 0xff);
    ata.write(LBA2, 1, (lba >> 16) & 0xff);
  };
  const readSector = () => Array.from({ length: 256 }, () => ata.read(DATA, 2));

  it("answers IDENTIFY with the model, LBA support and the capacity in words 60-61", () => {
    ata.write(DEVICE, 1, 0xa0);
    ata.write(STATUS, 1, 0xec);
    expect(levels).toEqual([true]);
    expect(ata.read(STATUS, 1) & (DRDY | DRQ | BSY)).toBe(DRDY | DRQ);
    expect(levels).toEqual([true, false]); // reading Status acknowledges
    const words = readSector();
    const model = words.slice(27, 47).map((w) => String.fromCharCode(w >> 8, w & 0xff)).join("").trim();
    expect(model).toBe("WASMVISOR ATA DISK");
    expect(words[49] & 0x200).toBe(0x200);
    expect(words[60] | (words[61] << 16)).toBe(2048);
    expect(ata.read(STATUS, 1) & DRQ).toBe(0);
  });

  it("reads sectors in LBA28, one interrupt per sector as each becomes ready", () => {
    select(5, 2);
    ata.write(STATUS, 1, 0x20);
    expect(ata.read(STATUS, 1) & DRQ).toBe(DRQ);
    expect(new Set(readSector())).toEqual(new Set([0x0505]));
    expect(levels.filter((l) => l)).toHaveLength(2);
    expect(ata.read(STATUS, 1) & DRQ).toBe(DRQ);
    expect(new Set(readSector())).toEqual(new Set([0x0606]));
    expect(ata.read(STATUS, 1) & (DRQ | ERR)).toBe(0);
  });

  it("reads two words per 32-bit access", () => {
    select(1, 1);
    ata.write(STATUS, 1, 0x20);
    expect(ata.read(DATA, 4)).toBe(0x01010101);
  });

  it("writes sectors: DRQ for the first at once, an interrupt after each, data in the image", () => {
    select(10, 2);
    ata.write(STATUS, 1, 0x30);
    expect(levels).toEqual([]);
    expect(ata.read(STATUS, 1) & DRQ).toBe(DRQ);
    for (let i = 0; i < 256; i++) ata.write(DATA, 2, 0xbeef);
    expect(levels).toEqual([true]);
    expect(ata.read(STATUS, 1) & DRQ).toBe(DRQ);
    for (let i = 0; i < 128; i++) ata.write(DATA, 4, 0x12345678);
    expect(ata.read(STATUS, 1) & (DRQ | ERR | DRDY)).toBe(DRDY);
    expect(Array.from(bytes.subarray(10 * 512, 10 * 512 + 2))).toEqual([0xef, 0xbe]);
    expect(Array.from(bytes.subarray(11 * 512, 11 * 512 + 4))).toEqual([0x78, 0x56, 0x34, 0x12]);
  });

  it("treats a sector count of 0 as 256 and addresses cylinder/head/sector without the LBA bit", () => {
    ata.write(DEVICE, 1, 0xa0 | 1); // head 1
    ata.write(COUNT, 1, 1);
    ata.write(LBA0, 1, 3); // sector 3 (1-based)
    ata.write(LBA1, 1, 0);
    ata.write(LBA2, 1, 0);
    ata.write(STATUS, 1, 0x20);
    expect(readSector()[0]).toBe(0x4141); // (0 * 16 + 1) * 63 + 3 - 1 = 65
    select(0, 0);
    ata.write(STATUS, 1, 0x20);
    for (let s = 0; s < 255; s++) readSector();
    expect(readSector()[0]).toBe(0xffff); // sector 255, the 256th
  });

  it("aborts unknown commands and writes to a read-only image, and gives IDNF past the end", () => {
    ata.write(STATUS, 1, 0xa1); // IDENTIFY PACKET DEVICE: not an ATAPI device
    expect(ata.read(STATUS, 1) & ERR).toBe(ERR);
    expect(ata.read(ERROR, 1)).toBe(0x04);
    select(2047, 2);
    ata.write(STATUS, 1, 0x20);
    expect(ata.read(ERROR, 1)).toBe(0x10);
    const ro = new AtaPio(new MemoryDisk(image(8), true));
    ro.write(STATUS, 1, 0x30);
    expect(ro.read(ERROR, 1)).toBe(0x04);
  });

  it("masks the interrupt with nIEN and leaves it pending for Alternate Status", () => {
    ata.write(CONTROL, 1, 0x02);
    ata.write(STATUS, 1, 0xe7); // FLUSH CACHE
    expect(levels).toEqual([]);
    expect(ata.read(CONTROL, 1) & DRDY).toBe(DRDY);
    ata.write(CONTROL, 1, 0x00);
    expect(levels).toEqual([true]);
  });

  it("resets through SRST and leaves the ATA signature", () => {
    ata.write(CONTROL, 1, 0x04);
    expect(ata.read(CONTROL, 1) & BSY).toBe(BSY);
    ata.write(CONTROL, 1, 0x00);
    expect([ata.read(COUNT, 1), ata.read(LBA0, 1), ata.read(LBA1, 1), ata.read(LBA2, 1), ata.read(ERROR, 1)]).toEqual([1, 1, 0, 0, 1]);
    expect(ata.read(STATUS, 1) & (DRDY | BSY)).toBe(DRDY);
  });

  it("has no slave drive: its registers read 0 and its commands do nothing", () => {
    ata.write(DEVICE, 1, 0xb0);
    expect(ata.read(STATUS, 1)).toBe(0);
    ata.write(STATUS, 1, 0xec);
    expect(levels).toEqual([]);
  });
});
