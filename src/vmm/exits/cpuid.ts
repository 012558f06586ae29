// Exit reason 10, CPUID (KVM's handle_cpuid): CPUID always exits under VT-x, so the VMM decides
// what CPU the guest sees. Ours is an integer-only P6-class IA-32 CPU: no x87, MMX or SSE, because
// the core implements none of them, and a guest that checks CPUID must not try to use them. Leaf 1
// ECX bit 31 and leaves 0x40000000+ announce the hypervisor, as KVM and others do.

import { Reg, type Vmcs } from "../../core/vmcs.js";
import type { ExitContext } from "./exit-context.js";

export const CPU_VENDOR = "GenuineIntel";
/** 12 bytes, padded with NULs, in EBX, ECX, EDX of leaf 0x40000000. */
export const HYPERVISOR_VENDOR = "wasmvisor\0\0\0";

const MAX_BASIC_LEAF = 1;
const HYPERVISOR_LEAF = 0x40000000;
const MAX_HYPERVISOR_LEAF = 0x40000000;
const EXTENDED_LEAF = 0x80000000;
const MAX_EXTENDED_LEAF = 0x80000000;

/** Family 6, model 1, stepping 0 (Pentium Pro): the first CPU with every feature below. */
const SIGNATURE = (6 << 8) | (1 << 4) | 0;

// Leaf 1 EDX feature bits. Absent on purpose: FPU (0), VME (1), DE (2), PAE (6), MCE (7), APIC
// (9), SEP (11), MTRR (12), MCA (14), PAT (16), MMX (23), FXSR (24), SSE (25), SSE2 (26).
export const FEATURE_PSE = 1 << 3;
export const FEATURE_TSC = 1 << 4;
export const FEATURE_MSR = 1 << 5;
export const FEATURE_CX8 = 1 << 8;
export const FEATURE_PGE = 1 << 13;
export const FEATURE_CMOV = 1 << 15;
const LEAF1_EDX = FEATURE_PSE | FEATURE_TSC | FEATURE_MSR | FEATURE_CX8 | FEATURE_PGE | FEATURE_CMOV;
/** Leaf 1 ECX bit 31: running under a hypervisor (reserved as 0 on real CPUs). */
export const FEATURE_HYPERVISOR = 1 << 31;

export type CpuidResult = [eax: number, ebx: number, ecx: number, edx: number];

/** The answer to CPUID with EAX = leaf (no leaf we report has subleaves). */
export function cpuid(leaf: number): CpuidResult {
  switch (leaf >>> 0) {
    case 0:
      return [MAX_BASIC_LEAF, vendorWord(CPU_VENDOR, 0), vendorWord(CPU_VENDOR, 8), vendorWord(CPU_VENDOR, 4)];
    case 1:
      return [SIGNATURE, 0, FEATURE_HYPERVISOR >>> 0, LEAF1_EDX];
    case HYPERVISOR_LEAF:
      return [MAX_HYPERVISOR_LEAF, vendorWord(HYPERVISOR_VENDOR, 0), vendorWord(HYPERVISOR_VENDOR, 4), vendorWord(HYPERVISOR_VENDOR, 8)];
    case EXTENDED_LEAF:
      return [MAX_EXTENDED_LEAF, 0, 0, 0];
    default:
      // Past the maximum, Intel CPUs answer with the highest basic leaf; leaves in the hypervisor
      // range we do not implement read as zeroes (as KVM's do).
      return leaf >>> 0 >= HYPERVISOR_LEAF && leaf >>> 0 < EXTENDED_LEAF ? [0, 0, 0, 0] : cpuid(MAX_BASIC_LEAF);
  }
}

/**
 * Four characters of a vendor string as a register holds them (first character in the low byte).
 * Leaf 0 spreads its string over EBX, EDX, ECX; the hypervisor leaf over EBX, ECX, EDX.
 */
function vendorWord(vendor: string, at: number): number {
  return (vendor.charCodeAt(at) | (vendor.charCodeAt(at + 1) << 8) | (vendor.charCodeAt(at + 2) << 16) | (vendor.charCodeAt(at + 3) << 24)) >>> 0;
}

export function handleCpuid(vm: ExitContext): void {
  setCpuidResult(vm.vmcs, cpuid(vm.vmcs.reg(Reg.EAX)));
  vm.vmcs.skipInstruction();
}

function setCpuidResult(vmcs: Vmcs, [eax, ebx, ecx, edx]: CpuidResult): void {
  vmcs.setReg(Reg.EAX, eax);
  vmcs.setReg(Reg.EBX, ebx);
  vmcs.setReg(Reg.ECX, ecx);
  vmcs.setReg(Reg.EDX, edx);
}
