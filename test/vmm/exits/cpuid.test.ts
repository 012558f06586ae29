import { describe, expect, it } from "vitest";
import { G_EIP, X_INSTRUCTION_LENGTH } from "../../../assembly/vmcs-layout.js";
import { Reg } from "../../../src/core/vmcs.js";
import { cpuid, handleCpuid } from "../../../src/vmm/exits/cpuid.js";
import { FakeContext } from "./fake-context.js";

const text = (...regs: number[]) => regs.map((r) => String.fromCharCode(r & 0xff, (r >> 8) & 0xff, (r >> 16) & 0xff, r >>> 24)).join("");

describe("cpuid", () => {
  it("leaf 0: maximum basic leaf 1 and the vendor in EBX, EDX, ECX", () => {
    const [eax, ebx, ecx, edx] = cpuid(0);
    expect(eax).toBe(1);
    expect(text(ebx, edx, ecx)).toBe("GenuineIntel");
  });

  it("leaf 1: no x87, MMX, FXSR, SSE or SSE2; TSC, MSR, CX8, CMOV, PSE, PGE; hypervisor bit", () => {
    const [eax, , ecx, edx] = cpuid(1);
    expect((eax >> 8) & 0xf).toBe(6);
    for (const absent of [0, 23, 24, 25, 26]) expect(edx & (1 << absent)).toBe(0);
    for (const present of [3, 4, 5, 8, 13, 15]) expect(edx & (1 << present)).not.toBe(0);
    expect(ecx >>> 31).toBe(1);
  });

  it("leaf 0x40000000: the hypervisor vendor, padded to 12 bytes, in EBX, ECX, EDX", () => {
    const [eax, ebx, ecx, edx] = cpuid(0x40000000);
    expect(eax).toBe(0x40000000);
    expect(text(ebx, ecx, edx)).toBe("wasmvisor\0\0\0");
  });

  it("answers leaves past the maximum as Intel does: with the highest basic leaf", () => {
    expect(cpuid(7)).toEqual(cpuid(1));
    expect(cpuid(0x80000001)).toEqual(cpuid(1));
    expect(cpuid(0x80000000)[0]).toBe(0x80000000);
    expect(cpuid(0x40000001)).toEqual([0, 0, 0, 0]);
  });
});

describe("handleCpuid", () => {
  it("fills EAX..EDX from the leaf in EAX and moves past CPUID", () => {
    const vm = new FakeContext();
    vm.vmcs.setReg(Reg.EAX, 0);
    vm.vmcs.set(G_EIP, 0x100);
    vm.vmcs.set(X_INSTRUCTION_LENGTH, 2);
    handleCpuid(vm);
    expect([vm.vmcs.reg(Reg.EAX), vm.vmcs.reg(Reg.EBX), vm.vmcs.reg(Reg.ECX), vm.vmcs.reg(Reg.EDX)]).toEqual(cpuid(0));
    expect(vm.vmcs.get(G_EIP)).toBe(0x102);
  });
});
