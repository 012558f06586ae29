// How a VMX instruction reports its outcome (SDM Vol. 3C 31.2, "Conventions"): through the
// arithmetic flags, and for VMfailValid the VM-instruction error field of the current VMCS.
//  VMsucceed:     CF PF AF ZF SF OF all clear;
//  VMfailInvalid: CF set, the others clear (there is no current VMCS to hold an error number);
//  VMfailValid:   ZF set, the others clear, the error number written into the current VMCS.
// Each completes the instruction (EIP moves past it).

import { G_EFLAGS } from "../../../assembly/vmcs-layout.js";
import type { ExitContext } from "../exits/exit-context.js";
import { ARITH_FLAGS, CF, ZF } from "../../x86/eflags.js";
import { VMCS_FIELD, fieldSlot } from "./vmcs12-fields.js";
import { writeRegionWord } from "./vmcs12.js";
import { NO_VMCS } from "./vmx-state.js";


/** VM-instruction error numbers (SDM Vol. 3C 31.4). */
export const enum VmxError {
  VmcallInVmxRoot = 1,
  VmclearInvalidAddress = 2,
  VmclearVmxonPointer = 3,
  VmlaunchNotClear = 4,
  VmresumeNotLaunched = 5,
  VmresumeAfterVmxoff = 6,
  EntryInvalidControls = 7,
  EntryInvalidHostState = 8,
  VmptrldInvalidAddress = 9,
  VmptrldVmxonPointer = 10,
  VmptrldWrongRevision = 11,
  UnsupportedField = 12,
  VmwriteReadOnly = 13,
  VmxonInVmxRoot = 15,
  EntryBlockedByMovSs = 26,
}

function setFlags(vm: ExitContext, set: number): void {
  const { vmcs } = vm;
  vmcs.set(G_EFLAGS, (vmcs.get(G_EFLAGS) & ~ARITH_FLAGS) | set);
  vmcs.skipInstruction();
}

export function vmSucceed(vm: ExitContext): void {
  setFlags(vm, 0);
}

export function vmFailInvalid(vm: ExitContext): void {
  setFlags(vm, CF);
}

/** VMfail(error): VMfailValid with a current VMCS, VMfailInvalid without one. */
export function vmFail(vm: ExitContext, error: VmxError): void {
  const current = vm.vmx.currentVmcs;
  if (current === NO_VMCS) return vmFailInvalid(vm);
  writeRegionWord(vm.ram, current, fieldSlot(VMCS_FIELD.VM_INSTRUCTION_ERROR)!.offset, error);
  setFlags(vm, ZF);
}
