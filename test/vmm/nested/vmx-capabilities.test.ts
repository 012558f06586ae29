// What `--nested vmx` shows the guest, from the handlers alone: CPUID.1:ECX.VMX, the VMX MSRs with
// the SDM's formats (Vol. 3D appendix A), and none of it without the option.
import { describe, expect, it } from "vitest";
import { E_INTR_INFO, EXIT_RDMSR } from "../../../assembly/vmcs-layout.js";
import { Reg } from "../../../src/core/vmcs.js";
import { handleRdmsr, handleWrmsr } from "../../../src/vmm/exits/msr.js";
import * as C from "../../../src/vmm/nested/vmx-capabilities.js";
import { FieldWidth, VMCS_FIELD, fieldName, fieldSlot, fieldType, fieldWidth, REGION_BYTES_USED } from "../../../src/vmm/nested/vmcs12-fields.js";
import { FakeContext } from "../exits/fake-context.js";

const GP_INJECTED = 0x80000b0d; // valid, hardware exception, error code, vector 13

/** RDMSR's EDX:EAX as [EAX, EDX] (some of these values exceed 2^53), or the #GP it raised. */
function rdmsr(vm: FakeContext, msr: number): [number, number] | "#GP" {
  vm.vmcs.set(E_INTR_INFO, 0);
  vm.vmcs.setReg(Reg.ECX, msr);
  handleRdmsr(vm);
  if (vm.vmcs.get(E_INTR_INFO) === GP_INJECTED) return "#GP";
  return [vm.vmcs.reg(Reg.EAX), vm.vmcs.reg(Reg.EDX)];
}

const nested = () => new FakeContext({ nested: "vmx" });
const lo = (value: [number, number] | "#GP") => (value as [number, number])[0];
const hi = (value: [number, number] | "#GP") => (value as [number, number])[1];

describe("the VMX the guest sees", () => {
  it("CPUID.1:ECX bit 5 is set only under --nested vmx", () => {
    expect(nested().cpuid.query(1)[2] & C.FEATURE_VMX).toBe(C.FEATURE_VMX);
    expect(new FakeContext().cpuid.query(1)[2] & C.FEATURE_VMX).toBe(0);
  });

  it("without --nested vmx every VMX MSR, IA32_FEATURE_CONTROL included, raises #GP", () => {
    const vm = new FakeContext();
    for (const msr of [0x3a, ...Array.from({ length: 0x12 }, (_, i) => 0x480 + i)]) expect(rdmsr(vm, msr)).toBe("#GP");
    expect(vm.stats.count(EXIT_RDMSR)).toBe(0); // counted by the dispatcher, not the handler
  });

  it("IA32_FEATURE_CONTROL reads locked with VMX outside SMX enabled, and refuses writes", () => {
    const vm = nested();
    expect(rdmsr(vm, 0x3a)).toEqual([0x5, 0]);
    vm.vmcs.setReg(Reg.ECX, 0x3a);
    vm.vmcs.setReg(Reg.EAX, 0x5);
    handleWrmsr(vm);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(GP_INJECTED);
  });

  it("IA32_VMX_BASIC: revision ID, a 4 KiB region, 32-bit addresses, write-back, no TRUE controls", () => {
    const basic = rdmsr(nested(), 0x480);
    expect(lo(basic)).toBe(C.VMCS_REVISION);
    expect(lo(basic) >>> 31).toBe(0);
    expect(hi(basic) & 0x1fff).toBe(0x1000);
    expect((hi(basic) >>> 16) & 1).toBe(1); // bit 48
    expect((hi(basic) >>> 18) & 0xf).toBe(6); // bits 53:50
    expect((hi(basic) >>> 23) & 1).toBe(0); // bit 55
    expect(REGION_BYTES_USED).toBeLessThanOrEqual(0x1000);
  });

  it.each([
    [0x481, 0x16],
    [0x482, 0x0401e172],
    [0x483, 0x00036dff],
    [0x484, 0x000011ff],
  ])("control MSR %s: the default1 bits must be 1 (allowed-0), and every allowed-0 bit is allowed-1", (msr, default1) => {
    const value = rdmsr(nested(), msr);
    expect(lo(value)).toBe(default1);
    expect((hi(value) & lo(value)) >>> 0).toBe(lo(value));
  });

  it("offers no secondary controls (IA32_VMX_PROCBASED_CTLS2 does not exist), no TRUE_* MSRs, no EPT/VPID capability", () => {
    const vm = nested();
    expect(hi(rdmsr(vm, 0x482)) >>> 31).toBe(0);
    for (const msr of [0x48b, 0x48c, 0x48d, 0x48e, 0x48f, 0x490, 0x491]) expect(rdmsr(vm, msr)).toBe("#GP");
  });

  it("IA32_VMX_MISC reports 4 CR3-target values and the HLT activity state; FIXED and VMCS_ENUM are as documented", () => {
    const vm = nested();
    const misc = lo(rdmsr(vm, 0x485));
    expect((misc >>> 16) & 0x1ff).toBe(4);
    expect((misc >>> 6) & 7).toBe(1);
    expect((misc >>> 29) & 1).toBe(0); // no VMWRITE to read-only fields
    expect(rdmsr(vm, 0x486)).toEqual([0x80000021, 0]);
    expect(rdmsr(vm, 0x487)).toEqual([0xffffffff, 0]);
    expect(rdmsr(vm, 0x488)).toEqual([0x2000, 0]);
    expect(rdmsr(vm, 0x489)).toEqual([0x2194, 0]);
    expect(rdmsr(vm, 0x48a)).toEqual([0x15 << 1, 0]); // GUEST_SYSENTER_CS (0x482A) has the highest index
  });
});

describe("the VMCS field table", () => {
  it("holds well-formed SDM encodings, each in its own slot inside the region", () => {
    const offsets = new Set<number>();
    for (const encoding of Object.values(VMCS_FIELD)) {
      expect(encoding & 0xffff9001).toBe(0); // bit 0 (access type), bit 12 and bits 15-31 clear
      const slot = fieldSlot(encoding)!;
      expect(slot.width).toBe(fieldWidth(encoding));
      expect(slot.type).toBe(fieldType(encoding));
      expect(offsets.has(slot.offset)).toBe(false);
      offsets.add(slot.offset);
      expect(slot.offset + 8).toBeLessThanOrEqual(0x1000);
      // A 64-bit field has a high access one above; no other width does.
      expect(fieldSlot(encoding + 1) !== undefined).toBe(slot.width === FieldWidth.Bits64);
    }
  });

  it("names each field it holds, as --trace exits shows VMREAD's and VMWRITE's, and no other encoding", () => {
    for (const [name, encoding] of Object.entries(VMCS_FIELD)) {
      expect(fieldName(encoding)).toBe(name);
      expect(fieldName(encoding + 1)).toBe(fieldWidth(encoding) === FieldWidth.Bits64 ? `${name}_HIGH` : undefined);
    }
    expect(fieldName(0x2001)).toBe("IO_BITMAP_A_HIGH");
    for (const unsupported of [0x0000, 0x401e, 0x6c17, 0x80004002]) expect(fieldName(unsupported)).toBeUndefined();
  });
});
