import { describe, expect, it } from "vitest";
import { G_EIP, X_INSTRUCTION_LENGTH } from "../../../assembly/vmcs-layout.js";
import { Reg } from "../../../src/core/vmcs.js";
import { CpuidModel, handleCpuid } from "../../../src/vmm/exits/cpuid.js";
import { HYPERCALL_ABI_VERSION, HYPERCALL_MAX_FUNCTION } from "../../../src/vmm/hypercalls.js";
import { FakeContext } from "./fake-context.js";

const text = (...regs: number[]) => regs.map((r) => String.fromCharCode(r & 0xff, (r >> 8) & 0xff, (r >> 16) & 0xff, r >>> 24)).join("");

describe("the CPU every vendor shares", () => {
  const cpuid = new CpuidModel();

  it("leaf 0: maximum basic leaf 1 and the vendor in EBX, EDX, ECX", () => {
    const [eax, ebx, ecx, edx] = cpuid.query(0);
    expect(eax).toBe(1);
    expect(text(ebx, edx, ecx)).toBe("GenuineIntel");
  });

  it("leaf 1: no x87, MMX, FXSR, SSE or SSE2; TSC, MSR, CX8, SEP, CMOV, PSE, PGE; hypervisor bit", () => {
    const [eax, , ecx, edx] = cpuid.query(1);
    expect((eax >> 8) & 0xf).toBe(6);
    for (const absent of [0, 23, 24, 25, 26]) expect(edx & (1 << absent)).toBe(0);
    for (const present of [3, 4, 5, 8, 11, 13, 15]) expect(edx & (1 << present)).not.toBe(0);
    // SEP counts: not a family-6 model below 3 with a stepping below 3 (the Pentium Pro's false SEP)
    const model = (eax >> 4) & 0xf, stepping = eax & 0xf;
    expect(model >= 3 || stepping >= 3).toBe(true);
    expect(ecx >>> 31).toBe(1);
  });

  it("answers leaves past the maximum as Intel does: with the highest basic leaf", () => {
    expect(cpuid.query(7)).toEqual(cpuid.query(1));
    expect(cpuid.query(0x80000001)).toEqual(cpuid.query(1));
    expect(cpuid.query(0x80000000)[0]).toBe(0x80000000);
  });

  it("answers zeroes for hypervisor leaves it does not define", () => {
    expect(cpuid.query(0x40000002)).toEqual([0, 0, 0, 0]);
    expect(cpuid.query(0x4fffffff)).toEqual([0, 0, 0, 0]);
  });
});

describe("the hypervisor each --cpuid-vendor presents", () => {
  it.each([
    ["wasmvisor", 0x40000001, "wasmvisor\0\0\0"],
    ["kvm", 0x40000001, "KVMKVMKVM\0\0\0"],
    ["hyperv", 0x40000005, "Microsoft Hv"],
    ["vmware", 0x40000000, "VMwareVMware"],
  ] as const)("%s: leaf 1 ECX[31] set, leaf 0x40000000 = max leaf %s and %j in EBX, ECX, EDX", (vendor, max, signature) => {
    const cpuid = new CpuidModel(vendor);
    expect(cpuid.query(1)[2] >>> 31).toBe(1);
    const [eax, ebx, ecx, edx] = cpuid.query(0x40000000);
    expect(eax).toBe(max);
    expect(text(ebx, ecx, edx)).toBe(signature);
  });

  it("none: bit 31 clear and the hypervisor range answered like any leaf past the maximum", () => {
    const cpuid = new CpuidModel("none");
    expect(cpuid.query(1)[2] >>> 31).toBe(0);
    expect(cpuid.query(0x40000000)).toEqual(cpuid.query(1));
    expect(cpuid.query(0x40000001)).toEqual(cpuid.query(1));
  });

  it("wasmvisor: leaf 0x40000001 gives the hypercall ABI version and highest function", () => {
    expect(new CpuidModel("wasmvisor").query(0x40000001)).toEqual([HYPERCALL_ABI_VERSION, HYPERCALL_MAX_FUNCTION, 0, 0]);
  });

  it("kvm: the KVM features leaf offers only NOP_IO_DELAY (bit 1): no paravirtual MSRs", () => {
    expect(new CpuidModel("kvm").query(0x40000001)).toEqual([1 << 1, 0, 0, 0]);
  });

  it("hyperv: 'Hv#1', a system identity, and CreatePartitions (0x40000003 EBX bit 0) only for root", () => {
    const root = new CpuidModel("hyperv", "root");
    const child = new CpuidModel("hyperv", "child");
    expect(text(root.query(0x40000001)[0])).toBe("Hv#1");
    expect(root.query(0x40000002)[1]).toBe(0x000a0000);
    expect(root.query(0x40000003)[1] & 1).toBe(1);
    expect(child.query(0x40000003)[1] & 1).toBe(0);
    expect(child.query(0x40000004)[1]).toBe(0xffffffff);
    expect(child.query(0x40000005).slice(0, 2)).toEqual([1, 1]);
  });
});

describe("handleCpuid", () => {
  it("fills EAX..EDX from the leaf in EAX and moves past CPUID", () => {
    const vm = new FakeContext({ cpuidVendor: "kvm" });
    vm.vmcs.setReg(Reg.EAX, 0x40000000);
    vm.vmcs.set(G_EIP, 0x100);
    vm.vmcs.set(X_INSTRUCTION_LENGTH, 2);
    handleCpuid(vm);
    expect([vm.vmcs.reg(Reg.EAX), vm.vmcs.reg(Reg.EBX), vm.vmcs.reg(Reg.ECX), vm.vmcs.reg(Reg.EDX)]).toEqual(vm.cpuid.query(0x40000000));
    expect(vm.vmcs.get(G_EIP)).toBe(0x102);
  });
});
