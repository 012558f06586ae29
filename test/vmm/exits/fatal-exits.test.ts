import { describe, expect, it } from "vitest";
import { ACTIVITY_HLT, G_ACTIVITY, G_EFLAGS, X_INTR_ERROR, X_INTR_INFO } from "../../../assembly/vmcs-layout.js";
import { handleException } from "../../../src/vmm/exits/exception.js";
import { handlePreemptionTimer } from "../../../src/vmm/exits/preemption-timer.js";
import { handleTripleFault } from "../../../src/vmm/exits/triple-fault.js";
import { FakeContext } from "./fake-context.js";

describe("exits that end the run or only return to the run loop", () => {
  it("a triple fault ends the run", () => {
    const vm = new FakeContext();
    handleTripleFault(vm);
    expect(vm.stops).toEqual([{ kind: "triple-fault" }]);
  });

  it("an intercepted exception ends the run with its vector and error code", () => {
    const vm = new FakeContext();
    vm.vmcs.set(X_INTR_INFO, 0x80000b0d);
    vm.vmcs.set(X_INTR_ERROR, 0x18);
    handleException(vm);
    expect(vm.stops).toEqual([{ kind: "exception", vector: 13, errorCode: 0x18 }]);
  });

  it("an intercepted exception without an error code reports none", () => {
    const vm = new FakeContext();
    vm.vmcs.set(X_INTR_INFO, 0x80000306);
    handleException(vm);
    expect(vm.stops).toEqual([{ kind: "exception", vector: 6, errorCode: undefined }]);
  });

  it("the preemption timer changes nothing: the run loop does the slice housekeeping", () => {
    const vm = new FakeContext();
    const before = vm.vmcs.i32.slice();
    handlePreemptionTimer(vm);
    expect(vm.vmcs.i32).toEqual(before);
    expect(vm.stops).toEqual([]);
  });

  it("a guest halted without HLT exiting (activity state HLT) is woken or stopped as at a HLT exit", () => {
    const stuck = new FakeContext();
    stuck.vmcs.set(G_ACTIVITY, ACTIVITY_HLT);
    handlePreemptionTimer(stuck);
    expect(stuck.stops).toEqual([{ kind: "halted", interruptsEnabled: false }]);
    const woken = new FakeContext();
    woken.vmcs.set(G_ACTIVITY, ACTIVITY_HLT);
    woken.vmcs.set(G_EFLAGS, 0x202);
    woken.timer.schedule(0x40, 10);
    handlePreemptionTimer(woken);
    expect(woken.stops).toEqual([]);
  });
});
