// The VMX capability a guest hypervisor (L1) sees under `--nested vmx`: CPUID.1:ECX.VMX, the
// IA32_FEATURE_CONTROL MSR and the VMX capability MSRs (SDM Vol. 3D appendix A). They report only
// what the VMM emulates, so that an L1 that follows them gets the behaviour they promise:
//  - IA32_VMX_BASIC: our revision ID, a 4 KiB VMCS region, write-back memory type, addresses
//    limited to 32 bits (this CPU has no Intel 64, bit 48), no TRUE_* control MSRs (bit 55 clear,
//    so the default1 controls must be 1);
//  - the control MSRs (allowed-0 settings in bits 31:0, allowed-1 in bits 63:32): the default1
//    bits, plus the exits the issue asks L1 to be able to request (external interrupts; interrupt
//    window, HLT, INVLPG, RDTSC, CR3 load/store, unconditional I/O, I/O and MSR bitmaps; TSC
//    offsetting). No secondary controls (so IA32_VMX_PROCBASED_CTLS2 does not exist: #GP), no
//    EPT or VPID (INVEPT/INVVPID raise #UD), no 64-bit host or guest;
//  - IA32_VMX_MISC: the HLT activity state and 4 CR3-target values; no VMWRITE to read-only fields;
//  - CR0/CR4 FIXED0/FIXED1: PE, NE and PG must be 1 in VMX operation, CR4.VMXE must be 1, and CR4
//    may hold only the bits this CPU has (control-registers.ts);
//  - IA32_VMX_VMCS_ENUM: the highest field index vmcs12-fields.ts supports.
// The numbers are in assembly/vmx-capability-layout.ts, which the core's entry checks read too.
// IA32_FEATURE_CONTROL arrives locked with VMX outside SMX enabled (0x5), as the firmware of a
// VMX-capable PC (and Bochs' BIOS) leaves it: a guest reads it and cannot change it.

import {
  CR0_FIXED0, CR0_FIXED1, CR3_TARGET_COUNT, CR4_FIXED0, CR4_FIXED1, CR4_VMXE, ENTRY_ALLOWED0, ENTRY_ALLOWED1, EXIT_ALLOWED0,
  EXIT_ALLOWED1, PIN_ALLOWED0, PIN_ALLOWED1, PRIMARY_ALLOWED0, PRIMARY_ALLOWED1, VMCS_REGION_SIZE, VMCS_REVISION,
} from "../../../assembly/vmx-capability-layout.js";
import { highestFieldIndex } from "./vmcs12-fields.js";

export const MSR_FEATURE_CONTROL = 0x3a;
export const MSR_VMX_BASIC = 0x480;
export const MSR_VMX_PINBASED_CTLS = 0x481;
export const MSR_VMX_PROCBASED_CTLS = 0x482;
export const MSR_VMX_EXIT_CTLS = 0x483;
export const MSR_VMX_ENTRY_CTLS = 0x484;
export const MSR_VMX_MISC = 0x485;
export const MSR_VMX_CR0_FIXED0 = 0x486;
export const MSR_VMX_CR0_FIXED1 = 0x487;
export const MSR_VMX_CR4_FIXED0 = 0x488;
export const MSR_VMX_CR4_FIXED1 = 0x489;
export const MSR_VMX_VMCS_ENUM = 0x48a;

/** CPUID.1:ECX bit 5. */
export const FEATURE_VMX = 1 << 5;

export const FEATURE_CONTROL_LOCK = 1 << 0;
export const FEATURE_CONTROL_VMX_OUTSIDE_SMX = 1 << 2;
export const FEATURE_CONTROL_VALUE = FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;

export { CR0_FIXED0, CR0_FIXED1, CR3_TARGET_COUNT, CR4_FIXED0, CR4_FIXED1, CR4_VMXE, VMCS_REGION_SIZE, VMCS_REVISION };

const MEMORY_TYPE_WRITE_BACK = 6;

/** A control field's capability: bits that must be 1, bits that may be 1. */
export interface ControlCapability {
  allowed0: number;
  allowed1: number;
}

const capability = (allowed0: number, allowed1: number): ControlCapability => ({ allowed0: allowed0 >>> 0, allowed1: allowed1 >>> 0 });

export const PIN_CONTROLS = capability(PIN_ALLOWED0, PIN_ALLOWED1);
export const PRIMARY_CONTROLS = capability(PRIMARY_ALLOWED0, PRIMARY_ALLOWED1);
export const EXIT_CONTROLS = capability(EXIT_ALLOWED0, EXIT_ALLOWED1);
export const ENTRY_CONTROLS = capability(ENTRY_ALLOWED0, ENTRY_ALLOWED1);

const ACTIVITY_HLT_SUPPORTED = 1 << 6;

/** A 64-bit MSR value as RDMSR returns it: EAX (low), EDX (high). Some exceed 2^53, so never one number. */
export type MsrValue = readonly [low: number, high: number];
const pair = (low: number, high: number): MsrValue => [low >>> 0, high >>> 0];

/** IA32_FEATURE_CONTROL and every VMX capability MSR by number. */
export const VMX_MSRS: ReadonlyMap<number, MsrValue> = new Map([
  [MSR_VMX_BASIC, pair(VMCS_REVISION, VMCS_REGION_SIZE | (1 << 16) | (MEMORY_TYPE_WRITE_BACK << 18))],
  [MSR_VMX_PINBASED_CTLS, pair(PIN_CONTROLS.allowed0, PIN_CONTROLS.allowed1)],
  [MSR_VMX_PROCBASED_CTLS, pair(PRIMARY_CONTROLS.allowed0, PRIMARY_CONTROLS.allowed1)],
  [MSR_VMX_EXIT_CTLS, pair(EXIT_CONTROLS.allowed0, EXIT_CONTROLS.allowed1)],
  [MSR_VMX_ENTRY_CTLS, pair(ENTRY_CONTROLS.allowed0, ENTRY_CONTROLS.allowed1)],
  [MSR_VMX_MISC, pair(ACTIVITY_HLT_SUPPORTED | (CR3_TARGET_COUNT << 16), 0)],
  [MSR_VMX_CR0_FIXED0, pair(CR0_FIXED0, 0)],
  [MSR_VMX_CR0_FIXED1, pair(CR0_FIXED1, 0)],
  [MSR_VMX_CR4_FIXED0, pair(CR4_FIXED0, 0)],
  [MSR_VMX_CR4_FIXED1, pair(CR4_FIXED1, 0)],
  [MSR_VMX_VMCS_ENUM, pair(highestFieldIndex() << 1, 0)],
  [MSR_FEATURE_CONTROL, pair(FEATURE_CONTROL_VALUE, 0)],
]);

/** Whether CR0 and CR4 hold the values VMX operation requires (their FIXED0/FIXED1 MSRs), for VMXON (an entry's checks are the core's). */
export function crFixedBitsHold(cr0: number, cr4: number): boolean {
  return ((cr0 & CR0_FIXED0) >>> 0) === CR0_FIXED0 && ((cr4 & CR4_FIXED0) >>> 0) === CR4_FIXED0 && ((cr4 & ~CR4_FIXED1) >>> 0) === 0;
}
