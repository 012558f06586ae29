// What L0 keeps of a guest hypervisor's SVM (KVM's struct svm_nested_state, in part): while L1's
// guest (L2) runs, the VMCB it was entered with, where L1's host state went (VM_HSAVE_PA at the
// VMRUN) and whether L1 intercepts interrupts. L0's own controls for L1 wait in the core's
// level-switch area (assembly/level-switch-layout.ts), which also records that L2 runs and with
// what, so that the core completes none of L2's exits for L0 itself, and may make VMRUN and L2's
// CPUID #VMEXIT without the VMM (assembly/vm/svm-switch.ts). The global interrupt flag lives in the interrupt
// injector (InterruptInjector.globalInterruptFlag), which obeys it.
// Everything else is in L1's RAM: the VMCB and the host save area.

import { UnsaveableStateError } from "../../devices/saved-values.js";
import type { InterruptInjector } from "../interrupt-injector.js";
import {
  LS_SVM_L2, LS_SVM_RUN_FLAGS, LS_SVM_RUN_HSAVE, LS_SVM_RUN_VMCB, RUN_HOLDS_INTERRUPTS, RUN_HOST_INTERRUPTS, RUN_VIRTUAL_MASKING, SVM_L2_NONE,
  SVM_L2_PLAIN, SVM_L2_VMMS,
} from "../../../assembly/level-switch-layout.js";
import { type LevelWords, wordsWithoutCore } from "../nested/core-level-switch.js";
import type { VirtualInterrupt } from "./virtual-interrupt.js";

export interface SvmL2Run {
  vmcb: number;
  hsave: number;
  /** L1 intercepts INTR (as at its VMRUN): L0's interrupts are L1's, each a #VMEXIT. */
  holdsInterrupts: boolean;
  /**
   * V_INTR_MASKING at VMRUN: L1's IF then (the host's, `hostInterrupts`) masks L0's interrupts
   * while L2 runs, and L2's IF only virtual ones; without it L2's IF masks both (APM 15.21.1).
   */
  virtualMasking: boolean;
  hostInterrupts: boolean;
  /** L1's virtual interrupt (V_IRQ), while L2 has not taken it (virtual-interrupt.ts); once taken, the run is set anew without it. */
  readonly virtualInterrupt: VirtualInterrupt | undefined;
}

/** What the level-switch area's RUN_* bits say of a run. */
function runFlags(run: SvmL2Run): number {
  return (run.holdsInterrupts ? RUN_HOLDS_INTERRUPTS : 0) | (run.virtualMasking ? RUN_VIRTUAL_MASKING : 0) | (run.hostInterrupts ? RUN_HOST_INTERRUPTS : 0);
}

export class NestedSvm {
  private run: SvmL2Run | undefined = undefined;

  constructor(readonly level: LevelWords = wordsWithoutCore()) {}

  /**
   * While L1's guest (L2) runs, what it was entered with; undefined while L1 runs. The area's words
   * are the record, kept with the object: a run the core entered (or may leave) itself has no
   * virtual interrupt, and its object is made from them when the one kept describes another.
   */
  get l2(): SvmL2Run | undefined {
    const words = this.level();
    const state = words[LS_SVM_L2 >> 2];
    if (state === SVM_L2_NONE) return undefined;
    const run = this.run;
    if (state === SVM_L2_VMMS) return run;
    const vmcb = words[LS_SVM_RUN_VMCB >> 2], hsave = words[LS_SVM_RUN_HSAVE >> 2], flags = words[LS_SVM_RUN_FLAGS >> 2];
    if (run !== undefined && run.virtualInterrupt === undefined && run.vmcb === vmcb && run.hsave === hsave && runFlags(run) === flags) return run;
    this.run = {
      vmcb, hsave, holdsInterrupts: (flags & RUN_HOLDS_INTERRUPTS) !== 0, virtualMasking: (flags & RUN_VIRTUAL_MASKING) !== 0,
      hostInterrupts: (flags & RUN_HOST_INTERRUPTS) !== 0, virtualInterrupt: undefined,
    };
    return this.run;
  }

  /** A run begins (VMRUN), changes (L2 took its virtual interrupt: a new object) or ends (undefined). */
  set l2(run: SvmL2Run | undefined) {
    this.run = run;
    const words = this.level();
    if (run === undefined) {
      words[LS_SVM_L2 >> 2] = SVM_L2_NONE;
      return;
    }
    words[LS_SVM_RUN_VMCB >> 2] = run.vmcb;
    words[LS_SVM_RUN_HSAVE >> 2] = run.hsave;
    words[LS_SVM_RUN_FLAGS >> 2] = runFlags(run);
    words[LS_SVM_L2 >> 2] = run.virtualInterrupt === undefined ? SVM_L2_PLAIN : SVM_L2_VMMS;
  }

  /**
   * A machine is saved only while L1 runs with GIF set, so that nothing of SVM's needs saving:
   * the VMCBs and the host save area are in RAM and VM_CR, VM_HSAVE_PA and EFER are saved already.
   */
  checkSaveable(interrupts: InterruptInjector): void {
    if (this.l2 !== undefined) throw new UnsaveableStateError("cannot save the machine while its guest hypervisor's guest (L2) runs; save it while L1 runs");
    if (!interrupts.globalInterruptFlag) throw new UnsaveableStateError("cannot save the machine while its global interrupt flag is clear (after CLGI or a #VMEXIT, before STGI)");
  }
}
