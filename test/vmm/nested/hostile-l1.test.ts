// A guest hypervisor (L1) that tries to make L0 misbehave: every attempt ends as the SDM says
// (an exception, VMfailInvalid, VMfailValid) and L0 touches nothing outside L1's RAM.
import { describe, expect, it } from "vitest";
import {
  AR_UNUSABLE, E_INTR_INFO, G_CPL, G_CR0, G_CR4, G_EFLAGS, SR_DS, SR_SS, VMX_INFO_NO_INDEX, X_INSTRUCTION_INFO,
  X_INSTRUCTION_LENGTH, X_QUALIFICATION,
} from "../../../assembly/vmcs-layout.js";
import { Reg } from "../../../src/core/vmcs.js";
import { SavedStateError } from "../../../src/devices/saved-values.js";
import { VMCS_FIELD, fieldSlot } from "../../../src/vmm/nested/vmcs12-fields.js";
import { VMCS_REVISION } from "../../../src/vmm/nested/vmx-capabilities.js";
import { handleVmptrld, handleVmread, handleVmwrite, handleVmxon } from "../../../src/vmm/nested/vmx-instructions.js";
import { NO_VMCS, NestedVmx } from "../../../src/vmm/nested/vmx-state.js";
import { FakeContext } from "../exits/fake-context.js";

const CF = 1;
const ZF = 0x40;
const UD = 0x80000306;
const GP = 0x80000b0d;
const SS = 0x80000b0c;
const PF = 0x80000b0e;

/** A VM in L1's shoes: paging and NE on, CR4.VMXE set, at CPL 0, with its instruction's operand `[EBX]` through `sreg`. */
function l1(sreg = SR_DS): FakeContext {
  const vm = new FakeContext({ nested: "vmx" });
  vm.vmcs.set(G_CR0, 0x80000031);
  vm.vmcs.set(G_CR4, 0x2010);
  vm.vmcs.set(X_INSTRUCTION_LENGTH, 3);
  for (const s of [SR_DS, SR_SS]) vm.vmcs.setSegment(s, { selector: 0x10, base: 0, limit: 0xffffffff, ar: 0xc093 });
  memoryOperand(vm, sreg, 0);
  return vm;
}

/** The exit information of a memory operand [EBX + displacement] through `sreg`. */
function memoryOperand(vm: FakeContext, sreg: number, displacement: number): void {
  vm.vmcs.set(X_INSTRUCTION_INFO, (1 << 7) | (sreg << 15) | VMX_INFO_NO_INDEX | (Reg.EBX << 23));
  vm.vmcs.set(X_QUALIFICATION, displacement);
}

/** Puts a 64-bit pointer at 0x8000 and points EBX at it. */
function pointerAt(vm: FakeContext, low: number, high = 0): void {
  new DataView(vm.ram.buffer).setUint32(0x8000, low, true);
  new DataView(vm.ram.buffer).setUint32(0x8004, high, true);
  vm.vmcs.setReg(Reg.EBX, 0x8000);
}

function region(vm: FakeContext, at: number): void {
  new DataView(vm.ram.buffer).setUint32(at, VMCS_REVISION, true);
}

const outcome = (vm: FakeContext) => vm.vmcs.get(E_INTR_INFO) || vm.vmcs.get(G_EFLAGS) & (CF | ZF);

function inVmx(): FakeContext {
  const vm = l1();
  region(vm, 0x10000);
  pointerAt(vm, 0x10000);
  handleVmxon(vm);
  expect(vm.vmx.inVmxOperation).toBe(true);
  return vm;
}

describe("a hostile L1", () => {
  it("a region that ends past RAM is refused (VMfailInvalid), the last whole page of RAM is accepted", () => {
    const vm = l1();
    pointerAt(vm, vm.ram.length - 0x800);
    handleVmxon(vm);
    expect(outcome(vm)).toBe(CF);
    pointerAt(vm, vm.ram.length);
    handleVmxon(vm);
    expect(outcome(vm)).toBe(CF);
    region(vm, vm.ram.length - 0x1000);
    pointerAt(vm, vm.ram.length - 0x1000);
    handleVmxon(vm);
    expect(outcome(vm)).toBe(0);
    expect(vm.vmx.vmxonPointer).toBe(vm.ram.length - 0x1000);
  });

  it("a pointer that wraps or has high bits cannot reach past RAM: VMfailValid 9", () => {
    const vm = inVmx();
    region(vm, 0x11000);
    pointerAt(vm, 0x11000);
    handleVmptrld(vm);
    for (const [low, high] of [[0xfffff000, 0], [0x11000, 0xffffffff], [0x11000, 1]]) {
      pointerAt(vm, low, high);
      handleVmptrld(vm);
      expect(outcome(vm)).toBe(ZF);
      expect(new DataView(vm.ram.buffer).getUint32(0x11000 + fieldSlot(VMCS_FIELD.VM_INSTRUCTION_ERROR)!.offset, true)).toBe(9);
    }
    expect(vm.vmx.currentVmcs).toBe(0x11000);
  });

  it("at CPL 3 every instruction raises #GP(0), in VMX operation or not (VMXON)", () => {
    const vm = inVmx();
    vm.vmcs.set(G_CPL, 3);
    for (const handler of [handleVmxon, handleVmptrld, handleVmread, handleVmwrite]) {
      vm.vmcs.set(E_INTR_INFO, 0);
      handler(vm);
      expect(vm.vmcs.get(E_INTR_INFO)).toBe(GP);
    }
  });

  it("an operand through an unusable segment raises #GP(0), past SS's limit #SS(0), on an unmapped page #PF", () => {
    const vm = inVmx();
    vm.vmcs.setSegment(SR_DS, { selector: 0, base: 0, limit: 0, ar: AR_UNUSABLE });
    handleVmptrld(vm);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(GP);
    vm.vmcs.set(E_INTR_INFO, 0);
    vm.vmcs.setSegment(SR_SS, { selector: 0x10, base: 0, limit: 0x8003, ar: 0xc093 });
    memoryOperand(vm, SR_SS, 0);
    handleVmptrld(vm);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(SS);
    vm.vmcs.set(E_INTR_INFO, 0);
    vm.vmcs.setSegment(SR_DS, { selector: 0x10, base: 0, limit: 0xffffffff, ar: 0xc093 });
    memoryOperand(vm, SR_DS, 0);
    vm.vmcs.setReg(Reg.EBX, vm.mappedLimit - 4); // the pointer's high half is on an unmapped page
    handleVmptrld(vm);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(PF);
    expect(vm.vmx.currentVmcs).toBe(NO_VMCS);
  });

  it("a VMREAD to a read-only data segment raises #GP(0) and writes nothing", () => {
    const vm = inVmx();
    region(vm, 0x11000);
    pointerAt(vm, 0x11000);
    handleVmptrld(vm);
    vm.vmcs.setSegment(SR_DS, { selector: 0x10, base: 0, limit: 0xffffffff, ar: 0xc091 }); // read-only data
    vm.vmcs.setReg(Reg.ECX, VMCS_FIELD.GUEST_RIP);
    vm.vmcs.set(X_INSTRUCTION_INFO, vm.vmcs.get(X_INSTRUCTION_INFO) | (Reg.ECX << 28));
    vm.vmcs.setReg(Reg.EBX, 0x9000);
    handleVmread(vm);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(GP);
  });

  it("whatever L1 writes into its own VMCS region, a VMREAD reads only that region", () => {
    const vm = inVmx();
    region(vm, 0x11000);
    pointerAt(vm, 0x11000);
    handleVmptrld(vm);
    vm.ram.fill(0xff, 0x11000, 0x12000); // L1 scribbles over its VMCS, revision ID included
    vm.vmcs.set(X_INSTRUCTION_INFO, (1 << 10) | (Reg.EDX << 3) | (Reg.ECX << 28));
    vm.vmcs.setReg(Reg.ECX, VMCS_FIELD.GUEST_CS_SELECTOR);
    handleVmread(vm);
    expect(vm.vmcs.reg(Reg.EDX)).toBe(0xffff); // 16 bits of the scribble
  });

  it("without --nested vmx, a VMX exit (which the core never makes then) is answered with #UD", () => {
    const vm = new FakeContext();
    handleVmxon(vm);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(UD);
  });

  it("a saved VMX state is restored only with page-aligned regions inside RAM", () => {
    const vmx = new NestedVmx();
    const ram = 1 << 20;
    vmx.restoreState({ inVmxOperation: true, vmxonPointer: 0x10000, currentVmcs: ram - 0x1000 }, ram);
    expect(vmx.currentVmcs).toBe(ram - 0x1000);
    for (const bad of [{ currentVmcs: ram }, { currentVmcs: 0x10800 }, { vmxonPointer: -0x1000 }, { inVmxOperation: 1 as unknown as boolean }]) {
      expect(() => vmx.restoreState({ inVmxOperation: true, vmxonPointer: 0x10000, currentVmcs: NO_VMCS, ...bad }, ram)).toThrow(SavedStateError);
    }
  });
});
