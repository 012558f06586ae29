import { describe, expect, it } from "vitest";
import { G_EIP, G_INSTRET_LO, G_TSC_LO, X_INSTRUCTION_LENGTH, X_QUALIFICATION } from "../../../assembly/vmcs-layout.js";
import { Reg } from "../../../src/core/vmcs.js";
import { handleInvlpg } from "../../../src/vmm/exits/invlpg.js";
import { handleRdtsc } from "../../../src/vmm/exits/rdtsc.js";
import { FakeContext } from "./fake-context.js";

describe("RDTSC and INVLPG exits", () => {
  it("RDTSC: EDX:EAX = instructions retired + TSC offset, the value the core gives without the exit", () => {
    const vm = new FakeContext();
    vm.vmcs.set(G_INSTRET_LO, 1000);
    vm.vmcs.set(G_TSC_LO, 0xfffffc18); // offset 2^32 - 1000 ...
    vm.vmcs.set(X_INSTRUCTION_LENGTH, 2);
    handleRdtsc(vm);
    expect([vm.vmcs.reg(Reg.EAX), vm.vmcs.reg(Reg.EDX)]).toEqual([0, 1]); // ... makes exactly 2^32
    expect(vm.vmcs.get(G_EIP)).toBe(2);
  });

  it("INVLPG: completed (the qualification holds the linear address)", () => {
    const vm = new FakeContext();
    vm.vmcs.set(X_QUALIFICATION, 0xc0001000);
    vm.vmcs.set(X_INSTRUCTION_LENGTH, 3);
    handleInvlpg(vm);
    expect(vm.vmcs.get(G_EIP)).toBe(3);
    expect(vm.stops).toEqual([]);
  });
});
