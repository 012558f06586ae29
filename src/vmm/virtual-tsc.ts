// The guest's time-stamp counter, which is virtual: instructions retired plus the VMCS TSC offset
// (what the core's RDTSC returns when RDTSC does not exit). The VMM reads it for RDTSC exits and
// for RDMSR of IA32_TIME_STAMP_COUNTER, and moves the offset when the guest writes that MSR.
// The 64-bit offset is two's complement; as a JS number it is exact while its magnitude stays
// below 2^53, which instruction counts and sensible TSC writes do.

import { G_TSC_HI, G_TSC_LO } from "../../assembly/vmcs-layout.js";
import type { Vmcs } from "../core/vmcs.js";

const TWO_32 = 0x1_0000_0000;

export function tscOffset(vmcs: Vmcs): number {
  return vmcs.get(G_TSC_LO) + (vmcs.i32[G_TSC_HI >> 2] | 0) * TWO_32;
}

export function setTscOffset(vmcs: Vmcs, offset: number): void {
  vmcs.set(G_TSC_LO, ((offset % TWO_32) + TWO_32) % TWO_32);
  vmcs.set(G_TSC_HI, Math.floor(offset / TWO_32)); // the Int32Array store keeps the low 32 bits
}

/** The TSC the guest reads now. */
export function virtualTsc(vmcs: Vmcs): number {
  return vmcs.instructionsRetired() + tscOffset(vmcs);
}

