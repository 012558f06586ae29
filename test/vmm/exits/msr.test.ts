import { beforeEach, describe, expect, it } from "vitest";
import { E_INTR_ERROR, E_INTR_INFO, G_EIP, G_INSTRET_LO, G_MSR_SYSENTER_EIP, X_INSTRUCTION_LENGTH } from "../../../assembly/vmcs-layout.js";
import { Reg } from "../../../src/core/vmcs.js";
import { handleRdmsr, handleWrmsr } from "../../../src/vmm/exits/msr.js";
import { FakeContext } from "./fake-context.js";

describe("MSR exits", () => {
  let vm: FakeContext;
  beforeEach(() => {
    vm = new FakeContext();
    vm.vmcs.set(G_EIP, 0x100);
    vm.vmcs.set(X_INSTRUCTION_LENGTH, 2);
    vm.vmcs.set(G_INSTRET_LO, 1000);
  });
  const rdmsr = (msr: number) => {
    vm.vmcs.setReg(Reg.ECX, msr);
    handleRdmsr(vm);
    return vm.vmcs.reg(Reg.EAX) + vm.vmcs.reg(Reg.EDX) * 2 ** 32;
  };
  const wrmsr = (msr: number, value: number) => {
    vm.vmcs.setReg(Reg.ECX, msr);
    vm.vmcs.setReg(Reg.EAX, value % 2 ** 32);
    vm.vmcs.setReg(Reg.EDX, Math.floor(value / 2 ** 32));
    handleWrmsr(vm);
  };

  it("reads the TSC as retired instructions, as RDTSC does", () => {
    expect(rdmsr(0x10)).toBe(1000);
    expect(vm.vmcs.get(G_EIP)).toBe(0x102);
  });

  it("writes the TSC through the VMCS TSC offset, forwards and backwards", () => {
    wrmsr(0x10, 5 * 2 ** 32 + 7);
    expect(rdmsr(0x10)).toBe(5 * 2 ** 32 + 7);
    wrmsr(0x10, 10);
    vm.vmcs.set(G_INSTRET_LO, 1500);
    expect(rdmsr(0x10)).toBe(510);
  });

  it("keeps the SYSENTER MSRs in the VMCS", () => {
    wrmsr(0x176, 0xc0001234);
    expect(vm.vmcs.get(G_MSR_SYSENTER_EIP)).toBe(0xc0001234);
    expect(rdmsr(0x176)).toBe(0xc0001234);
  });

  it("raises #GP(0) for an MSR this CPU does not have, leaving EIP on the instruction", () => {
    rdmsr(0x1b);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe((0x80000000 | (3 << 8) | (1 << 11) | 13) >>> 0);
    expect(vm.vmcs.get(E_INTR_ERROR)).toBe(0);
    expect(vm.vmcs.get(G_EIP)).toBe(0x100);
    vm.vmcs.set(E_INTR_INFO, 0);
    wrmsr(0xc0000080, 1);
    expect(vm.vmcs.get(E_INTR_INFO) & 0xff).toBe(13);
  });
});
