import { beforeEach, describe, expect, it } from "vitest";
import { MemoryDisk } from "../../src/devices/block-backend.js";
import { PV_BLOCK_MAGIC, PV_MAX_REQUEST_SECTORS, PV_STATUS_TOO_LONG, PvBlock } from "../../src/devices/pv-block.js";

const MAGIC = 0x00, SECTORS = 0x08, FEATURES = 0x10, RING = 0x14, RING_SIZE = 0x18, DOORBELL = 0x1c, ISR = 0x20;
const RING_AT = 0x1000;

describe("PvBlock", () => {
  let disk: Uint8Array;
  let ram: Uint8Array;
  let view: DataView;
  let pv: PvBlock;
  let levels: boolean[];
  beforeEach(() => {
    disk = new Uint8Array(64 * 512);
    for (let s = 0; s < 64; s++) disk.fill(s, s * 512, s * 512 + 512);
    ram = new Uint8Array(1 << 20);
    view = new DataView(ram.buffer);
    levels = [];
    pv = new PvBlock(new MemoryDisk(disk), { ram: () => ram, wrote: () => {} }, (level) => levels.push(level));
    pv.write(RING, 4, RING_AT);
    pv.write(RING_SIZE, 4, 8);
  });
  const request = (n: number, op: number, lba: number, count: number, buffer: number) => {
    const slot = RING_AT + 16 + (n % 8) * 32;
    [op, 0xff, lba, 0, count, buffer, 0xc0ffee, 0].forEach((v, i) => view.setUint32(slot + 4 * i, v, true));
    return () => view.getUint32(slot + 4, true);
  };

  it("identifies itself and its capacity", () => {
    expect(pv.read(MAGIC, 4)).toBe(PV_BLOCK_MAGIC);
    expect(pv.read(SECTORS, 4)).toBe(64);
    expect(pv.read(FEATURES, 4)).toBe(0);
    expect(pv.read(RING_SIZE, 4)).toBe(8);
  });

  it("completes a batch of chained requests on one doorbell, with one interrupt", () => {
    const a = request(0, 1, 3, 2, 0x10000);
    const b = request(1, 2, 40, 1, 0x20000);
    const c = request(2, 3, 0, 0, 0);
    ram.fill(0xab, 0x20000, 0x20200);
    pv.write(DOORBELL, 4, 3);
    expect([a(), b(), c()]).toEqual([0, 0, 0]);
    expect(ram[0x10000]).toBe(3);
    expect(ram[0x10200]).toBe(4);
    expect(disk[40 * 512]).toBe(0xab);
    expect(view.getUint32(RING_AT, true)).toBe(3); // completed
    expect(levels).toEqual([true]);
    expect(pv.read(ISR, 4)).toBe(1);
    expect(levels).toEqual([true, false]);
    expect([pv.requests, pv.doorbells]).toEqual([3, 1]);
  });

  it("wraps around the ring with free-running indexes", () => {
    for (let n = 0; n < 20; n++) {
      request(n, 1, n, 1, 0x10000 + n * 512);
      pv.write(DOORBELL, 4, n + 1);
    }
    expect(ram[0x10000 + 19 * 512]).toBe(19);
    expect(view.getUint32(RING_AT, true)).toBe(20);
  });

  it("reports bad requests in their status and goes on with the batch", () => {
    const bad = request(0, 9, 0, 1, 0x10000);
    const range = request(1, 1, 63, 2, 0x10000);
    const buffer = request(2, 1, 0, 1, 0xfffff0);
    const good = request(3, 1, 1, 1, 0x10000);
    pv.write(DOORBELL, 4, 4);
    expect([bad(), range(), buffer(), good()]).toEqual([1, 3, 4, 0]);
  });

  it("refuses writes to a read-only image", () => {
    pv = new PvBlock(new MemoryDisk(disk, true), { ram: () => ram, wrote: () => {} });
    pv.write(RING, 4, RING_AT);
    pv.write(RING_SIZE, 4, 8);
    expect(pv.read(FEATURES, 4)).toBe(1);
    const w = request(0, 2, 0, 1, 0x10000);
    pv.write(DOORBELL, 4, 1);
    expect(w()).toBe(2);
  });

  it("flags a doorbell beyond the ring or a ring that is not set up, completing nothing", () => {
    pv.write(DOORBELL, 4, 9);
    expect(pv.read(ISR, 4)).toBe(2);
    pv.write(RING_SIZE, 4, 3); // not a power of two
    expect(pv.read(RING_SIZE, 4)).toBe(0);
    pv.write(DOORBELL, 4, 1);
    expect(pv.read(ISR, 4)).toBe(2);
  });

  it("refuses a request longer than 256 sectors, so one doorbell moves at most 32 MiB", () => {
    disk = new Uint8Array(1024 * 512);
    pv = new PvBlock(new MemoryDisk(disk), { ram: () => ram, wrote: () => {} });
    pv.write(RING, 4, RING_AT);
    pv.write(RING_SIZE, 4, 8);
    const longest = request(0, 1, 0, PV_MAX_REQUEST_SECTORS, 0x10000);
    const tooLong = request(1, 1, 0, PV_MAX_REQUEST_SECTORS + 1, 0x10000);
    pv.write(DOORBELL, 4, 2);
    expect([longest(), tooLong()]).toEqual([0, PV_STATUS_TOO_LONG]);
  });

  it("syncs the image once per batch of flushes, and only after a write", () => {
    let syncs = 0;
    const memory = new MemoryDisk(disk);
    pv = new PvBlock(Object.assign(memory, { flush: () => { syncs++; } }), { ram: () => ram, wrote: () => {} });
    pv.write(RING, 4, RING_AT);
    pv.write(RING_SIZE, 4, 8);
    for (let n = 0; n < 4; n++) request(n, 3, 0, 0, 0);
    pv.write(DOORBELL, 4, 4);
    expect(syncs).toBe(0); // nothing written: nothing to make durable
    request(4, 2, 0, 1, 0x10000);
    for (let n = 5; n < 8; n++) request(n, 3, 0, 0, 0);
    pv.write(DOORBELL, 4, 8);
    expect(syncs).toBe(1);
    request(8, 3, 0, 0, 0);
    pv.write(DOORBELL, 4, 9);
    expect(syncs).toBe(1);
  });
});
