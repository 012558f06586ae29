// What L0 keeps of a guest hypervisor's SVM (KVM's struct svm_nested_state, in part): while L1's
// guest (L2) runs, the VMCB it was entered with, where L1's host state went (VM_HSAVE_PA at the
// VMRUN) and whether L1 intercepts interrupts. L0's own controls for L1 wait in the core's
// level-switch area (assembly/level-switch-layout.ts), which also records that L2 runs, so that the
// core completes none of L2's exits for L0 itself. The global interrupt flag lives in the interrupt
// injector (InterruptInjector.globalInterruptFlag), which obeys it.
// Everything else is in L1's RAM: the VMCB and the host save area.

import { UnsaveableStateError } from "../../devices/saved-values.js";
import type { InterruptInjector } from "../interrupt-injector.js";
import { LS_SVM_L2 } from "../../../assembly/level-switch-layout.js";
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
  /** L1's virtual interrupt (V_IRQ), while L2 has not taken it (virtual-interrupt.ts). */
  virtualInterrupt: VirtualInterrupt | undefined;
}

export class NestedSvm {
  private run: SvmL2Run | undefined = undefined;
  /** The consistency check the last VMRUN failed (vmrun-checks.ts), for the trace and the tests; undefined if it passed. */
  lastVmrunFailure: string | undefined = undefined;

  constructor(readonly level: LevelWords = wordsWithoutCore()) {}

  /** While L1's guest (L2) runs, what it was entered with; undefined while L1 runs. */
  get l2(): SvmL2Run | undefined {
    return this.run;
  }

  set l2(run: SvmL2Run | undefined) {
    this.run = run;
    this.level()[LS_SVM_L2 >> 2] = run === undefined ? 0 : 1;
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
