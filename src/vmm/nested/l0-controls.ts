// L0's own VM-execution controls (KVM's vmcs01), as the VMM and the browser demo change them while
// the guest runs. While L1 (or a plain guest) runs they are the VMCS's. While a guest hypervisor's
// guest (L2) runs, under VMX or SVM, the VMCS holds the controls merged for L2, and L0's own wait
// in the level-switch area (assembly/vm/level-switch.ts) until L1 runs again: a change goes there,
// so that it outlives the switch back, and into the VMCS, where it is what L2 runs under for the
// words no merge touches (the IF mode, the compiling tier, the write trap); then L2's controls are
// merged again as at a VM entry, so that an exit either hypervisor asked for still happens.

import { L1_CONTROLS_END, LS_L1_CONTROLS } from "../../../assembly/level-switch-layout.js";
import { C_CLEAN_FIELDS, C_PIN, C_PREEMPTION_TIMER, C_PRIMARY, CTL_INTERRUPT_WINDOW } from "../../../assembly/vmcs-layout.js";
import type { Vmcs } from "../../core/vmcs.js";
import { type LevelWords, l2Runs, savedL0Control } from "./core-level-switch.js";

/** The control words set aside while L2 runs (level-switch-layout.ts LS_L1_CONTROLS). */
function setAside(field: number): boolean {
  return field >= C_PIN && field < L1_CONTROLS_END && field !== C_PREEMPTION_TIMER && field !== C_CLEAN_FIELDS;
}

export class L0Controls {
  /** `mergeForL2`: merges the controls of the L2 that runs again, from L0's set aside and L1's (VMX's or SVM's merge). */
  constructor(
    private readonly vmcs: Vmcs,
    private readonly level: LevelWords,
    private readonly mergeForL2: () => void,
  ) {}

  get(field: number): number {
    return l2Runs(this.level) && setAside(field) ? savedL0Control(this.level, field) : this.vmcs.get(field);
  }

  set(field: number, value: number): void {
    // The interrupt-window exit the injector may have asked for L2 is the live VMCS's, not a control of L0's for L1.
    const window = this.vmcs.get(C_PRIMARY) & CTL_INTERRUPT_WINDOW;
    this.vmcs.set(field, value);
    if (!setAside(field) || !l2Runs(this.level)) return;
    this.level()[(LS_L1_CONTROLS + field - C_PIN) >> 2] = value;
    this.mergeForL2();
    this.vmcs.set(C_PRIMARY, this.vmcs.get(C_PRIMARY) | window);
  }
}
