// The demo's VMCS controls read back from a VM (src/web/vm/controls.ts readControls): what
// applyControls wrote, for every control, and what a machine made by the CLI runs under, so that a
// restored machine's controls show in the page as they are.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VirtualMachine, type VirtualMachineOptions } from "../../src/vmm/virtual-machine.js";
import type { LiveControls } from "../../src/web/protocol.js";
import { applyControls, readControls } from "../../src/web/vm/controls.js";
import { core } from "../support/tiny-guest.js";
import { timerSerialGuest } from "../support/timer-serial-guest.js";

const DEFAULTS: LiveControls = { ifMode: "vt", cr3Targets: 4, hltExiting: true, interceptConsole: true, interceptDisk: true, displayUpdate: "refresh", compilingTier: true, cpuidVendor: "wasmvisor", cpu: "intel", vmcsShadowing: true };

describe("readControls", () => {
  it("reads what a VM made without the page's controls runs under: every port intercepted, the configuration's IF mode, vendor and CR3 targets", async () => {
    const vm = await VirtualMachine.boot(timerSerialGuest(), { core, memoryMiB: 4, ifMode: "trap", cpuidVendor: "kvm", cr3Targets: 1 });
    expect(readControls(vm)).toEqual({ ...DEFAULTS, ifMode: "trap", cpuidVendor: "kvm", cr3Targets: 1 });
  });

  it.each<Partial<LiveControls>>([
    {},
    { ifMode: "trap" },
    { cr3Targets: 0 },
    { cr3Targets: 3 },
    { hltExiting: false },
    { interceptConsole: false },
    { interceptDisk: false },
    { interceptConsole: false, interceptDisk: false },
    { displayUpdate: "trap" },
    { displayUpdate: "dirty-log" },
    { displayUpdate: "pv" },
    { compilingTier: false },
  ])("reads back what applyControls wrote: %o", async (change) => {
    const vm = await VirtualMachine.boot(timerSerialGuest(), { core, memoryMiB: 4 });
    const controls = { ...DEFAULTS, ...change };
    applyControls(vm, controls);
    expect(readControls(vm)).toEqual(controls);
  });

  it("reads the CPU from the configuration: the AMD CPU a guest hypervisor runs SVM on", async () => {
    const vm = await VirtualMachine.boot(timerSerialGuest(), { core, memoryMiB: 4, cpu: "amd", nested: "svm" });
    applyControls(vm, { ...DEFAULTS, cpu: "amd" });
    expect(readControls(vm)).toEqual({ ...DEFAULTS, cpu: "amd" });
  });

  it("reads classic IF mode from the configuration, whatever the VMCS's mode field holds", async () => {
    const vm = await VirtualMachine.boot(timerSerialGuest(), { core, memoryMiB: 4, ifMode: "classic", cpuidVendor: "none" });
    applyControls(vm, { ...DEFAULTS, ifMode: "classic", cpuidVendor: "none" });
    expect(readControls(vm)).toEqual({ ...DEFAULTS, ifMode: "classic", cpuidVendor: "none" });
  });
});

describe("applyControls while a guest hypervisor's guest (L2) runs", () => {
  // The page's controls are L0's own (VMCS01's): they must not take away an exit L1 asked for (here
  // nestvisor's unconditional I/O exiting, through which it forwards L2's COM1 output), and must
  // still hold once L1 runs again. The page flips them between two bursts of the run; here, as soon
  // as a burst ends with L2 running. L1 then sees every exit of L2's it sees without the flip (it
  // prints nothing more: COM1 no longer reaches a device, L1's output included).
  const flipped: LiveControls = { ...DEFAULTS, ifMode: "trap", cr3Targets: 2, hltExiting: false, interceptConsole: false, interceptDisk: false, compilingTier: false };
  // Short bursts: L2 runs a few instructions between its exits, L1 a hundred or more, and the first
  // burst to end in L2 must come before hello.elf ends (with 5000, SVM's never did once STGI and CLGI
  // stopped exiting).
  const BURST = 1_000;

  it.each<Partial<VirtualMachineOptions>>([{ nested: "vmx" }, { nested: "svm", cpu: "amd" }])(
    "apply to L0's controls, merged again with L1's for L2: L1 still sees each exit of L2's, and runs under them after (%o)",
    async (options) => {
      const run = async (flip: boolean) => {
        const vm = await VirtualMachine.boot(readFileSync("guests/nestvisor.elf"), {
          core, memoryMiB: 64, ...options, modules: [{ bytes: readFileSync("guests/hello.elf"), cmdline: "guests/hello.elf" }],
        });
        // Bounded in instructions, not time: a run that goes wrong ends all the same.
        const burst = (instructions: number) => vm.run({ maxInstructions: vm.instructionsRetired() + instructions }).stop;
        for (let bursts = 0; bursts < 10_000 && vm.vmx.l2 === undefined && vm.svm.l2 === undefined; bursts++) expect(burst(BURST).kind).toBe("instruction-limit");
        expect(vm.vmx.l2 !== undefined || vm.svm.l2 !== undefined).toBe(true);
        const controls = { ...(flip ? flipped : DEFAULTS), cpu: vm.config.cpu };
        applyControls(vm, controls);
        expect(burst(200_000_000).kind).toBe("guest-exit");
        expect(readControls(vm)).toEqual(controls);
        return vm.statistics().levels!.reflected.map(({ reason, count }) => ({ reason, count }));
      };
      const [flippedRun, plainRun] = await Promise.all([run(true), run(false)]);
      expect(plainRun.length).toBeGreaterThan(0);
      expect(flippedRun).toEqual(plainRun);
    },
    60_000,
  );
});
