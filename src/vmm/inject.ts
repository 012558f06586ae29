// Event injection on the next VM entry, through the VM-entry interruption-information field
// (SDM 24.8.3): how the VMM makes the guest take an exception it decided on, e.g. a #PF while it
// emulates a string I/O instruction or a #GP for an MSR that does not exist.

import {
  E_INTR_ERROR,
  E_INTR_INFO,
  G_CPL,
  G_CR2,
  INTR_HAS_ERROR,
  INTR_TYPE_HW_EXCEPTION,
  INTR_VALID,
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
