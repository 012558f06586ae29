// The demo's VMCS controls read back from a VM (src/web/vm/controls.ts readControls): what
// applyControls wrote, for every control, and what a machine made by the CLI runs under, so that a
// restored machine's controls show in the page as they are.

import { describe, expect, it } from "vitest";
import { VirtualMachine } from "../../src/vmm/virtual-machine.js";
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
