// Virtual time does not depend on how the host slices a run: device timers programmed during an
// exit, or re-armed while the guest idles, interrupt at their own instruction counts, not at the
// end of whatever slice was running. Saved machines rely on it, since a restored run is sliced
// differently from the one that was saved.

import { describe, expect, it } from "vitest";
import { VirtualMachine } from "../../src/vmm/virtual-machine.js";
import { core } from "../support/tiny-guest.js";
import { timerSerialGuest } from "../support/timer-serial-guest.js";

const kernel = timerSerialGuest();

async function run(sliceInstructions: number) {
  const output: number[] = [];
  const vm = await VirtualMachine.boot(kernel, { core, memoryMiB: 8, serialOutput: (byte) => output.push(byte) });
  const result = vm.run({ maxInstructions: 10_000_000, sliceInstructions });
  return { stop: result.stop, instructions: vm.instructionsRetired(), registers: vm.registerDump(), output: String.fromCharCode(...output) };
}

describe("run slicing", () => {
  it("gives the same run, instruction for instruction, with 2 million, 50 000 or 7 777 instructions per slice", async () => {
    const reference = await run(2_000_000);
    expect(reference.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(reference.output).toMatch(/^bcdefghijklmnopa/);
    expect(reference.output).toHaveLength(300);
    expect(await run(50_000)).toEqual(reference);
    expect(await run(7_777)).toEqual(reference);
  });
});
