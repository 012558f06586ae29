import { beforeEach, describe, expect, it, vi } from "vitest";
import { PIT_HZ, Pit8254 } from "../../src/devices/pit-8254.js";
import { VirtualClock } from "../../src/vmm/virtual-clock.js";
import { ManualClock } from "../support/manual-clock.js";

const CH0 = 0, CH2 = 2, CTRL = 3;
const tickNs = (ticks: number) => Math.ceil((ticks * 1e9) / PIT_HZ);

describe("Pit8254", () => {
  let clock: ManualClock;
  let edges: number[];
  let pit: Pit8254;
  beforeEach(() => {
    clock = new ManualClock();
    edges = [];
    pit = new Pit8254(clock, (level) => level && edges.push(clock.now()));
  });

  function program(channel: number, mode: number, count: number): void {
    pit.write(CTRL, 1, (channel << 6) | 0x30 | (mode << 1));
    pit.write(channel, 1, count & 0xff);
    pit.write(channel, 1, count >> 8);
  }

  it("mode 2 raises IRQ 0 once per period, at the period's end", () => {
    program(CH0, 2, 11932); // ~100 Hz
    clock.advance(tickNs(11932) - 1);
    expect(edges).toEqual([]);
    clock.advance(1);
    expect(edges).toEqual([tickNs(11932)]);
    clock.advance(tickNs(11932 * 10));
    expect(edges).toHaveLength(11);
    expect(edges[10]).toBe(tickNs(11932 * 11));
  });

  // A clock that jumps (a real one on a stalled host, a restored machine with an edge overdue) is
  // not caught up edge by edge: they would latch IRQ 0 again and again for nothing.
  it("raises one interrupt for the edges a late clock went past, then goes on from the next one", () => {
    let retired = 0;
    const late = new VirtualClock(() => retired);
    const schedule = vi.spyOn(late, "schedule");
    const lateEdges: number[] = [];
    const lateTimer = new Pit8254(late, (level) => level && lateEdges.push(late.now()));
    lateTimer.write(CTRL, 1, 0x34);
    lateTimer.write(CH0, 1, 2);
    lateTimer.write(CH0, 1, 0); // mode 2, count 2: an edge every 1.7 us
    retired = 100_000_000; // one second later
    late.runDue();
    expect(lateEdges).toEqual([1e9]);
    expect(schedule).toHaveBeenCalledTimes(2);
    expect(late.nextEvent).toBe(tickNs(2 * (Math.floor(PIT_HZ / 2) + 1)));
  });

  it("mode 3 (square wave) raises one interrupt per period too", () => {
    program(CH0, 3, 1000);
    clock.advance(tickNs(5000));
    expect(edges).toHaveLength(5);
  });

  it("mode 0 interrupts once at terminal count", () => {
    program(CH0, 0, 500);
    clock.advance(tickNs(5000));
    expect(edges).toEqual([tickNs(500)]);
  });

  it("reprogramming cancels the old period", () => {
    program(CH0, 2, 1000);
    program(CH0, 2, 3000);
    clock.advance(tickNs(2999));
    expect(edges).toEqual([]);
    clock.advance(tickNs(3000) - tickNs(2999));
    expect(edges).toHaveLength(1);
  });

  it("counts down from the loaded value and latches the count for a two-byte read", () => {
    program(CH2, 0, 0x1234);
    clock.advance(tickNs(0x34));
    pit.write(CTRL, 1, 0x80); // latch channel 2
    clock.advance(tickNs(100));
    expect(pit.read(CH2, 1)).toBe(0x00);
    expect(pit.read(CH2, 1)).toBe(0x12);
    expect(pit.read(CH2, 1) | (pit.read(CH2, 1) << 8)).toBe(0x1234 - 0x34 - 100);
  });

  it("mode 2 counts from N down to 1 and reloads; count 0 means 65536", () => {
    program(CH0, 2, 0);
    clock.advance(tickNs(65536 + 10));
    pit.write(CTRL, 1, 0x00);
    expect(pit.read(CH0, 1) | (pit.read(CH0, 1) << 8)).toBe(65536 - 10);
  });

  it("read-back latches status (output, null count, access, mode) and count", () => {
    pit.write(CTRL, 1, 0x34); // channel 0, LSB/MSB, mode 2
    pit.write(CTRL, 1, 0xe2); // read-back status only, channel 0
    expect(pit.read(CH0, 1)).toBe(0x40 | 0x80 | 0x30 | 0x04); // null count until a count is written
    pit.write(CH0, 1, 100);
    pit.write(CH0, 1, 0);
    clock.advance(tickNs(30));
    pit.write(CTRL, 1, 0xc2); // status and count
    expect(pit.read(CH0, 1)).toBe(0x80 | 0x30 | 0x04);
    expect(pit.read(CH0, 1)).toBe(70);
    expect(pit.read(CH0, 1)).toBe(0);
  });

  it("reports OUT in mode 0: low while counting, high after terminal count", () => {
    program(CH2, 0, 10);
    pit.write(CTRL, 1, 0xe8);
    expect(pit.read(CH2, 1) & 0x80).toBe(0);
    clock.advance(tickNs(10));
    pit.write(CTRL, 1, 0xe8);
    expect(pit.read(CH2, 1) & 0x80).toBe(0x80);
  });

  it("LSB-only and MSB-only access modes", () => {
    pit.write(CTRL, 1, 0x90); // channel 2, LSB only, mode 0
    pit.write(CH2, 1, 0x80);
    expect(pit.read(CH2, 1)).toBe(0x80);
    pit.write(CTRL, 1, 0xa0); // MSB only
    pit.write(CH2, 1, 0x02);
    expect(pit.read(CH2, 1)).toBe(0x02);
  });
});
