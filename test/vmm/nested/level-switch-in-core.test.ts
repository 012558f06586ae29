// The level switches the core makes itself (assembly/vm/level-switch.ts): L1's VMRESUME that enters
// L2 and L2's CPUID reflected into L1, done without calling the VMM while nobody watches exits one
// by one. They must be the VMM's switches exactly: the same machine run with an exit listener (so
// that every exit goes to the VMM, which makes every switch itself) retires the same instructions,
// prints the same, ends with the same registers and counts the same exits at each level, while
// the run without one makes nearly all its switches in the core.
import { describe, expect, it } from "vitest";
import { LS_REFLECTED_CPUID_LO, LS_VMRESUMES_LO } from "../../../assembly/level-switch-layout.js";
import { plainAndWatched } from "../../support/nestvisor-in-core.js";

const ROUND_TRIPS = 2000;
const COUNTERS = { reflected: LS_REFLECTED_CPUID_LO, resumed: LS_VMRESUMES_LO };

describe("the level switches the core makes itself", () => {
  for (const vmcsShadowing of [true, false]) {
    it(`are the VMM's: an L2 CPUID loop under nestvisor runs the same with every exit watched (VMCS shadowing ${vmcsShadowing ? "on" : "off"})`, async () => {
      const module = `guests/vmexit.elf ${ROUND_TRIPS} cpuid`;
      const [plain, watched] = await plainAndWatched(module, { nested: "vmx", vmcsShadowing }, COUNTERS);
      expect(plain.console).toContain("vmexit: done");
      // Watched, the VMM makes every switch; plain, the core makes all but a few (around L0's own exits).
      expect(watched.inCore).toEqual({ reflected: 0, resumed: 0 });
      expect(plain.inCore.reflected).toBeGreaterThan(ROUND_TRIPS);
      expect(plain.inCore.resumed).toBeGreaterThan(ROUND_TRIPS);
    }, 120_000);
  }

  it("are the VMM's for every kind of exit nestvisor's L2 makes: multitask's paging and timer interrupts", async () => {
    const [plain] = await plainAndWatched("guests/multitask.elf 5 20", { nested: "vmx" }, COUNTERS);
    expect(plain.console).toContain("VMX off, L2's status 0");
    expect(plain.inCore.resumed).toBeGreaterThan(0);
  }, 120_000);
});
