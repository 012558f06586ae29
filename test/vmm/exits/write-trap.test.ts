import { describe, expect, it } from "vitest";
import { EXIT_EXCEPTION, EXIT_TRIPLE_FAULT, X_GUEST_PHYSICAL } from "../../../assembly/vmcs-layout.js";
import { handleWriteTrap } from "../../../src/vmm/exits/write-trap.js";
import { FakeContext } from "./fake-context.js";

describe("handleWriteTrap (the display's write trap)", () => {
  it("completes the write through emulate() and tells the display it completed (trap)", () => {
    const vm = new FakeContext();
    vm.vmcs.set(X_GUEST_PHYSICAL, 0xb8010);
    handleWriteTrap(vm);
    expect(vm.emulated).toBe(1);
    expect(vm.trappedWrites).toEqual([0xb8010]);
    expect(vm.completedWrites).toBe(1);
    expect(vm.dispatched).toEqual([]);
  });

  it("lets the instruction run again, unemulated, when the dirty log took the page's first write", () => {
    const vm = new FakeContext();
    vm.dirtyLog = true;
    vm.vmcs.set(X_GUEST_PHYSICAL, 0xb9000);
    handleWriteTrap(vm);
    expect(vm.trappedWrites).toEqual([0xb9000]);
    expect(vm.emulated).toBe(0);
    expect(vm.completedWrites).toBe(0);
  });

  it.each([
    ["an exception exit", EXIT_EXCEPTION],
    ["another exit", EXIT_TRIPLE_FAULT],
  ])("hands %s of the emulated instruction to its handler instead", (_, reason) => {
    const vm = new FakeContext();
    vm.emulateExit = reason;
    handleWriteTrap(vm);
    expect(vm.dispatched).toEqual([reason]);
    expect(vm.completedWrites).toBe(0);
  });
});
