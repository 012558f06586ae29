// VMRUN's consistency checks (APM Vol. 2 15.5.1, "Canonicalization and Consistency Checks", and
// 15.20 for EVENTINJ), made on L1's VMCB before anything of L2's is loaded: a failure is #VMEXIT
// with VMEXIT_INVALID, L2 never runs. KVM makes them in nested_vmcb_check_controls and
// nested_vmcb_check_save, Bochs in SvmEnterLoadCheckControls/SvmEnterLoadCheckGuestState and
// SvmInjectEvents. Ours, for a 32-bit CPU whose EFER has only SVME and whose physical addresses
// have 32 bits (CPUID 0x80000008):
//  - the VMRUN intercept is clear; the guest ASID is 0;
//  - the I/O or MSR permission map reaches 2^32 (the maximum physical address);
//  - EFER has a bit other than SVME, or SVME clear; CR0, CR3, CR4, DR6 or DR7 has bits 63:32;
//    CR0.NW without CR0.CD; CR4 a bit this CPU lacks; CS.L and CS.D both set;
//  - EVENTINJ (when valid) of a type that does not exist (1, 5-7), or an exception with vector 2
//    (NMI) or above 31.
// And two that are this CPU's and not the APM's, since the core has neither mode: paged real mode
// (CR0.PG without PE; Bochs runs it) and virtual-8086 mode (RFLAGS.VM) also fail the entry.

import { CR0_CD, CR0_NW, CR0_PE, CR0_PG, CR4_UNSUPPORTED } from "../control-registers.js";
import { EFER_SVME } from "./svm-msrs.js";
import {
  EVENT_TYPE_EXCEPTION, EVENT_TYPE_INTR, EVENT_TYPE_NMI, EVENT_TYPE_SOFTWARE_INT, EVENT_VALID, EVENTINJ,
  GUEST_ASID, INTERCEPT_VMRUN, INTERCEPTS_2, IOPM_BASE, MSRPM_BASE, SAVE_CR0, SAVE_CR3, SAVE_CR4, SAVE_DR6, SAVE_DR7,
  SAVE_EFER, SAVE_ES, SAVE_RFLAGS, SEGMENT_ATTRIBUTES, SEGMENT_STRIDE, type Vmcb,
} from "./vmcb.js";

export const IOPM_SIZE = 0x3000;
export const MSRPM_SIZE = 0x2000;
/** The end of the physical address space: 32 bits (CPUID 0x80000008 EAX[7:0]). */
const PHYSICAL_LIMIT = 0x1_0000_0000;
const CR4_RESERVED = (~0x7ff | CR4_UNSUPPORTED) >>> 0;
const RFLAGS_VM = 1 << 17;
const ATTRIBUTE_L = 1 << 9;
const ATTRIBUTE_DB = 1 << 10;
const SR_CS = 1;

/** A permission map's base (bits 11:0 ignored), unsigned; the map must end below the maximum physical address. */
export function permissionMapBase(vmcb: Vmcb, field: number): number {
  return (vmcb.read(field) & ~0xfff) >>> 0;
}

function mapFits(vmcb: Vmcb, field: number, size: number): boolean {
  return vmcb.read(field + 4) === 0 && permissionMapBase(vmcb, field) + size <= PHYSICAL_LIMIT;
}

/** Whether an EVENTINJ value (its low word) names an event VMRUN can inject (APM 15.20). */
export function eventInjectionValid(event: number): boolean {
  if (!(event & EVENT_VALID)) return true;
  const vector = event & 0xff;
  switch ((event >>> 8) & 7) {
    case EVENT_TYPE_INTR:
    case EVENT_TYPE_NMI:
    case EVENT_TYPE_SOFTWARE_INT:
      return true;
    case EVENT_TYPE_EXCEPTION:
      return vector !== 2 && vector <= 31;
    default:
      return false;
  }
}

/** The first check L1's VMCB fails, named for the trace and the tests; undefined when L2 may run. */
export function vmrunCheckFailure(vmcb: Vmcb): string | undefined {
  if (!(vmcb.read(INTERCEPTS_2) & INTERCEPT_VMRUN)) return "the VMRUN intercept is clear";
  if (vmcb.read(GUEST_ASID) === 0) return "guest ASID 0";
  if (!mapFits(vmcb, IOPM_BASE, IOPM_SIZE)) return "the I/O permission map reaches past the physical address space";
  if (!mapFits(vmcb, MSRPM_BASE, MSRPM_SIZE)) return "the MSR permission map reaches past the physical address space";
  const efer = vmcb.read(SAVE_EFER);
  if (vmcb.read(SAVE_EFER + 4) !== 0 || (efer & ~EFER_SVME) !== 0) return "EFER has reserved bits";
  if (!(efer & EFER_SVME)) return "EFER.SVME is clear";
  for (const [field, name] of [[SAVE_CR0, "CR0"], [SAVE_CR3, "CR3"], [SAVE_CR4, "CR4"], [SAVE_DR6, "DR6"], [SAVE_DR7, "DR7"]] as const) {
    if (vmcb.read(field + 4) !== 0) return `${name} has bits 63:32`;
  }
  const cr0 = vmcb.read(SAVE_CR0);
  if ((cr0 & CR0_NW) !== 0 && (cr0 & CR0_CD) === 0) return "CR0.NW without CR0.CD";
  if ((cr0 & CR0_PG) !== 0 && (cr0 & CR0_PE) === 0) return "paged real mode (not offered by this CPU)";
  if ((vmcb.read(SAVE_CR4) & CR4_RESERVED) !== 0) return "CR4 has bits this CPU does not have";
  const cs = vmcb.read16(SAVE_ES + SR_CS * SEGMENT_STRIDE + SEGMENT_ATTRIBUTES);
  if ((cs & ATTRIBUTE_L) !== 0 && (cs & ATTRIBUTE_DB) !== 0) return "CS.L and CS.D both set";
  if ((vmcb.read(SAVE_RFLAGS) & RFLAGS_VM) !== 0) return "virtual-8086 mode (not offered by this CPU)";
  if (!eventInjectionValid(vmcb.read(EVENTINJ))) return "EVENTINJ names no event";
  return undefined;
}
