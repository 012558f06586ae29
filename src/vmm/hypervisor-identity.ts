// The hypervisor leaves of CPUID (0x40000000 and up), by which a guest learns which hypervisor it
// runs under: leaf 0x40000000 gives the highest hypervisor leaf in EAX and a 12-byte vendor
// signature in EBX, ECX, EDX; the leaves after it are the vendor's own. wasmvisor can present
// itself, or present KVM, Hyper-V or VMware the way they present themselves, so that detection
// code written for them can be run and watched; `none` presents no hypervisor at all.

import type { CpuidVendor, HypervPartition } from "./vm-config.js";
import { HYPERCALL_ABI_VERSION, HYPERCALL_MAX_FUNCTION } from "./hypercalls.js";

export type CpuidResult = readonly [eax: number, ebx: number, ecx: number, edx: number];

export const HYPERVISOR_LEAF = 0x40000000;

export const SIGNATURES: Readonly<Record<Exclude<CpuidVendor, "none">, string>> = {
  wasmvisor: "wasmvisor\0\0\0",
  kvm: "KVMKVMKVM\0\0\0",
  hyperv: "Microsoft Hv",
  vmware: "VMwareVMware",
};

/** KVM_CPUID_FEATURES EAX bit 1, KVM_FEATURE_NOP_IO_DELAY: port I/O needs no delays (true: ours is instant). */
export const KVM_FEATURE_NOP_IO_DELAY = 1 << 1;

/** "Hv#1": the Hyper-V hypervisor interface signature (TLFS 2.4.2), leaf 0x40000001 EAX. */
export const HYPERV_INTERFACE_SIGNATURE = 0x31237648;
/** Leaf 0x40000003 EBX bit 0: CreatePartitions, the privilege only the root partition holds. */
export const HYPERV_CREATE_PARTITIONS = 1 << 0;
/** Windows 10 / Server 2019, the version a Hyper-V host of that generation reports (leaf 0x40000002). */
const HYPERV_BUILD = 17763;
const HYPERV_VERSION = (10 << 16) | 0;
/** Leaf 0x40000004 EBX: spinlock retries before notifying the hypervisor; all ones = never. */
const HYPERV_NEVER_NOTIFY = 0xffffffff;

/** Four characters of `text` as a register holds them, the first in the low byte. */
export function textWord(text: string, at: number): number {
  return (text.charCodeAt(at) | (text.charCodeAt(at + 1) << 8) | (text.charCodeAt(at + 2) << 16) | (text.charCodeAt(at + 3) << 24)) >>> 0;
}

function signatureLeaf(maxLeaf: number, signature: string): CpuidResult {
  return [maxLeaf, textWord(signature, 0), textWord(signature, 4), textWord(signature, 8)];
}

/** Every hypervisor leaf `vendor` defines, by leaf number; empty for `none`. */
export function hypervisorLeaves(vendor: CpuidVendor, partition: HypervPartition): Map<number, CpuidResult> {
  const leaves = new Map<number, CpuidResult>();
  const define = (...results: CpuidResult[]) => results.forEach((r, i) => leaves.set(HYPERVISOR_LEAF + 1 + i, r));
  switch (vendor) {
    case "none":
      return leaves;
    case "wasmvisor":
      // 0x40000001: the VMCALL interface (README "Hypercalls"): ABI version, highest function.
      define([HYPERCALL_ABI_VERSION, HYPERCALL_MAX_FUNCTION, 0, 0]);
      break;
    case "kvm":
      // KVM_CPUID_FEATURES: only the feature that needs nothing behind it (no paravirtual MSRs).
      define([KVM_FEATURE_NOP_IO_DELAY, 0, 0, 0]);
      break;
    case "hyperv":
      // TLFS chapter 2: interface, system identity, features (privileges), recommendations, and
      // implementation limits (Linux wants the maximum leaf to reach 0x40000005). No synthetic
      // MSRs are offered: the privilege mask's low half is 0.
      define(
        [HYPERV_INTERFACE_SIGNATURE, 0, 0, 0],
        [HYPERV_BUILD, HYPERV_VERSION, 0, 0],
        [0, partition === "root" ? HYPERV_CREATE_PARTITIONS : 0, 0, 0],
        [0, HYPERV_NEVER_NOTIFY, 0, 0],
        [1, 1, 0, 0], // one virtual processor, one logical processor
      );
      break;
    case "vmware":
      break;
  }
  leaves.set(HYPERVISOR_LEAF, signatureLeaf(HYPERVISOR_LEAF + leaves.size, SIGNATURES[vendor]));
  return leaves;
}
