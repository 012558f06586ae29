import { describe, expect, it } from "vitest";
import { DebugExit, qemuExitStatus } from "../../src/devices/debug-exit.js";

describe("DebugExit", () => {
  it("reports the value the guest writes, whatever the width", () => {
    const codes: number[] = [];
    const device = new DebugExit((code) => codes.push(code));
    device.write(0, 1, 0);
    device.write(0, 4, 0x1234);
    expect(codes).toEqual([0, 0x1234]);
  });

  it("reads as zero, like QEMU's", () => {
    expect(new DebugExit(() => {}).read(0, 1)).toBe(0);
  });

  it("knows QEMU's process status for a value: (v << 1) | 1", () => {
    expect(qemuExitStatus(0)).toBe(1);
    expect(qemuExitStatus(3)).toBe(7);
  });
});
