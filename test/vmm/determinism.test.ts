// Issue 15: what a guest can observe is the same on every run, however the host chunks the run
// and across save and restore. guests/diskbench prints exit counts it reads through the
// exit-count hypercall (every reason but VMCALL, slice ends included), which used to change from
// run to run: slices were counted from the start of each run() call, and the CLI's calls end on
// the wall clock. Slices now end at fixed points of virtual time (virtual-machine.ts).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MemoryDisk } from "../../src/devices/block-backend.js";
import { VirtualMachine } from "../../src/vmm/virtual-machine.js";
import { core } from "../support/tiny-guest.js";

const diskbench = readFileSync(new URL("../../guests/diskbench.elf", import.meta.url));
const DISK_BYTES = 4 << 20;
// Short slices, so that every phase diskbench measures has slice ends in it.
const SLICE = 100_000;

async function bootDiskbench(output: number[], disk = new MemoryDisk(new Uint8Array(DISK_BYTES))) {
  const vm = await VirtualMachine.boot(diskbench, { core, disk, serialOutput: (byte) => output.push(byte) });
  return { vm, disk };
}

const text = (bytes: number[]) => String.fromCharCode(...bytes);

describe("a guest sees the same run however the host runs it", () => {
  it("diskbench prints the same exit counts in one run, in chunks of 77,777 instructions, and across a save and restore", async () => {
    const whole: number[] = [];
    const one = await bootDiskbench(whole);
    expect(one.vm.run({ sliceInstructions: SLICE }).stop.kind).toBe("guest-exit");

    const chunked: number[] = [];
    const two = await bootDiskbench(chunked);
    let limit = 0;
    while (two.vm.run({ maxInstructions: (limit += 77_777), sliceInstructions: SLICE }).stop.kind === "instruction-limit");

    const restoredOutput: number[] = [];
    const three = await bootDiskbench(restoredOutput);
    three.vm.run({ maxInstructions: 3_000_000, sliceInstructions: SLICE });
    const restored = await VirtualMachine.restore(three.vm.saveState(), { core, disk: three.disk, serialOutput: (byte) => restoredOutput.push(byte) });
    expect(restored.run({ sliceInstructions: SLICE }).stop.kind).toBe("guest-exit");

    expect(text(whole)).toContain("exits/KiB");
    expect(one.vm.statistics().exits.find((e) => e.reason === 52)!.count).toBeGreaterThan(20);
    expect(text(chunked)).toBe(text(whole));
    expect(text(restoredOutput)).toBe(text(whole));
  }, 120_000);
});
