import { describe, expect, it } from "vitest";
import { E_INTR_INFO, G_EFLAGS, G_EIP, G_INTERRUPTIBILITY, X_INSTRUCTION_LENGTH } from "../../../assembly/vmcs-layout.js";
import { handleHlt } from "../../../src/vmm/exits/hlt.js";
import { FakeContext } from "./fake-context.js";

function halt(eflags: number, pendingEvent = 0): FakeContext {
  const vm = new FakeContext();
  vm.vmcs.set(G_EIP, 0x2000);
  vm.vmcs.set(G_EFLAGS, eflags);
  vm.vmcs.set(X_INSTRUCTION_LENGTH, 1);
  vm.vmcs.set(G_INTERRUPTIBILITY, 1);
  vm.vmcs.set(E_INTR_INFO, pendingEvent);
  handleHlt(vm);
  return vm;
}

describe("handleHlt", () => {
  it("ends the run when the guest halts with interrupts disabled", () => {
    expect(halt(0x2).stops).toEqual([{ kind: "halted", interruptsEnabled: false }]);
  });

  it("ends the run when the guest waits for an interrupt no device can raise", () => {
    expect(halt(0x202).stops).toEqual([{ kind: "halted", interruptsEnabled: true }]);
  });

  it("lets the guest go on when an event is queued for injection", () => {
    expect(halt(0x202, 0x80000020).stops).toEqual([]);
  });

  it("leaves EIP after HLT and ends the STI interrupt shadow, as the CPU would", () => {
    const vm = halt(0x2);
    expect(vm.vmcs.get(G_EIP)).toBe(0x2001);
    expect(vm.vmcs.get(G_INTERRUPTIBILITY)).toBe(0);
  });
});
