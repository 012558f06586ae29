// What L0 keeps of L1's VMX operation (KVM's struct nested_vmx, in part): whether L1 is in VMX
// operation, its VMXON region and its current-VMCS pointer, and while L1's guest (L2) runs, what
// L0 set aside for L1 (nested-run.ts). Everything else about L1's VMCSs
// lives in L1's RAM (vmcs12.ts). Saved and restored with the machine (saved-state.ts).

import { StatePath, UnsaveableStateError } from "../../devices/saved-values.js";
import { VMCS_REGION_SIZE } from "./vmx-capabilities.js";

/** The current-VMCS pointer when there is none (the SDM's FFFFFFFF_FFFFFFFFH; ours never exceed 32 bits). */
export const NO_VMCS = -1;

/** While L2 runs: the VMCS it was entered with, and L0's controls for L1 (level-switch.ts). */
export interface L2Run {
  vmcs: number;
  l1Controls: number[];
}

export interface NestedVmxState {
  inVmxOperation: boolean;
  vmxonPointer: number;
  currentVmcs: number;
}

export class NestedVmx implements NestedVmxState {
  inVmxOperation = false;
  vmxonPointer = 0;
  currentVmcs = NO_VMCS;
  l2: L2Run | undefined = undefined;
  /** L0 shadows L1's current VMCS for the core (VirtualMachineOptions.vmcsShadowing): the host's choice, not saved. */
  shadowing = true;

  /** Only while L1 runs: a machine whose L2 runs is not saved (yet), and says so. */
  saveState(): NestedVmxState {
    if (this.l2 !== undefined) throw new UnsaveableStateError("cannot save the machine while its guest hypervisor's guest (L2) runs; save it while L1 runs");
    return { inVmxOperation: this.inVmxOperation, vmxonPointer: this.vmxonPointer, currentVmcs: this.currentVmcs };
  }

  /** Pointers come back only as VMXON, VMCLEAR and VMPTRLD could have left them: page-aligned regions in RAM. */
  restoreState(state: NestedVmxState, ramBytes: number, at = new StatePath("vmx")): void {
    at.flag("inVmxOperation", state.inVmxOperation);
    const region = (part: string, pointer: number) => {
      at.integer(part, pointer, 0, ramBytes - VMCS_REGION_SIZE);
      if (pointer % 0x1000 !== 0) at.refuse(part, "is not a page-aligned region");
    };
    region("vmxonPointer", state.vmxonPointer);
    if (state.currentVmcs !== NO_VMCS) region("currentVmcs", state.currentVmcs);
    this.inVmxOperation = state.inVmxOperation;
    this.vmxonPointer = state.vmxonPointer;
    this.currentVmcs = state.currentVmcs;
    this.l2 = undefined;
  }
}
