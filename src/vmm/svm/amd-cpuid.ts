// The processor's CPUID leaves under `--cpu amd` (cpuid.ts builds the model; the hypervisor leaves
// are the same for both vendors): AuthenticAMD, family 10h model 4 stepping 2, the signature of a
// 45 nm Phenom II ("Deneb", 2009), the first AMD generation whose SVM saves the next RIP (NRIPS).
// The features are the integer-only set the Intel personality has (leaf 1 EDX, passed in), since the
// core implements no x87, MMX or SSE on either, plus AMD's extended leaves:
//  - 0x80000000: the highest extended leaf and, as AMD CPUs repeat it, the vendor;
//  - 0x80000001: the signature again, ECX.SVM (bit 2), and EDX with the leaf-1 bits AMD copies there
//    (bit 11 is SYSCALL on AMD, which this CPU lacks, not SEP);
//  - 0x80000002-0x80000004: a brand string that says what the processor is;
//  - 0x80000008: 32-bit physical and linear addresses (no PAE, no long mode);
//  - 0x8000000A: SVM revision 1, 64 ASIDs (a Phenom II's count), and of the SVM features only NRIPS
//    (no nested paging, LBR virtualization or SVM lock: the MMU has no second translation stage).
// AMD answers every leaf it does not define with zeros, in range or not (Intel answers a leaf past
// the maximum with the highest basic leaf): KVM's get_out_of_range_cpuid_entry() says the same.

import { textWord, type CpuidResult } from "../hypervisor-identity.js";

export const AMD_VENDOR = "AuthenticAMD";

/** Extended family 1 (family 0Fh + 1 = 10h), base family 0Fh, model 4, stepping 2. */
export const AMD_SIGNATURE = (1 << 20) | (0xf << 8) | (4 << 4) | 2;

export const AMD_MAX_BASIC_LEAF = 1;
export const AMD_MAX_EXTENDED_LEAF = 0x8000000a;
export const SVM_LEAF = 0x8000000a;

/** CPUID 0x80000001 ECX bit 2: Secure Virtual Machine. */
export const FEATURE_SVM = 1 << 2;
/** The leaf-1 EDX bits AMD repeats in 0x80000001 EDX (APM Vol. 3, E.4.2): 0-9, 12-17, 23, 24. */
const EXTENDED_EDX_COPIES = 0x0183f3ff;

/** SVM revision (0x8000000A EAX). */
export const SVM_REVISION = 1;
/** Address space identifiers (0x8000000A EBX), as a Phenom II reports. */
export const SVM_ASIDS = 64;
/** 0x8000000A EDX bit 3: NRIP save, the next sequential RIP written to the VMCB on #VMEXIT. */
export const SVM_FEATURE_NRIPS = 1 << 3;

const BRAND = "AMD family 10h virtual processor (wasmvisor)";
/** 0x80000008 EAX: physical address bits 7:0, linear address bits 15:8. */
const ADDRESS_SIZES = (32 << 8) | 32;

function vendorRegisters(eax: number): CpuidResult {
  return [eax, textWord(AMD_VENDOR, 0), textWord(AMD_VENDOR, 8), textWord(AMD_VENDOR, 4)];
}

/** The brand string's 16 bytes starting at `at`, as leaves 0x80000002-4 return them (NUL-padded). */
function brandLeaf(at: number): CpuidResult {
  const text = BRAND.padEnd(48, "\0");
  return [textWord(text, at), textWord(text, at + 4), textWord(text, at + 8), textWord(text, at + 12)];
}

/** The processor's leaves by number; `leaf1` is leaf 1's ECX (hypervisor bit) and EDX (features). */
export function amdProcessorLeaves(leaf1Ecx: number, leaf1Edx: number): Map<number, CpuidResult> {
  return new Map<number, CpuidResult>([
    [0, vendorRegisters(AMD_MAX_BASIC_LEAF)],
    [1, [AMD_SIGNATURE, 0, leaf1Ecx >>> 0, leaf1Edx]],
    [0x80000000, vendorRegisters(AMD_MAX_EXTENDED_LEAF)],
    [0x80000001, [AMD_SIGNATURE, 0, FEATURE_SVM, (leaf1Edx & EXTENDED_EDX_COPIES) >>> 0]],
    [0x80000002, brandLeaf(0)],
    [0x80000003, brandLeaf(16)],
    [0x80000004, brandLeaf(32)],
    [0x80000008, [ADDRESS_SIZES, 0, 0, 0]],
    [SVM_LEAF, [SVM_REVISION, SVM_ASIDS, 0, SVM_FEATURE_NRIPS]],
  ]);
}
