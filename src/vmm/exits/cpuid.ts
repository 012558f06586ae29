// Exit reason 10, CPUID (KVM's handle_cpuid): CPUID always exits under VT-x, so the VMM decides
// what CPU the guest sees. Ours is an integer-only P6-class IA-32 CPU: no x87, MMX or SSE, because
// the core implements none of them, and a guest that checks CPUID must not try to use them. Leaf 1
// ECX bit 5 is VMX under `--nested vmx`; bit 31 and leaves 0x40000000+ announce the hypervisor (hypervisor-identity.ts), unless the
// VM is configured to look like bare metal. Every answer is computed when the VM is created, in
// one array per range of leaves (basic, hypervisor, extended: bits 31-30 of the leaf pick the
// range), so an exit is two array loads and four register stores.

import { Reg, type Vmcs } from "../../core/vmcs.js";
import { hex8 } from "../../loader/load-error.js";
import { HYPERVISOR_LEAF, hypervisorLeaves, textWord, type CpuidResult } from "../hypervisor-identity.js";
import { FEATURE_VMX } from "../nested/vmx-capabilities.js";
import type { CpuidVendor, HypervPartition, NestedMode } from "../vm-config.js";
import type { ExitContext } from "./exit-context.js";

export type { CpuidResult };

export const CPU_VENDOR = "GenuineIntel";

const MAX_BASIC_LEAF = 1;
const EXTENDED_LEAF = 0x80000000;
const MAX_EXTENDED_LEAF = 0x80000000;
/** Past the hypervisor range, leaves are basic or extended again. */
const HYPERVISOR_RANGE_END = 0x50000000;

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

const ZEROES: CpuidResult = [0, 0, 0, 0];
/** Bits 29-0 of a leaf: its place in its range. */
const RANGE_OFFSET = 0x3fffffff;

/** The CPU a VM presents, as the answers to CPUID (no leaf we report has subleaves). */
export class CpuidModel {
  /** The defined leaves: ranges[leaf >>> 30][leaf & RANGE_OFFSET]. */
  private readonly ranges: CpuidResult[][] = [[], [], [], []];
  private readonly presentsHypervisor: boolean;

  constructor(vendor: CpuidVendor = "wasmvisor", partition: HypervPartition = "child", nested: NestedMode = "off") {
    this.presentsHypervisor = vendor !== "none";
    const leaves = hypervisorLeaves(vendor, partition);
    leaves.set(0, [MAX_BASIC_LEAF, textWord(CPU_VENDOR, 0), textWord(CPU_VENDOR, 8), textWord(CPU_VENDOR, 4)]);
    const leaf1Ecx = (this.presentsHypervisor ? FEATURE_HYPERVISOR : 0) | (nested === "vmx" ? FEATURE_VMX : 0);
    leaves.set(1, [SIGNATURE, 0, leaf1Ecx >>> 0, LEAF1_EDX]);
    leaves.set(EXTENDED_LEAF, [MAX_EXTENDED_LEAF, 0, 0, 0]);
    for (const [leaf, result] of leaves) this.ranges[leaf >>> 30][leaf & RANGE_OFFSET] = result;
  }

  query(leaf: number): CpuidResult {
    const range = this.ranges[leaf >>> 30];
    const offset = leaf & RANGE_OFFSET;
    const known = offset < range.length ? range[offset] : undefined;
    if (known !== undefined) return known;
    // A hypervisor answers zeroes for its own leaves it does not define (as KVM does). Past the
    // maximum, Intel CPUs answer with the highest basic leaf, hypervisor range included.
    const inHypervisorRange = leaf >>> 0 >= HYPERVISOR_LEAF && leaf >>> 0 < HYPERVISOR_RANGE_END;
    return inHypervisorRange && this.presentsHypervisor ? ZEROES : this.ranges[0][MAX_BASIC_LEAF];
  }
}

export function handleCpuid(vm: ExitContext): void {
  const { vmcs } = vm;
  // Indexed rather than destructured: destructuring goes through the iterator protocol, which
  // cost a CPUID exit about 15 ns.
  const result = vm.cpuid.query(vmcs.reg(Reg.EAX));
  vmcs.setReg(Reg.EAX, result[0]);
  vmcs.setReg(Reg.EBX, result[1]);
  vmcs.setReg(Reg.ECX, result[2]);
  vmcs.setReg(Reg.EDX, result[3]);
  vmcs.skipInstruction();
}

export function describeCpuid(vmcs: Vmcs): string {
  return `leaf ${hex8(vmcs.reg(Reg.EAX))} subleaf ${hex8(vmcs.reg(Reg.ECX))}`;
}
