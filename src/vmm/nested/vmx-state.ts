// What L0 keeps of L1's VMX operation (KVM's struct nested_vmx, in part): whether L1 is in VMX
// operation, its VMXON region and its current-VMCS pointer, and which level runs: while L1's guest
// (L2) runs, the VMCS it was entered with. That record, L0's controls for L1 set aside meanwhile
// and the link pointer L1 runs with live in the core's level-switch area
// (assembly/level-switch-layout.ts), because the core switches levels too (it reflects L2's CPUID
// itself). Everything else about L1's VMCSs lives in L1's RAM (vmcs12.ts). Saved and restored
// with the machine (saved-state.ts).

import { LS_L1_LINK, LS_L1_VMCS, LS_L2_VMCS, LS_NONE } from "../../../assembly/level-switch-layout.js";
import { type LevelWords, wordsWithoutCore } from "./core-level-switch.js";
import { StatePath, UnsaveableStateError } from "../../devices/saved-values.js";
import { VMCS_REGION_SIZE } from "./vmx-capabilities.js";

/** The current-VMCS pointer when there is none (the SDM's FFFFFFFF_FFFFFFFFH; ours never exceed 32 bits). */
export const NO_VMCS = -1;

export interface NestedVmxState {
  inVmxOperation: boolean;
  vmxonPointer: number;
  currentVmcs: number;
}

export class NestedVmx implements NestedVmxState {
  inVmxOperation = false;
  vmxonPointer = 0;
  currentVmcs = NO_VMCS;
  /** L0 shadows L1's current VMCS for the core (VirtualMachineOptions.vmcsShadowing): the host's choice, not saved. */
  shadowing = true;

  constructor(readonly level: LevelWords = wordsWithoutCore()) {}

  /** While L2 runs, the VMCS (vmcs12) it was entered with; undefined while L1 runs. */
  get l2(): number | undefined {
    const vmcs = this.level()[LS_L2_VMCS >> 2];
    return vmcs === LS_NONE ? undefined : vmcs;
  }

  set l2(vmcs: number | undefined) {
    this.level()[LS_L2_VMCS >> 2] = vmcs ?? LS_NONE;
  }

  /**
   * What the core needs to switch levels itself, kept current wherever it changes (vmcs-shadowing.ts
   * followVmcsShadowing): L1's current VMCS while it is in VMX operation with one, and the VMCS link
   * pointer L1 runs with (undefined: VMCS shadowing off).
   */
  setL1State(vmcs: number | undefined, link: number | undefined): void {
    const words = this.level();
    words[LS_L1_VMCS >> 2] = vmcs ?? LS_NONE;
    words[LS_L1_LINK >> 2] = link ?? LS_NONE;
  }


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
