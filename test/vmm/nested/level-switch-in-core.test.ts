// The level switches the core makes itself (assembly/vm/level-switch.ts): L1's VMRESUME that enters
// L2 and L2's CPUID reflected into L1, done without calling the VMM while nobody watches exits one
// by one. They must be the VMM's switches exactly: the same machine run with an exit listener (so
// that every exit goes to the VMM, which makes every switch itself) retires the same instructions,
// prints the same, ends with the same registers and counts the same exits at each level, while
// the run without one makes nearly all its switches in the core.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LS_REFLECTED_CPUID_LO, LS_VMRESUMES_LO } from "../../../assembly/level-switch-layout.js";
import { VirtualMachine } from "../../../src/vmm/virtual-machine.js";
import { core } from "../../support/tiny-guest.js";

const NESTVISOR = readFileSync("guests/nestvisor.elf");
const ROUND_TRIPS = 2000;

interface Outcome {
  console: string;
  instructions: number;
  registers: number[];
  levels: unknown;
  /** The switches the core made (read before the statistics take its counts over). */
  inCore: { reflected: number; resumed: number };
}

async function run(module: string, vmcsShadowing: boolean, watched: boolean): Promise<Outcome> {
  const [file, ...args] = module.split(" ");
  const bytes: number[] = [];
  const vm = await VirtualMachine.boot(NESTVISOR, {
    core, nested: "vmx", vmcsShadowing, serialOutput: (byte) => bytes.push(byte),
    modules: [{ bytes: readFileSync(file), cmdline: [file, ...args].join(" ") }],
  });
  if (watched) vm.onExit(() => {});
  const { stop } = vm.run({ timeoutSeconds: 120 });
  expect(stop.kind).toBe("guest-exit");
  const area = new Uint32Array(vm.core.memory.buffer, vm.core.levelSwitchArea());
  const inCore = { reflected: area[LS_REFLECTED_CPUID_LO >> 2], resumed: area[LS_VMRESUMES_LO >> 2] };
  return {
    console: Buffer.from(bytes).toString("latin1"),
    instructions: vm.instructionsRetired(),
    registers: Array.from(vm.vmcs.i32.subarray(0, 10)),
    levels: vm.statistics().levels,
    inCore,
  };
}

describe("the level switches the core makes itself", () => {
  for (const vmcsShadowing of [true, false]) {
    it(`are the VMM's: an L2 CPUID loop under nestvisor runs the same with every exit watched (VMCS shadowing ${vmcsShadowing ? "on" : "off"})`, async () => {
      const module = `guests/vmexit.elf ${ROUND_TRIPS} cpuid`;
      const [plain, watched] = await Promise.all([run(module, vmcsShadowing, false), run(module, vmcsShadowing, true)]);
      expect(plain.console).toContain("vmexit: done");
      expect({ ...plain, inCore: undefined }).toEqual({ ...watched, inCore: undefined });
      // Watched, the VMM makes every switch; plain, the core makes all but a few (around L0's own exits).
      expect(watched.inCore).toEqual({ reflected: 0, resumed: 0 });
      expect(plain.inCore.reflected).toBeGreaterThan(ROUND_TRIPS);
      expect(plain.inCore.resumed).toBeGreaterThan(ROUND_TRIPS);
    }, 120_000);
  }

  it("are the VMM's for every kind of exit nestvisor's L2 makes: multitask's paging and timer interrupts", async () => {
    const [plain, watched] = await Promise.all([run("guests/multitask.elf 5 20", true, false), run("guests/multitask.elf 5 20", true, true)]);
    expect(plain.console).toContain("VMX off, L2's status 0");
    expect({ ...plain, inCore: undefined }).toEqual({ ...watched, inCore: undefined });
    expect(plain.inCore.resumed).toBeGreaterThan(0);
  }, 120_000);
});
