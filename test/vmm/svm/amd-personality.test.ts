// The AMD personality (--cpu amd) beside the Intel one: CPUID, the MSRs AMD adds (EFER, VM_CR,
// VM_HSAVE_PA) and what each vendor answers that the other does not. Values are the APM's (Vol. 2
// 15.30, Vol. 3 appendix E) and a family 10h Phenom II's; guests/cpuprobe-amd.expected shows the
// same from inside a guest, beside QEMU's and Bochs' AMD models.

import { beforeEach, describe, expect, it } from "vitest";
import { E_INTR_INFO, G_EFER, G_EIP, X_INSTRUCTION_LENGTH } from "../../../assembly/vmcs-layout.js";
import { MAX_CPUID_RANGES } from "../../../assembly/exits-in-core-layout.js";
import { Reg } from "../../../src/core/vmcs.js";
import { StatePath } from "../../../src/devices/saved-values.js";
import { CpuidModel } from "../../../src/vmm/exits/cpuid.js";
import { handleRdmsr, handleWrmsr } from "../../../src/vmm/exits/msr.js";
import { CPUID_VENDORS, CPU_KINDS, HYPERV_PARTITIONS, resolveConfig } from "../../../src/vmm/vm-config.js";
import { SvmMsrs } from "../../../src/vmm/svm/svm-msrs.js";
import { FakeContext } from "../exits/fake-context.js";

const text = (...regs: number[]) => regs.map((r) => String.fromCharCode(r & 0xff, (r >> 8) & 0xff, (r >> 16) & 0xff, r >>> 24)).join("");
const GP = 13;

describe("CPUID under --cpu amd", () => {
  const amd = new CpuidModel("wasmvisor", "child", "off", "amd");

  it("leaf 0 and 0x80000000: AuthenticAMD, highest basic leaf 1, highest extended leaf 0x8000000A", () => {
    const [max, ebx, ecx, edx] = amd.query(0);
    expect(max).toBe(1);
    expect(text(ebx, edx, ecx)).toBe("AuthenticAMD");
    const [maxExtended, ...vendor] = amd.query(0x80000000);
    expect(maxExtended).toBe(0x8000000a);
    expect(text(vendor[0], vendor[2], vendor[1])).toBe("AuthenticAMD");
  });

  it("leaf 1: family 10h model 4 stepping 2 (extended family 1 over base family 0Fh), the Intel personality's features, no VMX", () => {
    const [eax, , ecx, edx] = amd.query(1);
    expect(eax).toBe(0x00100f42);
    expect(((eax >> 8) & 0xf) + ((eax >> 20) & 0xff)).toBe(0x10);
    expect(edx).toBe(new CpuidModel().query(1)[3]);
    expect(ecx).toBe(0x80000000); // the hypervisor bit only: VMX (bit 5) is Intel's
  });

  it("0x80000001: the signature again, SVM (ECX bit 2), EDX the leaf-1 bits AMD copies, without SEP's bit 11 (SYSCALL on AMD)", () => {
    const [eax, , ecx, edx] = amd.query(0x80000001);
    expect(eax).toBe(amd.query(1)[0]);
    expect(ecx).toBe(1 << 2);
    expect(edx).toBe((amd.query(1)[3] & ~(1 << 11)) >>> 0);
  });

  it("0x8000000A: SVM revision 1, 64 ASIDs, NRIPS (EDX bit 3) and no nested paging", () => {
    expect(amd.query(0x8000000a)).toEqual([1, 64, 0, 1 << 3]);
  });

  it("a brand string that names what it is, and 32-bit physical and linear addresses", () => {
    expect(text(...[0x80000002, 0x80000003, 0x80000004].flatMap((leaf) => [...amd.query(leaf)])).replace(/\0+$/, "")).toBe("AMD family 10h virtual processor (wasmvisor)");
    expect(amd.query(0x80000008)[0]).toBe(0x2020);
  });

  it("answers zeroes for any leaf it does not define, as AMD does; Intel answers the highest basic leaf", () => {
    const intel = new CpuidModel("none");
    const bare = new CpuidModel("none", "child", "off", "amd");
    for (const leaf of [2, 7, 0x80000005, 0x80000009, 0x8000000b, 0x40000000, 0xffffffff]) {
      expect(bare.query(leaf), `leaf ${leaf.toString(16)}`).toEqual([0, 0, 0, 0]);
      expect(intel.query(leaf), `leaf ${leaf.toString(16)}`).toEqual(intel.query(1));
    }
  });

  it("presents every hypervisor as under Intel: --cpuid-vendor is independent of --cpu", () => {
    for (const vendor of CPUID_VENDORS) {
      for (const leaf of [0x40000000, 0x40000001, 0x40000003]) {
        expect(new CpuidModel(vendor, "root", "off", "amd").query(leaf)).toEqual(
          vendor === "none" ? [0, 0, 0, 0] : new CpuidModel(vendor, "root", "off", "intel").query(leaf),
        );
      }
      expect(new CpuidModel(vendor, "child", "off", "amd").query(1)[2] >>> 31).toBe(vendor === "none" ? 0 : 1);
    }
  });

  it("fits the core's CPUID table for every vendor, partition and CPU (the core answers CPUID exits from it)", () => {
    for (const cpu of CPU_KINDS) {
      for (const vendor of CPUID_VENDORS) {
        for (const partition of HYPERV_PARTITIONS) expect(new CpuidModel(vendor, partition, "off", cpu).ranges.length).toBeLessThanOrEqual(MAX_CPUID_RANGES);
      }
    }
  });

  it("refuses VMX with an AMD CPU", () => {
    expect(() => resolveConfig({ cpu: "amd", nested: "vmx" })).toThrow('nested "vmx" needs an Intel CPU');
    expect(() => resolveConfig({ cpu: "via" as never })).toThrow('cpu must be one of intel, amd, not "via"');
    expect(resolveConfig().cpu).toBe("intel");
  });
});

describe("the AMD MSRs", () => {
  let vm: FakeContext;
  const setup = (cpu: "intel" | "amd") => {
    vm = new FakeContext({ cpu });
    vm.vmcs.set(G_EIP, 0x100);
    vm.vmcs.set(X_INSTRUCTION_LENGTH, 2);
  };
  beforeEach(() => setup("amd"));
  /** The fault's vector, or the value read. */
  const rdmsr = (msr: number): { value: number } | { fault: number } => {
    vm.vmcs.set(E_INTR_INFO, 0);
    vm.vmcs.set(G_EIP, 0x100);
    vm.vmcs.setReg(Reg.ECX, msr);
    handleRdmsr(vm);
    const info = vm.vmcs.get(E_INTR_INFO);
    if (info !== 0) return { fault: info & 0xff };
    return { value: vm.vmcs.reg(Reg.EAX) + vm.vmcs.reg(Reg.EDX) * 2 ** 32 };
  };
  const wrmsr = (msr: number, value: number): "done" | number => {
    vm.vmcs.set(E_INTR_INFO, 0);
    vm.vmcs.set(G_EIP, 0x100);
    vm.vmcs.setReg(Reg.ECX, msr);
    vm.vmcs.setReg(Reg.EAX, value % 2 ** 32);
    vm.vmcs.setReg(Reg.EDX, Math.floor(value / 2 ** 32));
    handleWrmsr(vm);
    const info = vm.vmcs.get(E_INTR_INFO);
    if (info !== 0) {
      expect(vm.vmcs.get(G_EIP), "a faulting WRMSR leaves EIP on itself").toBe(0x100);
      return info & 0xff;
    }
    expect(vm.vmcs.get(G_EIP)).toBe(0x102);
    return "done";
  };
  const EFER = 0xc0000080, VM_CR = 0xc0010114, VM_HSAVE_PA = 0xc0010117;

  it("do not exist on the Intel personality (a P6 has no EFER): #GP(0)", () => {
    setup("intel");
    for (const msr of [EFER, VM_CR, VM_HSAVE_PA]) {
      expect(rdmsr(msr)).toEqual({ fault: GP });
      expect(wrmsr(msr, 0)).toBe(GP);
    }
  });

  it("VM_CR comes up as firmware that disabled SVM leaves it: LOCK and SVMDIS, so EFER.SVME cannot be set", () => {
    expect(rdmsr(VM_CR)).toEqual({ value: 0x18 });
    expect(rdmsr(EFER)).toEqual({ value: 0 });
    expect(wrmsr(EFER, 1 << 12)).toBe(GP);
    expect(vm.vmcs.get(G_EFER)).toBe(0);
    expect(wrmsr(EFER, 0)).toBe("done");
  });

  it("EFER: every bit but SVME is reserved here (no SYSCALL, long mode or NX): #GP", () => {
    for (const bit of [0, 8, 10, 11, 14, 15, 32, 63]) expect(wrmsr(EFER, 2 ** bit), `bit ${bit}`).toBe(GP);
  });

  it("VM_CR: LOCK keeps LOCK and SVMDIS as they are (silently); bits 2:0 are kept as written; bits 63:5 are reserved", () => {
    expect(wrmsr(VM_CR, 0)).toBe("done");
    expect(rdmsr(VM_CR)).toEqual({ value: 0x18 });
    expect(wrmsr(VM_CR, 0x7)).toBe("done");
    expect(rdmsr(VM_CR)).toEqual({ value: 0x1f });
    expect(wrmsr(VM_CR, 0x20)).toBe(GP);
    expect(wrmsr(VM_CR, 2 ** 32)).toBe(GP);
  });

  it("VM_CR unlocked (as a restored or future --nested svm machine may have it): SVME can be set, and SVMDIS then cannot", () => {
    vm.svmMsrs.vmCr = 0;
    expect(wrmsr(EFER, 1 << 12)).toBe("done");
    expect(rdmsr(EFER)).toEqual({ value: 1 << 12 });
    expect(wrmsr(VM_CR, 0x10)).toBe(GP); // SVMDIS while EFER.SVME = 1, lock or not
    expect(wrmsr(VM_CR, 0x08)).toBe("done"); // LOCK alone
    expect(wrmsr(VM_CR, 0)).toBe("done");
    expect(rdmsr(VM_CR)).toEqual({ value: 0x08 }); // still locked
    expect(wrmsr(EFER, 0)).toBe("done");
  });

  it("VM_HSAVE_PA: a 4 KiB-aligned address below 2^32 (the physical address size CPUID reports), else #GP", () => {
    expect(rdmsr(VM_HSAVE_PA)).toEqual({ value: 0 });
    expect(wrmsr(VM_HSAVE_PA, 0x200010)).toBe(GP);
    expect(wrmsr(VM_HSAVE_PA, 2 ** 32)).toBe(GP);
    expect(wrmsr(VM_HSAVE_PA, 0xfffff000)).toBe("done");
    expect(rdmsr(VM_HSAVE_PA)).toEqual({ value: 0xfffff000 });
  });
});

describe("restoring the AMD MSRs", () => {
  const vmcs = new FakeContext({ cpu: "amd" }).vmcs;
  const at = new StatePath("vmm.svmMsrs");

  it("takes back what WRMSR could have left and refuses the rest with the field's name", () => {
    const msrs = new SvmMsrs();
    msrs.restoreState({ vmCr: 0x0f, hsavePa: 0x3000 }, vmcs, true, at);
    expect(msrs.saveState()).toEqual({ vmCr: 0x0f, hsavePa: 0x3000 });
    expect(() => msrs.restoreState({ vmCr: 0x20, hsavePa: 0 }, vmcs, true, at)).toThrow("vmm.svmMsrs.vmCr is 32");
    expect(() => msrs.restoreState({ vmCr: 0, hsavePa: 0x3010 }, vmcs, true, at)).toThrow("vmm.svmMsrs.hsavePa is not page-aligned");
    vmcs.set(G_EFER, 1 << 12);
    expect(() => msrs.restoreState({ vmCr: 0x18, hsavePa: 0 }, vmcs, true, at)).toThrow("cannot go with EFER 1000h");
    expect(() => msrs.restoreState({ vmCr: 0, hsavePa: 0 }, vmcs, false, at)).toThrow("cannot go with EFER 1000h");
    msrs.restoreState({ vmCr: 0, hsavePa: 0 }, vmcs, true, at);
    vmcs.set(G_EFER, 0);
  });
});
