// Every device's saveState()/restoreState(): a device driven into a busy state, saved, passed
// through JSON (what a state file holds) and restored into a fresh device must report the same
// state and then behave exactly as the original does: same reads, same interrupts at the same times.

import { describe, expect, it } from "vitest";
import { AtaPio } from "../../src/devices/ata-pio.js";
import { MemoryDisk } from "../../src/devices/block-backend.js";
import { CmosRtc } from "../../src/devices/cmos-rtc.js";
import type { IoSize, PortDevice } from "../../src/devices/device.js";
import { I8042 } from "../../src/devices/i8042.js";
import { DualPic } from "../../src/devices/pic-8259.js";
import { Pit8254 } from "../../src/devices/pit-8254.js";
import { PvBlock } from "../../src/devices/pv-block.js";
import { Serial16550 } from "../../src/devices/serial-16550.js";
import { VgaText } from "../../src/devices/vga-text.js";
import { VirtualClock } from "../../src/vmm/virtual-clock.js";
import { ManualClock } from "../support/manual-clock.js";

interface Saveable<S> {
  saveState(): S;
  restoreState(state: S): void;
}

/** Restores `original`'s state, through JSON, into `fresh`; checks it reads back the same. */
function transplant<S>(original: Saveable<S>, fresh: Saveable<S>): void {
  const saved = original.saveState();
  fresh.restoreState(JSON.parse(JSON.stringify(saved)) as S);
  expect(fresh.saveState()).toEqual(saved);
}

/** The same accesses on both devices give the same values. */
function sameReads(a: PortDevice, b: PortDevice, offsets: number[], size: IoSize = 1): void {
  for (const offset of offsets) expect(b.read(offset, size)).toBe(a.read(offset, size));
}

/** A clock at the same time as `clock`, with nothing scheduled. */
function clockAt(clock: ManualClock): ManualClock {
  const copy = new ManualClock();
  copy.advance(clock.now());
  return copy;
}

const out = (device: PortDevice, offset: number, ...bytes: number[]) => bytes.forEach((b) => device.write(offset, 1, b));

describe("saveState -> JSON -> restoreState", () => {
  it("8259A pair: masks, requests, in-service IRQs, rotation, the init sequence in progress and INTR", () => {
    const setUp = () => {
      const pic = new DualPic();
      out(pic.master, 0, 0x11);
      out(pic.master, 1, 0x20, 0x04, 0x01, 0xb8);
      out(pic.slave, 0, 0x11);
      out(pic.slave, 1, 0x28); // ICW3 and ICW4 still to come
      return pic;
    };
    const a = setUp();
    a.setIrq(0, true);
    a.setIrq(1, true);
    expect(a.acknowledge()).toBe(0x20);
    out(a.master, 0, 0xc3); // rotate priorities
    const b = new DualPic();
    transplant(a, b);
    expect(b.interruptRequested).toBe(a.interruptRequested);
    out(a.slave, 1, 0x02, 0x01);
    out(b.slave, 1, 0x02, 0x01);
    expect(b.acknowledge()).toBe(a.acknowledge());
    expect(b.saveState()).toEqual(a.saveState());
  });

  it("8254: counts, latches, a half-written count and channel 0's next interrupt, at the same time", () => {
    const clock = new ManualClock();
    const edgesA: number[] = [];
    const a = new Pit8254(clock, (level) => level && edgesA.push(clock.now()));
    out(a, 3, 0x34);
    out(a, 0, 0x9c, 0x2e); // channel 0: mode 2, 11932 (~100 Hz)
    out(a, 3, 0xb6);
    out(a, 2, 0x34); // channel 2: low byte only so far
    clock.advance(25_123_456);
    out(a, 3, 0x00); // latch channel 0
    const copy = clockAt(clock);
    const edgesB: number[] = [];
    const b = new Pit8254(copy, (level) => level && edgesB.push(copy.now()));
    transplant(a, b);
    expect(copy.pending).toEqual(clock.pending);
    sameReads(a, b, [0, 0, 0, 0]);
    out(a, 2, 0x12);
    out(b, 2, 0x12);
    const before = edgesA.length;
    clock.advance(50_000_000);
    copy.advance(50_000_000);
    expect(edgesB).toEqual(edgesA.slice(before));
    expect(edgesB).toHaveLength(5);
    sameReads(a, b, [0, 0, 2, 2]);
  });

  it("8254: a one-shot that has fired leaves no interrupt to re-arm", () => {
    const clock = new ManualClock();
    const a = new Pit8254(clock);
    out(a, 3, 0x30);
    out(a, 0, 0x10, 0x00); // mode 0, 16 ticks
    clock.advance(1_000_000);
    expect(a.saveState().channels[0].edge).toBeNull();
  });

  it("16550: divisor, modes, the receive FIFO and a pending interrupt", () => {
    const levelsA: boolean[] = [];
    const a = new Serial16550(() => {}, (level) => levelsA.push(level));
    out(a, 3, 0x83);
    out(a, 0, 0x01);
    out(a, 1, 0x00);
    out(a, 3, 0x03);
    out(a, 2, 0xc7); // FIFOs on, trigger level 14
    out(a, 4, 0x0b); // DTR, RTS, OUT2
    out(a, 1, 0x03); // received-data and THRE interrupts
    out(a, 7, 0x5a);
    a.receive([0x41, 0x42, 0x43]);
    const levelsB: boolean[] = [];
    const b = new Serial16550(() => {}, (level) => levelsB.push(level));
    transplant(a, b);
    expect(levelsB).toEqual([]);
    sameReads(a, b, [2, 5, 0, 2, 0, 0, 5, 2, 2, 7, 6, 6]);
    expect(levelsB).toEqual(levelsA.slice(-levelsB.length));
    expect(b.rxRoom()).toBe(a.rxRoom());
  });

  it("CMOS/RTC: RAM, the calendar and the periodic and update-ended interrupts, at the same times", () => {
    const clock = new ManualClock();
    const risesA: number[] = [];
    const start = Date.UTC(2030, 5, 15, 12, 0, 59);
    const a = new CmosRtc(clock, 64 << 20, (level) => level && risesA.push(clock.now()), start);
    out(a, 0, 0x0a);
    out(a, 1, 0x2f); // 2 Hz periodic
    out(a, 0, 0x0b);
    out(a, 1, 0x52); // PIE, UIE, 24-hour
    out(a, 0, 0x40);
    out(a, 1, 0x99); // a byte of user CMOS RAM
    clock.advance(300_000_000);
    const copy = clockAt(clock);
    const risesB: number[] = [];
    const b = new CmosRtc(copy, 64 << 20, (level) => level && risesB.push(copy.now()));
    transplant(a, b);
    expect(copy.pending).toEqual(clock.pending);
    const reads = (rtc: CmosRtc, clockOf: ManualClock) =>
      [0, 0x0c, 2, 0x0c, 4, 0x0c, 7, 0x0c, 8, 0x0c, 9, 0x40, 0x0c].map((reg) => {
        clockOf.advance(400_000_000);
        out(rtc, 0, reg);
        return rtc.read(1, 1);
      });
    expect(reads(b, copy)).toEqual(reads(a, clock));
    expect(risesB).toEqual(risesA.slice(risesA.length - risesB.length));
    expect(risesB.length).toBeGreaterThan(2);
  });

  it("8042: configuration, the output buffer, queued keys and a command waiting for its data", () => {
    const a = new I8042();
    out(a, 0, 0xf0);
    out(a, 0, 0x02); // keyboard: scan code set 2, acknowledged
    a.type([{ key: { set1: 0x1e, set2: 0x1c }, shift: true, ctrl: false }]);
    out(a, 4, 0xd1); // write output port: data to follow
    const b = new I8042();
    transplant(a, b);
    out(a, 0, 0x03);
    out(b, 0, 0x03);
    sameReads(a, b, [4, 0, 4, 0, 0, 0, 0, 0, 0, 4]);
  });

  it("VGA: CRTC and attribute registers, the flip-flop and the retrace toggle", () => {
    const a = new VgaText();
    out(a, 0x14, 0x0e, 0x07); // CRTC index 0x0e, cursor high
    out(a, 0x14, 0x0f);
    out(a, 0x15, 0xd0);
    out(a, 0x00, 0x10); // attribute index, flip-flop now on data
    a.read(0x1a, 1);
    const b = new VgaText();
    b.dirty = false;
    transplant(a, b);
    expect(b.dirty).toBe(true);
    out(a, 0x00, 0x00);
    out(b, 0x00, 0x00);
    sameReads(a, b, [0x1a, 0x1a, 0x15, 0x14, 0x01, 0x0c]);
    expect(b.startAddress).toBe(a.startAddress);
  });

  it("ATA: registers, the sector buffer and a multi-sector read in progress", () => {
    const bytes = new Uint8Array(64 * 512).map((_, i) => (i * 7) & 0xff);
    const a = new AtaPio(new MemoryDisk(bytes));
    out(a, 6, 0xe0);
    out(a, 2, 3);
    out(a, 3, 5, 0, 0);
    a.write(6, 1, 0xe0);
    out(a, 7, 0x20); // READ SECTORS: 5, 6, 7
    for (let i = 0; i < 100; i++) a.read(0, 2);
    const b = new AtaPio(new MemoryDisk(bytes));
    transplant(a, b);
    const words = (ata: AtaPio) => Array.from({ length: 2 * 256 }, () => ata.read(0, 2));
    expect(words(b)).toEqual(words(a));
    sameReads(a, b, [7, 1, 2]);
  });

  it("paravirtual block device: ring, counters and the interrupt status", () => {
    const ram = new Uint8Array(1 << 20);
    const a = new PvBlock(new MemoryDisk(new Uint8Array(8 * 512)), { ram: () => ram, wrote: () => {} });
    a.write(0x14, 4, 0x1000);
    a.write(0x18, 4, 8);
    a.write(0x1c, 4, 2); // two requests of op 0: bad op, completed
    const b = new PvBlock(new MemoryDisk(new Uint8Array(8 * 512)), { ram: () => ram, wrote: () => {} });
    transplant(a, b);
    sameReads(a, b, [0x14, 0x18, 0x20, 0x20], 4);
  });
});

describe("VirtualClock across a save", () => {
  it("keeps the order of events due at the same time when they are scheduled again with their saved order", () => {
    const fired: string[] = [];
    const clock = new VirtualClock(() => 0);
    clock.schedule(100, () => fired.push("second"), 7);
    clock.schedule(100, () => fired.push("first"), 3);
    clock.schedule(100, () => fired.push("third"));
    expect(clock.saveState().nextOrder).toBe(9);
    clock.skipToNextEvent();
    expect(fired).toEqual(["first", "second", "third"]);
  });

  it("goes on from the saved time: idle time under the virtual clock, the host's time under the real one", () => {
    let retired = 1000;
    const a = new VirtualClock(() => retired);
    a.schedule(50_000, () => {});
    a.skipToNextEvent();
    const b = new VirtualClock(() => retired);
    b.restoreState(a.saveState());
    expect(b.now()).toBe(a.now());
    retired = 2000;
    expect(b.now()).toBe(a.now());
    const real = new VirtualClock(() => 0, "real");
    const restored = new VirtualClock(() => 0, "real");
    restored.restoreState({ nowNs: 5e12, idleNs: 0, nextOrder: 0 });
    expect(restored.now()).toBeGreaterThanOrEqual(5e12);
    expect(restored.now()).toBeLessThan(5e12 + 1e9 + real.now());
  });
});
