import { describe, expect, it } from "vitest";
import {
  C_CR0_MASK,
  C_CR0_SHADOW,
  C_CR3_TARGETS,
  C_CR4_MASK,
  C_CR4_SHADOW,
  E_INTR_ERROR,
  E_INTR_INFO,
  G_CR0,
  G_CR3,
  G_CR4,
  G_EIP,
  X_INSTRUCTION_LENGTH,
  X_QUALIFICATION,
} from "../../../assembly/vmcs-layout.js";
import { Reg } from "../../../src/core/vmcs.js";
import { CR0_OWNED, CR4_OWNED } from "../../../src/vmm/control-registers.js";
import { handleCrAccess } from "../../../src/vmm/exits/cr-access.js";
import type { VmConfig } from "../../../src/vmm/vm-config.js";
import { FakeContext } from "./fake-context.js";

const GP0 = 0x80000b0d; // valid, hardware exception, error code, vector 13

/** A CR-access exit: qualification from CR number, access type, GPR and LMSW data (SDM Table 28-3). */
function crExit(cr: number, type: number, gpr: Reg, value: number, config: Partial<VmConfig> = {}, lmsw = 0): FakeContext {
  const vm = new FakeContext(config);
  vm.vmcs.set(C_CR0_MASK, CR0_OWNED);
  vm.vmcs.set(C_CR4_MASK, CR4_OWNED);
  vm.vmcs.set(G_CR0, 0x11);
  vm.vmcs.set(G_EIP, 0x1000);
  vm.vmcs.set(X_INSTRUCTION_LENGTH, 3);
  vm.vmcs.setReg(gpr, value);
  vm.vmcs.set(X_QUALIFICATION, cr | (type << 4) | (gpr << 8) | (lmsw << 16));
  handleCrAccess(vm);
  return vm;
}

describe("handleCrAccess: MOV to CR3 outside the CR3-target list", () => {
  it("completes the load with the value of the GPR the qualification names", () => {
    const vm = crExit(3, 0, Reg.ESI, 0x00123000);
    expect(vm.vmcs.get(G_CR3)).toBe(0x00123000);
    expect(vm.vmcs.get(G_EIP)).toBe(0x1003);
  });

  it("puts the value in a CR3-target slot so that the next load of it is a hit", () => {
    const vm = crExit(3, 0, Reg.EBX, 0x00456000);
    expect(vm.cr3Targets.values()).toContain(0x00456000);
    expect(vm.vmcs.get(C_CR3_TARGETS)).toBe(0x00456000);
  });

  it("with --cr3-targets 0 has nowhere to put it and every load exits again", () => {
    const vm = crExit(3, 0, Reg.EAX, 0x7000, { cr3Targets: 0 });
    expect(vm.cr3Targets.values()).toEqual([]);
    expect(vm.vmcs.get(G_CR3)).toBe(0x7000);
  });
});

describe("handleCrAccess: CR0 and CR4 bits the VMM owns", () => {
  it("MOV to CR0 setting PG: completes the write and records the guest's value in the read shadow", () => {
    const vm = crExit(0, 0, Reg.EAX, 0x80000011);
    expect(vm.vmcs.get(G_CR0)).toBe(0x80000011);
    expect((vm.vmcs.get(C_CR0_SHADOW) & CR0_OWNED) >>> 0).toBe(0x80000000);
    expect(vm.vmcs.get(G_EIP)).toBe(0x1003);
  });

  it.each([
    ["PG without PE", 0x80000010],
    ["NW without CD", 0x20000011],
  ])("MOV to CR0 with %s: #GP(0) and no change", (_, value) => {
    const vm = crExit(0, 0, Reg.ECX, value);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(GP0);
    expect(vm.vmcs.get(E_INTR_ERROR)).toBe(0);
    expect(vm.vmcs.get(G_CR0)).toBe(0x11);
    expect(vm.vmcs.get(G_EIP)).toBe(0x1000);
  });

  it("MOV to CR4 setting PSE and PGE: completed, shadow updated", () => {
    const vm = crExit(4, 0, Reg.EDX, 0x90);
    expect(vm.vmcs.get(G_CR4)).toBe(0x90);
    expect(vm.vmcs.get(C_CR4_SHADOW)).toBe(0x90);
  });

  it.each([["VME", 1 << 0], ["DE", 1 << 3], ["PAE", 1 << 5], ["OSFXSR", 1 << 9]])(
    "MOV to CR4 setting %s, a feature CPUID does not report: #GP(0)",
    (_, bit) => {
      const vm = crExit(4, 0, Reg.EAX, bit);
      expect(vm.vmcs.get(E_INTR_INFO)).toBe(GP0);
      expect(vm.vmcs.get(G_CR4)).toBe(0);
    },
  );

  it("CLTS (access type 2) clears TS", () => {
    const vm = new FakeContext();
    vm.vmcs.set(C_CR0_MASK, 0x8);
    vm.vmcs.set(C_CR0_SHADOW, 0x8);
    vm.vmcs.set(G_CR0, 0x19);
    vm.vmcs.set(X_QUALIFICATION, 2 << 4);
    vm.vmcs.set(X_INSTRUCTION_LENGTH, 2);
    handleCrAccess(vm);
    expect(vm.vmcs.get(G_CR0)).toBe(0x11);
    expect(vm.vmcs.get(C_CR0_SHADOW) & 0x8).toBe(0);
    expect(vm.vmcs.get(G_EIP)).toBe(2);
  });

  it("LMSW (access type 3) loads MP/EM/TS from the qualification's source data and cannot clear PE", () => {
    const vm = crExit(0, 3, Reg.EAX, 0, {}, 0x000e);
    expect(vm.vmcs.get(G_CR0)).toBe(0x1f);
  });

  it("MOV from CR, which the core never exits for, ends the run as unhandled", () => {
    const vm = crExit(3, 1, Reg.EAX, 0);
    expect(vm.stops).toEqual([{ kind: "unhandled-exit", reason: 28, name: "control-register access" }]);
  });
});
