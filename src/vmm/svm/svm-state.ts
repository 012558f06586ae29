// What L0 keeps of a guest hypervisor's SVM (KVM's struct svm_nested_state, in part): while L1's
// guest (L2) runs, the VMCB it was entered with, where L1's host state went (VM_HSAVE_PA at the
// VMRUN), and L0's own controls for L1, set aside (nested/level-switch.ts). The global interrupt
// flag lives in the interrupt injector (InterruptInjector.globalInterruptFlag), which obeys it.
// Everything else is in L1's RAM: the VMCB and the host save area.

import { UnsaveableStateError } from "../../devices/saved-values.js";
import type { InterruptInjector } from "../interrupt-injector.js";

export interface SvmL2Run {
  vmcb: number;
  hsave: number;
  l1Controls: number[];
}

export class NestedSvm {
  l2: SvmL2Run | undefined = undefined;
  /** The consistency check the last VMRUN failed (vmrun-checks.ts), for the trace and the tests; undefined if it passed. */
  lastVmrunFailure: string | undefined = undefined;

  /**
   * A machine is saved only while L1 runs with GIF set, so that nothing of SVM's needs saving:
   * the VMCBs and the host save area are in RAM and VM_CR, VM_HSAVE_PA and EFER are saved already.
   */
  checkSaveable(interrupts: InterruptInjector): void {
    if (this.l2 !== undefined) throw new UnsaveableStateError("cannot save the machine while its guest hypervisor's guest (L2) runs; save it while L1 runs");
    if (!interrupts.globalInterruptFlag) throw new UnsaveableStateError("cannot save the machine while its global interrupt flag is clear (after CLGI or a #VMEXIT, before STGI)");
  }
}
