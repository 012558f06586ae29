// The level switches the core makes itself (assembly/vm/level-switch.ts, svm-switch.ts), tested the
// same way under VMX and SVM: nestvisor runs an L2 once plain (the core makes the switches it can)
// and once with an exit listener (every exit goes to the VMM, which makes every switch itself). The
// two outcomes must be equal but for the counts of the core's own switches, read from the level-switch
// area before the statistics take them over.
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { VirtualMachine, type VirtualMachineOptions } from "../../src/vmm/virtual-machine.js";
import { core } from "./tiny-guest.js";

const NESTVISOR = readFileSync("guests/nestvisor.elf");

export interface InCoreOutcome {
  console: string;
  instructions: number;
  registers: number[];
  levels: unknown;
  /** The switches the core made, by name: the low word of each counter named in `counters`. */
  inCore: Record<string, number>;
}

/** nestvisor with `module` ("file args...") as L2, to its end; `counters` names level-switch-area offsets to read. */
export async function runNestvisor(module: string, options: VirtualMachineOptions, watched: boolean, counters: Record<string, number>): Promise<InCoreOutcome> {
  const [file, ...args] = module.split(" ");
  const bytes: number[] = [];
  const vm = await VirtualMachine.boot(NESTVISOR, {
    core, ...options, serialOutput: (byte) => bytes.push(byte),
    modules: [{ bytes: readFileSync(file), cmdline: [file, ...args].join(" ") }],
  });
  if (watched) vm.onExit(() => {});
  const { stop } = vm.run({ timeoutSeconds: 120 });
  expect(stop.kind).toBe("guest-exit");
  const area = new Uint32Array(vm.core.memory.buffer, vm.core.levelSwitchArea());
  const inCore = Object.fromEntries(Object.entries(counters).map(([name, offset]) => [name, area[offset >> 2]]));
  return {
    console: Buffer.from(bytes).toString("latin1"),
    instructions: vm.instructionsRetired(),
    registers: Array.from(vm.vmcs.i32.subarray(0, 10)),
    levels: vm.statistics().levels,
    inCore,
  };
}

/** Runs `module` plain and watched; expects the same outcome from both, and returns them. */
export async function plainAndWatched(module: string, options: VirtualMachineOptions, counters: Record<string, number>): Promise<[InCoreOutcome, InCoreOutcome]> {
  const [plain, watched] = await Promise.all([runNestvisor(module, options, false, counters), runNestvisor(module, options, true, counters)]);
  expect({ ...plain, inCore: undefined }).toEqual({ ...watched, inCore: undefined });
  return [plain, watched];
}
