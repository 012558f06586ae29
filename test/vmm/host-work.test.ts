// The host-work meter (src/vmm/host-work.ts): the run loop looks at the clock once per CHECK_UNITS
// units, however they are charged, and a disk behind the meter charges what it moves.
import { describe, expect, it } from "vitest";
import { MemoryDisk } from "../../src/devices/block-backend.js";
import { CHECK_UNITS, HostWorkMeter, meteredDisk } from "../../src/vmm/host-work.js";

describe("HostWorkMeter", () => {
  it("looks at the clock once per CHECK_UNITS units, in ones or in lumps", () => {
    let looks = 0;
    const meter = new HostWorkMeter(() => looks++);
    for (let i = 0; i < CHECK_UNITS - 1; i++) meter.charge(1);
    expect(looks).toBe(0);
    meter.charge(1);
    expect(looks).toBe(1);
    meter.charge(10 * CHECK_UNITS); // one lump of host work: one look, right after it
    expect(looks).toBe(2);
  });

  it("charges a metered disk's reads and writes by the sector, and a flush as a look at the clock", () => {
    let looks = 0;
    const meter = new HostWorkMeter(() => looks++);
    const disk = meteredDisk(new MemoryDisk(new Uint8Array(4096 * 512)), meter);
    expect([disk.sectors, disk.readOnly]).toEqual([4096, false]);
    disk.read(0, new Uint8Array((CHECK_UNITS - 1) * 512));
    expect(looks).toBe(0);
    disk.write(0, new Uint8Array(512));
    expect(looks).toBe(1);
    disk.flush();
    expect(looks).toBe(2);
  });
});
