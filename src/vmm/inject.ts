// Event injection on the next VM entry, through the VM-entry interruption-information field
// (SDM 24.8.3): how the VMM makes the guest take an exception it decided on, e.g. a #PF while it
// emulates a string I/O instruction or a #GP for an MSR that does not exist.

import {
  E_INSTRUCTION_LENGTH,
  E_INTR_ERROR,
  E_INTR_INFO,
  G_CPL,
  G_CR2,
  INTR_HAS_ERROR,
  INTR_TYPE_HW_EXCEPTION,
  INTR_VALID,
  X_INSTRUCTION_LENGTH,
  X_VECTORING_ERROR,
  X_VECTORING_INFO,
} from "../../assembly/vmcs-layout.js";
import type { Vmcs } from "../core/vmcs.js";

export const VECTOR_UD = 6;
export const VECTOR_SS = 12;
export const VECTOR_GP = 13;
export const VECTOR_PF = 14;

// #PF error code bits.
const PF_WRITE = 1 << 1;
const PF_USER = 1 << 2;

export function injectException(vmcs: Vmcs, vector: number, errorCode?: number): void {
  let info = INTR_VALID | INTR_TYPE_HW_EXCEPTION | vector;
  if (errorCode !== undefined) {
    info |= INTR_HAS_ERROR;
    vmcs.set(E_INTR_ERROR, errorCode);
  }
  vmcs.set(E_INTR_INFO, info);
}

/** A page fault at `linear`: CR2 holds the address, as the CPU would have set it. */
export function injectPageFault(vmcs: Vmcs, linear: number, errorCode: number): void {
  vmcs.set(G_CR2, linear);
  injectException(vmcs, VECTOR_PF, errorCode);
}

/**
 * The #PF for an access the VMM emulates at `linear` that the guest's tables do not map. The MMU's
 * answer does not say whether the page was absent or protected; this reports not-present.
 */
export function injectAccessFault(vmcs: Vmcs, linear: number, write: boolean): void {
  injectPageFault(vmcs, linear, (write ? PF_WRITE : 0) | (vmcs.get(G_CPL) === 3 ? PF_USER : 0));
}

export function eventPending(vmcs: Vmcs): boolean {
  return (vmcs.get(E_INTR_INFO) & INTR_VALID) !== 0;
}

/**
 * An exit that happened while an event was being delivered (the core's X_VECTORING_INFO) and that
 * the VMM handles itself, at either level (not reflected into L1): the event is lost unless it is
 * delivered again, so it is injected at the next entry, with its instruction's length for INT n,
 * INT3 or INTO, as KVM's __vmx_complete_interrupts and svm_complete_interrupts requeue it. The
 * handler may then inject an event of its own in its place: the one the CPU would have delivered
 * next (an exception exit's exception, which the double-fault rules already made of both).
 */
export function requeueVectoredEvent(vmcs: Vmcs): void {
  const info = vmcs.get(X_VECTORING_INFO);
  if (!(info & INTR_VALID)) return;
  vmcs.set(E_INTR_INFO, info);
  vmcs.set(E_INTR_ERROR, vmcs.get(X_VECTORING_ERROR));
  vmcs.set(E_INSTRUCTION_LENGTH, vmcs.get(X_INSTRUCTION_LENGTH));
}
