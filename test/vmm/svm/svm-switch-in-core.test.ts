// The SVM level switches the core makes itself (assembly/vm/svm-switch.ts): L1's VMRUN that enters L2
// and L2's CPUID #VMEXIT into L1, done without calling the VMM while nobody watches exits one by
// one. They must be the VMM's switches exactly: the same machine run with an exit listener (so that
// every exit goes to the VMM, which makes every switch itself) retires the same instructions,
// prints the same, ends with the same registers and counts the same exits at each level (the
// #VMEXIT codes L1 sees included), while the run without one makes nearly all its switches in the
// core. The hostile cases (VMCB and save area outside RAM or unaligned, failed checks, EVENTINJ)
// leave the core's path for the VMM's: svm-hostile-l1.test.ts runs them with the core's path open.
import { describe, expect, it } from "vitest";
import { LS_SVM_CPUID_VMEXITS_LO, LS_SVM_VMRUNS_LO } from "../../../assembly/level-switch-layout.js";
import { plainAndWatched } from "../../support/nestvisor-in-core.js";

const ROUND_TRIPS = 2000;
const SVM = { cpu: "amd", nested: "svm" } as const;
const COUNTERS = { vmruns: LS_SVM_VMRUNS_LO, cpuidVmexits: LS_SVM_CPUID_VMEXITS_LO };

describe("the SVM level switches the core makes itself", () => {
  it("are the VMM's: an L2 CPUID loop under nestvisor's SVM backend runs the same with every exit watched", async () => {
    const module = `guests/vmexit.elf ${ROUND_TRIPS} cpuid`;
    const [plain, watched] = await plainAndWatched(module, SVM, COUNTERS);
    expect(plain.console).toContain("vmexit: done");
    // Watched, the VMM makes every switch; plain, the core makes all but a few (around L0's own exits).
    expect(watched.inCore).toEqual({ vmruns: 0, cpuidVmexits: 0 });
    expect(plain.inCore.vmruns).toBeGreaterThan(ROUND_TRIPS);
    expect(plain.inCore.cpuidVmexits).toBeGreaterThan(ROUND_TRIPS);
  }, 120_000);

  it("are the VMM's for every kind of exit nestvisor's SVM L2 makes: multitask's paging and timer interrupts", async () => {
    const [plain] = await plainAndWatched("guests/multitask.elf 5 20", SVM, COUNTERS);
    expect(plain.console).toContain("SVM off, L2's status 0");
    expect(plain.inCore.vmruns).toBeGreaterThan(0);
  }, 120_000);
});
