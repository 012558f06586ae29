import { beforeEach, describe, expect, it, vi } from "vitest";
import { CmosRtc } from "../../src/devices/cmos-rtc.js";
import { VirtualClock } from "../../src/vmm/virtual-clock.js";
import { ManualClock } from "../support/manual-clock.js";

const INDEX = 0, DATA = 1;
const SECOND = 1e9;

describe("CmosRtc", () => {
  let clock: ManualClock;
  let levels: boolean[];
  let rtc: CmosRtc;
  const reg = (r: number) => {
    rtc.write(INDEX, 1, r);
    return rtc.read(DATA, 1);
  };
  const set = (r: number, v: number) => {
    rtc.write(INDEX, 1, r);
    rtc.write(DATA, 1, v);
  };
  beforeEach(() => {
    clock = new ManualClock();
    levels = [];
    rtc = new CmosRtc(clock, 32 << 20, (level) => levels.push(level), Date.UTC(2024, 1, 29, 23, 59, 58));
  });

  it("reads the date and time in BCD, 24-hour, by default", () => {
    expect([reg(0), reg(2), reg(4), reg(7), reg(8), reg(9), reg(0x32)]).toEqual([0x58, 0x59, 0x23, 0x29, 0x02, 0x24, 0x20]);
    expect(reg(6)).toBe(5); // Thursday (Sunday = 1)
  });

  it("runs with the device clock: two seconds later it is 1 March", () => {
    clock.advance(2 * SECOND);
    expect([reg(0), reg(2), reg(4), reg(7), reg(8)]).toEqual([0x00, 0x00, 0x00, 0x01, 0x03]);
  });

  it("switches to binary and 12-hour form through status register B", () => {
    set(0x0b, 0x04); // binary, 12-hour
    expect(reg(0)).toBe(58);
    expect(reg(4)).toBe(0x80 | 11); // 11 PM
  });

  it("lets the guest set the clock field by field", () => {
    set(0x0b, 0x82); // SET while writing
    set(0x04, 0x07); // 07 hours (BCD)
    set(0x09, 0x30); // year 2030
    set(0x0b, 0x02);
    expect([reg(4), reg(9), reg(0)]).toEqual([0x07, 0x30, 0x58]);
  });

  it("reports update in progress during the last 244 us of each second", () => {
    expect(reg(0x0a)).toBe(0x26);
    clock.advance(SECOND - 200_000);
    expect(reg(0x0a) & 0x80).toBe(0x80);
    clock.advance(300_000);
    expect(reg(0x0a) & 0x80).toBe(0);
  });

  it("holds memory sizes and a checksum as a BIOS leaves them", () => {
    expect(reg(0x15) | (reg(0x16) << 8)).toBe(640);
    expect(reg(0x17) | (reg(0x18) << 8)).toBe(31 * 1024);
    expect(reg(0x30) | (reg(0x31) << 8)).toBe(31 * 1024);
    expect(reg(0x34) | (reg(0x35) << 8)).toBe(256); // 16 MiB above 16 MiB, in 64 KiB
    expect(reg(0x0d)).toBe(0x80);
    let sum = 0;
    for (let r = 0x10; r <= 0x2d; r++) sum += reg(r);
    expect((reg(0x2e) << 8) | reg(0x2f)).toBe(sum);
  });

  it("keeps other CMOS bytes the guest writes, and ignores the NMI bit of the index", () => {
    set(0x80 | 0x40, 0xa5);
    expect(reg(0x40)).toBe(0xa5);
  });

  it("raises IRQ 8 for the periodic interrupt while PIE is set; reading C acknowledges", () => {
    set(0x0a, 0x2f); // rate 15: 2 Hz
    set(0x0b, 0x42); // PIE
    clock.advance(SECOND / 2);
    expect(levels).toEqual([true]);
    expect(reg(0x0c)).toBe(0xc0);
    expect(levels).toEqual([true, false]);
    expect(reg(0x0c)).toBe(0);
    clock.advance(SECOND / 2);
    expect(reg(0x0c)).toBe(0xc0);
  });

  // As the PIT's edges: periods a late clock went past would only set PF again.
  it("takes one periodic interrupt for the periods a late clock went past, then goes on from the next one", () => {
    let retired = 0;
    const late = new VirtualClock(() => retired);
    const schedule = vi.spyOn(late, "schedule");
    const lateRtc = new CmosRtc(late, 32 << 20);
    lateRtc.write(INDEX, 1, 0x0a);
    lateRtc.write(DATA, 1, 0x23); // rate 3: 8192 Hz
    lateRtc.write(INDEX, 1, 0x0b);
    lateRtc.write(DATA, 1, 0x42); // PIE
    retired = 100_000_000; // one second later
    late.runDue();
    expect(schedule).toHaveBeenCalledTimes(2);
    expect(late.nextEvent).toBe(SECOND + SECOND / 8192);
    lateRtc.write(INDEX, 1, 0x0c);
    expect(lateRtc.read(DATA, 1)).toBe(0xc0);
  });

  it("raises update-ended at each second boundary and the alarm when it matches", () => {
    set(0x01, 0x00); // alarm at hh:mm:00 of any hour and minute
    set(0x03, 0xc0);
    set(0x05, 0xc0);
    set(0x0b, 0x32); // UIE and AIE
    clock.advance(SECOND);
    expect(reg(0x0c)).toBe(0x90); // 23:59:59: update only
    clock.advance(SECOND);
    expect(reg(0x0c)).toBe(0xb0); // 00:00:00: update and alarm
  });
});
