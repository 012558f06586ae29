// Exit reason 10, CPUID (KVM's handle_cpuid): CPUID always exits under VT-x, so the VMM decides
// what CPU the guest sees. Ours is an integer-only P6-class IA-32 CPU (`--cpu intel`, below) or an
// AMD family 10h one with SVM (`--cpu amd`, svm/amd-cpuid.ts), with the same features: no x87, MMX or SSE, because
// the core implements none of them, and a guest that checks CPUID must not try to use them. Leaf 1
// ECX bit 5 is VMX under `--nested vmx`; bit 31 and leaves 0x40000000+ announce the hypervisor
// (hypervisor-identity.ts), unless the VM is configured to look like bare metal. Every answer is
// computed when the VM is created, as a short list of ranges of leaves; the core answers from the
// same list itself while nobody watches exits one by one (exits-in-core.ts), and this handler
// answers the others.

import { Reg, type Vmcs } from "../../core/vmcs.js";
import { hex8 } from "../../loader/load-error.js";
import { HYPERVISOR_LEAF, hypervisorLeaves, textWord, type CpuidResult } from "../hypervisor-identity.js";
import { FEATURE_VMX } from "../nested/vmx-capabilities.js";
import { amdProcessorLeaves } from "../svm/amd-cpuid.js";
import type { CpuKind, CpuidVendor, HypervPartition, NestedMode } from "../vm-config.js";
import type { ExitContext } from "./exit-context.js";

export type { CpuidResult };

export const CPU_VENDOR = "GenuineIntel";

const MAX_BASIC_LEAF = 1;
const EXTENDED_LEAF = 0x80000000;
const MAX_EXTENDED_LEAF = 0x80000000;
/** Past the hypervisor range, leaves are basic or extended again. */
const HYPERVISOR_RANGE_END = 0x50000000;

/**
 * Family 6, model 3, stepping 3 (Pentium II): the first CPU whose SEP bit means SYSENTER/SYSEXIT
 * work. The Pentium Pro (model 1) sets SEP without them, so software ignores SEP on family 6 below
 * model 3 stepping 3 (SDM Vol. 2A, CPUID, and Linux's arch/x86/kernel/cpu/intel.c).
 */
const SIGNATURE = (6 << 8) | (3 << 4) | 3;

// Leaf 1 EDX feature bits. Absent on purpose: FPU (0), VME (1), DE (2), PAE (6), MCE (7), APIC
// (9), MTRR (12), MCA (14), PAT (16), MMX (23), FXSR (24), SSE (25), SSE2 (26).
export const FEATURE_PSE = 1 << 3;
export const FEATURE_TSC = 1 << 4;
export const FEATURE_MSR = 1 << 5;
export const FEATURE_CX8 = 1 << 8;
export const FEATURE_SEP = 1 << 11; // SYSENTER/SYSEXIT (assembly/cpu/sysenter.ts)
export const FEATURE_PGE = 1 << 13;
export const FEATURE_CMOV = 1 << 15;
const LEAF1_EDX = FEATURE_PSE | FEATURE_TSC | FEATURE_MSR | FEATURE_CX8 | FEATURE_SEP | FEATURE_PGE | FEATURE_CMOV;
/** Leaf 1 ECX bit 31: running under a hypervisor (reserved as 0 on real CPUs). */
export const FEATURE_HYPERVISOR = 1 << 31;

const ZEROES: CpuidResult = [0, 0, 0, 0];
const LAST_LEAF = 0xffffffff;

/** Leaves first..last (inclusive, unsigned) answer `result`. */
export interface CpuidRange {
  readonly first: number;
  readonly last: number;
  readonly result: CpuidResult;
}

/**
 * The CPU a VM presents, as the answers to CPUID (no leaf we report has subleaves): ranges of
 * leaves, the first that holds a leaf answers it. The core answers from the same list when it
 * completes CPUID exits itself (exits-in-core.ts), so there is one definition of the answers.
 */
export class CpuidModel {
  readonly ranges: readonly CpuidRange[];

  constructor(vendor: CpuidVendor = "wasmvisor", partition: HypervPartition = "child", nested: NestedMode = "off", cpu: CpuKind = "intel") {
    const presentsHypervisor = vendor !== "none";
    const leaves = hypervisorLeaves(vendor, partition);
    const leaf1Ecx = (presentsHypervisor ? FEATURE_HYPERVISOR : 0) | (nested === "vmx" ? FEATURE_VMX : 0);
    const highestBasic: CpuidResult = [SIGNATURE, 0, leaf1Ecx >>> 0, LEAF1_EDX];
    if (cpu === "amd") {
      for (const [leaf, result] of amdProcessorLeaves(leaf1Ecx, LEAF1_EDX)) leaves.set(leaf, result);
    } else {
      leaves.set(0, [MAX_BASIC_LEAF, textWord(CPU_VENDOR, 0), textWord(CPU_VENDOR, 8), textWord(CPU_VENDOR, 4)]);
      leaves.set(MAX_BASIC_LEAF, highestBasic);
      leaves.set(EXTENDED_LEAF, [MAX_EXTENDED_LEAF, 0, 0, 0]);
    }
    this.ranges = [
      ...[...leaves].map(([leaf, result]) => ({ first: leaf, last: leaf, result })),
      // A hypervisor answers zeroes for its own leaves it does not define (as KVM does). Past the
      // maximum, Intel CPUs answer with the highest basic leaf, hypervisor range included; AMD
      // CPUs answer zeroes for any leaf they do not define (amd-cpuid.ts).
      ...(presentsHypervisor ? [{ first: HYPERVISOR_LEAF, last: HYPERVISOR_RANGE_END - 1, result: ZEROES }] : []),
      { first: 0, last: LAST_LEAF, result: cpu === "amd" ? ZEROES : highestBasic },
    ];
  }

  query(leaf: number): CpuidResult {
    const unsigned = leaf >>> 0;
    const { ranges } = this;
    for (let i = 0; i < ranges.length; i++) {
      if (unsigned >= ranges[i].first && unsigned <= ranges[i].last) return ranges[i].result;
    }
    throw new Error("unreachable: the last range holds every leaf");
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
