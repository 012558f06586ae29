// V_INTR, L1's virtual interrupt for L2 (APM Vol. 2 15.21.4, "Injecting Virtual Interrupts"; Bochs'
// VirtualInterruptAcknowledge): L1 sets V_IRQ in the VMCB with a vector (V_INTR_VECTOR) and a
// priority (V_INTR_PRIO) before VMRUN. While L2 runs, the interrupt is taken as a real one would
// be, once L2 can take it: GIF set, L2's RFLAGS.IF set, no interrupt shadow, no other event being
// delivered (EVENTINJ's and L0's own interrupts go first), and its priority above V_TPR[3:0] unless
// V_IGN_TPR. Taking it clears V_IRQ and delivers the vector through L2's IDT as an external
// interrupt; under L1's VINTR intercept it is #VMEXIT 64h instead, with V_IRQ still set (KVM's way
// of asking for L2's interrupt window). Until then L0 has the core exit at L2's interrupt window
// (the injector's window exiting, kept on: svmInterruptControls). #VMEXIT writes V_IRQ back, set if
// the interrupt is still pending. This CPU has no CR8, so V_TPR is L1's alone and never changes
// while L2 runs. L2's IF masks the virtual interrupt whatever V_INTR_MASKING says, which decides
// only what masks L0's interrupts held for L1 (svm-run.ts svmInterruptControls).

import { C_PRIMARY, CTL_INTERRUPT_WINDOW, E_INTR_INFO, G_ACTIVITY, G_INTERRUPTIBILITY, INTR_TYPE_EXTERNAL, INTR_VALID } from "../../../assembly/vmcs-layout.js";
import type { ExitContext } from "../exits/exit-context.js";
import type { SvmL2Run } from "./svm-state.js";
import { INTERCEPT_VINTR, INTERCEPTS_1, V_INTR, V_INTR_VECTOR, V_IRQ, type Vmcb } from "./vmcb.js";

/** A virtual interrupt L1 asked for (V_IRQ was set at VMRUN) and L2 has not taken. */
export interface VirtualInterrupt {
  vector: number;
  /** Its priority lets it in (V_INTR_PRIO above V_TPR[3:0], or V_IGN_TPR): else it waits for ever. */
  unmasked: boolean;
  /** L1 intercepts VINTR: taking it is #VMEXIT 64h. */
  intercepted: boolean;
}

export const VMEXIT_VINTR = 0x64;
const V_IGN_TPR = 1 << 20;

/** The virtual interrupt VMRUN finds in the VMCB, or undefined without V_IRQ. */
export function virtualInterruptAt(vmcb: Vmcb): VirtualInterrupt | undefined {
  const control = vmcb.read(V_INTR);
  if (!(control & V_IRQ)) return undefined;
  const priority = (control >>> 16) & 0xf;
  return {
    vector: vmcb.read8(V_INTR_VECTOR),
    unmasked: (control & V_IGN_TPR) !== 0 || priority > (control & 0xf),
    intercepted: (vmcb.read(INTERCEPTS_1) & INTERCEPT_VINTR) !== 0,
  };
}

/** #VMEXIT: V_IRQ back into the VMCB, set while the interrupt is still pending. */
export function saveVirtualInterrupt(vmcb: Vmcb, run: SvmL2Run): void {
  const control = vmcb.read(V_INTR) & ~V_IRQ;
  vmcb.write(V_INTR, run.virtualInterrupt === undefined ? control : control | V_IRQ);
}

/** The virtual interrupt waits on L2's interrupt window: pending, unmasked, and GIF set (L2 may clear it with CLGI; its STGI is an exit). */
export function waitsOnWindow(vm: ExitContext, run: SvmL2Run): boolean {
  return run.virtualInterrupt?.unmasked === true && vm.interrupts.globalInterruptFlag;
}

/**
 * Offers L2 its pending virtual interrupt, after L0 offered its own: injected if L2 can take it
 * now, else waiting for L2's interrupt window (with GIF clear, for the exit of L2's STGI).
 * Returns true when L1 intercepts it: the caller's #VMEXIT 64h.
 */
export function offerVirtualInterrupt(vm: ExitContext, run: SvmL2Run): boolean {
  const pending = run.virtualInterrupt;
  if (pending === undefined || !waitsOnWindow(vm, run)) return false;
  if (!vm.interrupts.interruptible()) {
    vm.vmcs.set(C_PRIMARY, vm.vmcs.get(C_PRIMARY) | CTL_INTERRUPT_WINDOW);
    return false;
  }
  if (pending.intercepted) return true;
  vm.svm.l2 = { ...run, virtualInterrupt: undefined };
  vm.vmcs.set(E_INTR_INFO, (INTR_VALID | INTR_TYPE_EXTERNAL | pending.vector) >>> 0);
  vm.interrupts.deliver(); // the window stays on only if L0 has an interrupt waiting
  return false;
}

/**
 * L2 halts (L1 does not intercept HLT) with IF set and a virtual interrupt it may take: the HLT
 * completes and the interrupt wakes it at once, as on a CPU whose pending interrupt ends a halt.
 */
export function virtualInterruptWakes(vm: ExitContext, run: SvmL2Run): boolean {
  if (run.virtualInterrupt?.unmasked !== true || !vm.interrupts.flag.enabled() || !vm.interrupts.globalInterruptFlag) return false;
  vm.vmcs.skipInstruction();
  vm.vmcs.set(G_INTERRUPTIBILITY, 0); // the HLT completed: an STI before it no longer blocks
  vm.vmcs.set(G_ACTIVITY, 0);
  return true;
}
