// L0's emulation of L1's VMX instructions (exit reasons 19-27), as the SDM's "Operation" sections
// describe them for a CPU in VMX root operation (Vol. 3C chapter 31; KVM's handle_vmxon and
// friends in nested.c, Bochs' cpu/vmx.cc). The core has already made the checks that come before
// the exit (#UD in real or virtual-8086 mode, with CR4.VMXE clear or with a wrong operand form:
// assembly/cpu/vmx-instructions.ts); what is left, in the SDM's order:
//  - #UD when L1 is not in VMX operation (VMXON excepted), #GP(0) at CPL > 0;
//  - VMXON: #GP(0) unless CR0/CR4 hold their VMX fixed bits; VMfailInvalid for a pointer that is
//    not page-aligned, past 32 bits, not in RAM, or to a region without our revision ID; VMfail(15)
//    in VMX operation;
//  - VMCLEAR/VMPTRLD: VMfail(2/9) for such a pointer, VMfail(3/10) for the VMXON pointer,
//    VMPTRLD VMfail(11) for a region without our revision ID;
//  - VMREAD/VMWRITE: VMfailInvalid without a current VMCS, VMfail(12) for an encoding this VMCS
//    does not have, VMWRITE VMfail(13) to a read-only field;
//  - VMLAUNCH/VMRESUME: VMfailInvalid without a current VMCS, VMfail(26) in a MOV SS shadow,
//    VMfail(4/5) for the wrong launch state, then the entry checks (the core's,
//    assembly/vm/vmentry-checks.ts).
// A memory operand that faults raises its exception and nothing else happens.
// Pointers "not in RAM" are this VMM's reading of "sets bits beyond the physical-address width":
// L1's regions must be memory L0 can hold as data, and hardware given an unbacked region would
// read its revision ID as all ones and fail the same way.

import {
  G_CPL,
  G_CR0,
  G_CR4,
  G_INTERRUPTIBILITY,
  INTERRUPTIBILITY_MOV_SS,
} from "../../../assembly/vmcs-layout.js";
import type { ExitContext } from "../exits/exit-context.js";
import { VECTOR_GP, VECTOR_UD, injectException } from "../inject.js";
import { followVmxOperation } from "./vmx-control-registers.js";
import { enterL2 } from "./nested-run.js";
import { VMCS_REVISION, crFixedBitsHold } from "./vmx-capabilities.js";
import { LAUNCHED, REGION_LAUNCH_STATE, REGION_REVISION, FieldType, fieldMask, fieldSlot, FieldWidth } from "./vmcs12-fields.js";
import { pointerValid, readRegionWord, regionInRam, writeRegionWord } from "./vmcs12.js";
import { readOperand, vmxOperand, vmxRegister2, writeOperand } from "./vmx-operand.js";
import { VmxError, vmFail, vmFailInvalid, vmSucceed } from "./vmx-result.js";
import { NO_VMCS } from "./vmx-state.js";
import { followVmcsShadowing } from "./vmcs-shadowing.js";

const NO_VMCS_WORDS = [0xffffffff, 0xffffffff];

/** #UD outside VMX operation (or without nested VMX), #GP(0) at CPL > 0: false when either was raised. */
function permitted(vm: ExitContext): boolean {
  if (vm.config.nested !== "vmx" || !vm.vmx.inVmxOperation) {
    injectException(vm.vmcs, VECTOR_UD);
    return false;
  }
  return cplZero(vm);
}

function cplZero(vm: ExitContext): boolean {
  if (vm.vmcs.get(G_CPL) === 0) return true;
  injectException(vm.vmcs, VECTOR_GP, 0);
  return false;
}

/** The 64-bit region pointer a memory operand holds; undefined once its fault is injected. */
function readPointer(vm: ExitContext): [number, number] | undefined {
  const operand = vmxOperand(vm, 8, false);
  if (operand === undefined || !("linear" in operand)) return undefined;
  const words = readOperand(vm, operand.linear, 2);
  return words === undefined ? undefined : [words[0], words[1]];
}

/** A pointer to a region L0 can use: page-aligned, 32-bit, in RAM. */
function usablePointer(vm: ExitContext, [low, high]: [number, number]): boolean {
  return pointerValid(low, high) && regionInRam(vm.ram, low);
}

function revisionMatches(vm: ExitContext, pointer: number): boolean {
  // Bit 31, the shadow-VMCS indicator, must be clear: VMCS shadowing is not offered.
  return readRegionWord(vm.ram, pointer, REGION_REVISION) === VMCS_REVISION;
}

export function handleVmxon(vm: ExitContext): void {
  const { vmcs, vmx } = vm;
  if (vm.config.nested !== "vmx") return injectException(vmcs, VECTOR_UD);
  if (vmx.inVmxOperation) {
    if (cplZero(vm)) vmFail(vm, VmxError.VmxonInVmxRoot);
    return;
  }
  // IA32_FEATURE_CONTROL is locked with VMX enabled (vmx-capabilities.ts): its #GP cannot happen.
  if (!cplZero(vm)) return;
  if (!crFixedBitsHold(vmcs.get(G_CR0), vmcs.get(G_CR4))) return injectException(vmcs, VECTOR_GP, 0);
  const pointer = readPointer(vm);
  if (pointer === undefined) return;
  if (!usablePointer(vm, pointer) || !revisionMatches(vm, pointer[0])) return vmFailInvalid(vm);
  vmx.inVmxOperation = true;
  vmx.vmxonPointer = pointer[0];
  vmx.currentVmcs = NO_VMCS;
  followVmxOperation(vm);
  followVmcsShadowing(vmcs, vmx);
  vmSucceed(vm);
}

export function handleVmxoff(vm: ExitContext): void {
  if (!permitted(vm)) return;
  vm.vmx.inVmxOperation = false;
  vm.vmx.currentVmcs = NO_VMCS;
  followVmxOperation(vm);
  followVmcsShadowing(vm.vmcs, vm.vmx);
  vmSucceed(vm);
}

/**
 * VMCLEAR's and VMPTRLD's operand: a usable region that is not the VMXON region. Undefined once
 * the instruction has faulted or failed with `invalid` or `vmxonRegion`.
 */
function vmcsPointer(vm: ExitContext, invalid: VmxError, vmxonRegion: VmxError): number | undefined {
  if (!permitted(vm)) return undefined;
  const pointer = readPointer(vm);
  if (pointer === undefined) return undefined;
  if (!usablePointer(vm, pointer)) return void vmFail(vm, invalid);
  if (pointer[0] === vm.vmx.vmxonPointer) return void vmFail(vm, vmxonRegion);
  return pointer[0];
}

export function handleVmclear(vm: ExitContext): void {
  const address = vmcsPointer(vm, VmxError.VmclearInvalidAddress, VmxError.VmclearVmxonPointer);
  if (address === undefined) return;
  // The region holds all of its VMCS's data already; clearing sets its launch state to clear.
  writeRegionWord(vm.ram, address, REGION_LAUNCH_STATE, 0);
  if (address === vm.vmx.currentVmcs) vm.vmx.currentVmcs = NO_VMCS;
  followVmcsShadowing(vm.vmcs, vm.vmx);
  vmSucceed(vm);
}

export function handleVmptrld(vm: ExitContext): void {
  const address = vmcsPointer(vm, VmxError.VmptrldInvalidAddress, VmxError.VmptrldVmxonPointer);
  if (address === undefined) return;
  if (!revisionMatches(vm, address)) return vmFail(vm, VmxError.VmptrldWrongRevision);
  vm.vmx.currentVmcs = address;
  followVmcsShadowing(vm.vmcs, vm.vmx);
  vmSucceed(vm);
}

export function handleVmptrst(vm: ExitContext): void {
  if (!permitted(vm)) return;
  const operand = vmxOperand(vm, 8, true);
  if (operand === undefined || !("linear" in operand)) return;
  const current = vm.vmx.currentVmcs;
  if (writeOperand(vm, operand.linear, current === NO_VMCS ? NO_VMCS_WORDS : [current, 0])) vmSucceed(vm);
}

export function handleVmread(vm: ExitContext): void {
  if (!permitted(vm)) return;
  const current = vm.vmx.currentVmcs;
  if (current === NO_VMCS) return vmFailInvalid(vm);
  const slot = fieldSlot(vm.vmcs.reg(vmxRegister2(vm)));
  if (slot === undefined) return vmFail(vm, VmxError.UnsupportedField);
  const value = readRegionWord(vm.ram, current, slot.offset) & fieldMask(slot);
  const operand = vmxOperand(vm, 4, true);
  if (operand === undefined) return;
  if ("register" in operand) vm.vmcs.setReg(operand.register, value);
  else if (!writeOperand(vm, operand.linear, [value])) return;
  vmSucceed(vm);
}

export function handleVmwrite(vm: ExitContext): void {
  if (!permitted(vm)) return;
  const current = vm.vmx.currentVmcs;
  if (current === NO_VMCS) return vmFailInvalid(vm);
  // The source is read before the encoding is looked at (as Bochs does): its fault comes first.
  const operand = vmxOperand(vm, 4, false);
  if (operand === undefined) return;
  const value = "register" in operand ? vm.vmcs.reg(operand.register) : readOperand(vm, operand.linear, 1)?.[0];
  if (value === undefined) return;
  const slot = fieldSlot(vm.vmcs.reg(vmxRegister2(vm)));
  if (slot === undefined) return vmFail(vm, VmxError.UnsupportedField);
  if (slot.type === FieldType.ReadOnly) return vmFail(vm, VmxError.VmwriteReadOnly); // IA32_VMX_MISC bit 29 is clear
  writeRegionWord(vm.ram, current, slot.offset, value & fieldMask(slot));
  // Outside 64-bit mode a write of a 64-bit field's full encoding sets its high half to 0.
  if (slot.width === FieldWidth.Bits64 && !slot.high) writeRegionWord(vm.ram, current, slot.offset + 4, 0);
  vmSucceed(vm);
}

/** VMLAUNCH (launch = true) and VMRESUME: the checks before the entry, then the entry (nested-run.ts). */
function handleEntry(vm: ExitContext, launch: boolean): void {
  if (!permitted(vm)) return;
  const current = vm.vmx.currentVmcs;
  if (current === NO_VMCS) return vmFailInvalid(vm);
  if (vm.vmcs.get(G_INTERRUPTIBILITY) & INTERRUPTIBILITY_MOV_SS) return vmFail(vm, VmxError.EntryBlockedByMovSs);
  const launched = readRegionWord(vm.ram, current, REGION_LAUNCH_STATE) === LAUNCHED;
  if (launch && launched) return vmFail(vm, VmxError.VmlaunchNotClear);
  if (!launch && !launched) return vmFail(vm, VmxError.VmresumeNotLaunched);
  if (!vm.core.entryControlsValid(current)) return vmFail(vm, VmxError.EntryInvalidControls);
  if (!vm.core.hostStateValid(current)) return vmFail(vm, VmxError.EntryInvalidHostState);
  enterL2(vm, launch);
}

export const handleVmlaunch = (vm: ExitContext) => handleEntry(vm, true);
export const handleVmresume = (vm: ExitContext) => handleEntry(vm, false);
