import { describe, expect, it } from "vitest";
import { IoBus } from "../../src/devices/bus.js";
import type { IoSize, PortDevice } from "../../src/devices/device.js";

/** Records what the bus hands it; reads return 0x12345678 + offset. */
class Probe implements PortDevice {
  readonly accesses: string[] = [];
  constructor(readonly name = "probe") {}
  read(offset: number, size: IoSize): number {
    this.accesses.push(`r${size}@${offset}`);
    return 0x12345678 + offset;
  }
  write(offset: number, size: IoSize, value: number): void {
    this.accesses.push(`w${size}@${offset}=${value.toString(16)}`);
  }
}

describe("IoBus", () => {
  it("reads all ones of the access size from a port nobody decodes, and drops writes", () => {
    const bus = new IoBus();
    expect(bus.read(0x80, 1)).toBe(0xff);
    expect(bus.read(0x80, 2)).toBe(0xffff);
    expect(bus.read(0x80, 4)).toBe(0xffffffff);
    bus.write(0x80, 1, 0x55);
  });

  it("routes accesses to the device with the offset inside its range", () => {
    const bus = new IoBus();
    const probe = new Probe();
    bus.register(0x3f8, 8, probe);
    bus.write(0x3fb, 1, 0x83);
    expect(bus.read(0x3f9, 1)).toBe(0x79);
    expect(bus.read(0x3f8, 4)).toBe(0x12345678);
    expect(probe.accesses).toEqual(["w1@3=83", "r1@1", "r4@0"]);
  });

  it("truncates values to the access size in both directions", () => {
    const bus = new IoBus();
    const probe = new Probe();
    bus.register(0x60, 1, probe);
    expect(bus.read(0x60, 2)).toBe(0x5678);
    bus.write(0x60, 1, 0x1234);
    expect(probe.accesses.at(-1)).toBe("w1@0=34");
  });

  it("leaves the ports around a registered range unassigned", () => {
    const bus = new IoBus();
    bus.register(0x3f8, 8, new Probe());
    expect(bus.deviceAt(0x3f7)).toBeUndefined();
    expect(bus.deviceAt(0x400)).toBeUndefined();
    expect(bus.deviceAt(0x3ff)?.name).toBe("probe");
  });

  it("refuses overlapping ranges, naming both devices", () => {
    const bus = new IoBus();
    bus.register(0x3f8, 8, new Probe("serial"));
    expect(() => bus.register(0x3ff, 2, new Probe("other"))).toThrow("port 0x3ff of other is already taken by serial");
    expect(bus.deviceAt(0x400)).toBeUndefined();
  });

  it("refuses ranges outside the 64 KiB port space", () => {
    const bus = new IoBus();
    expect(() => bus.register(0xffff, 2, new Probe())).toThrow(RangeError);
    expect(() => bus.register(0x10, 0, new Probe())).toThrow(RangeError);
  });

  it("lets a device with scattered ports see a later range at a later offset", () => {
    const bus = new IoBus();
    const probe = new Probe();
    bus.register(0x60, 1, probe);
    bus.register(0x64, 1, probe, 4);
    bus.read(0x60, 1);
    bus.write(0x64, 1, 0xaa);
    expect(probe.accesses).toEqual(["r1@0", "w1@4=aa"]);
    expect(bus.deviceAt(0x61)).toBeUndefined();
  });
});
