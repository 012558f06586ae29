// A tiny guest hypervisor for the SVM tests: the prologue of the VMX tests' guest (stack, tables,
// paging, a record per outcome: ../nested/vmx-guest.ts) without VMX, EFER.SVME set and a host save
// area, then a VMCB whose guest (L2) is a flat 32-bit ring-0 kernel on L1's own tables, and a loop
// that records each #VMEXIT (EXITCODE's low word, then what the test asks for) and runs L2 again
// at nRIP (after an exception exit: at the address in L2's ESI), until L2's VMMCALL (81h), a code
// the test names, or VMEXIT_INVALID ends it. L2 shares L1's general registers but EAX and ESP, so
// it keeps EDI (the record pointer) and EBP (the recorder's scratch) untouched.

import * as B from "../../../src/vmm/svm/vmcb.js";
import type { VirtualMachine, VirtualMachineOptions } from "../../../src/vmm/virtual-machine.js";
import { record, REGION_A, REGION_B, runVmxGuest, type VmxRun } from "../nested/vmx-guest.js";

export const VMCB = REGION_A;
export const HSAVE = REGION_B;
export const IOPM = 0x30000;
export const MSRPM = 0x34000;
export const L2_STACK = 0x70000;
export const SVM_OPTIONS: VirtualMachineOptions = { cpu: "amd", nested: "svm" };

/** A 32-bit word of the VMCB set to an immediate or a label. */
export const set = (offset: number, value: number | string, base = VMCB) => `movl $${typeof value === "number" ? value >>> 0 : value}, ${base + offset}`;
/** ORs bits into a word of the VMCB. */
export const or = (offset: number, bits: number) => `orl $${bits >>> 0}, ${VMCB + offset}`;
/** A word of the VMCB, recorded. */
export const field = (offset: number) => `mov ${VMCB + offset}, %ebx\n${record("%ebx")}`;
/** Sets bit `bit` of a permission map. */
export const mapBit = (base: number, bit: number) => `orb $${1 << (bit & 7)}, ${base + (bit >>> 3)}`;

const segment = (offset: number, selector: number, attributes: number, limit = 0xffffffff, base = 0) =>
  [set(offset + B.SEGMENT_SELECTOR, selector | (attributes << 16)), set(offset + B.SEGMENT_LIMIT, limit), set(offset + B.SEGMENT_BASE, base)].join("\n");

/** SVME, the host save area, and a VMCB for a flat ring-0 L2 at label `l2` with the VMRUN and VMMCALL intercepts. */
function vmcbSetup(): string {
  return [
    "mov $0xc0000080, %ecx\nrdmsr\nor $0x1000, %eax\nwrmsr",
    `mov $0xc0010117, %ecx\nmov $${HSAVE}, %eax\nxor %edx, %edx\nwrmsr`,
    set(B.CR_INTERCEPTS, 0), // the prologue left a VMCS revision ID there
    set(B.INTERCEPTS_2, B.INTERCEPT_VMRUN | B.INTERCEPT_VMMCALL), set(B.GUEST_ASID, 1),
    set(B.IOPM_BASE, IOPM), set(B.MSRPM_BASE, MSRPM),
    segment(B.SAVE_ES, 0x10, 0xc93), segment(B.SAVE_ES + 0x10, 8, 0xc9b), segment(B.SAVE_ES + 0x20, 0x10, 0xc93), segment(B.SAVE_ES + 0x30, 0x10, 0xc93),
    set(B.SAVE_GDTR + B.SEGMENT_LIMIT, 0x17), set(B.SAVE_GDTR + B.SEGMENT_BASE, 0x2000),
    set(B.SAVE_IDTR + B.SEGMENT_LIMIT, 0x7ff), set(B.SAVE_IDTR + B.SEGMENT_BASE, 0x3000),
    set(B.SAVE_EFER, 0x1000),
    `mov %cr0, %ecx\nmov %ecx, ${VMCB + B.SAVE_CR0}`, `mov %cr3, %ecx\nmov %ecx, ${VMCB + B.SAVE_CR3}`, `mov %cr4, %ecx\nmov %ecx, ${VMCB + B.SAVE_CR4}`,
    set(B.SAVE_DR7, 0x400), set(B.SAVE_RFLAGS, 2), set(B.SAVE_RIP, "l2"), set(B.SAVE_RSP, L2_STACK),
  ].join("\n");
}

const VMMCALL = 0x81;

export interface SvmScenario {
  /** Steps after the standard VMCB setup (an intercept, a map bit...). */
  setup?: string[];
  /** L2's code; a VMMCALL is appended (the end). */
  l2: string[];
  /** Code placed after L2's (handlers L2's IDT points at, a real-mode program...). */
  extra?: string[];
  /** What the loop records after EXITCODE. */
  onExit?: string[];
  /** Exit codes that end the run like VMMCALL does. */
  endOn?: number[];
  /** L1's steps after the run. */
  after?: string[];
  options?: VirtualMachineOptions;
  setupVm?: (vm: VirtualMachine) => void;
}

/** Runs L1 and its L2; records per #VMEXIT its code and `onExit`'s records. */
export function runSvmL2(scenario: SvmScenario): Promise<VmxRun> {
  const body = [
    vmcbSetup(), ...(scenario.setup ?? []),
    `1: mov $${VMCB}, %eax\nvmrun`,
    field(B.EXITCODE), ...(scenario.onExit ?? []),
    `mov ${VMCB + B.EXITCODE}, %ebx\ncmp $0xffffffff, %ebx\nje done`,
    ...[VMMCALL, ...(scenario.endOn ?? [])].map((code) => `cmp $${code}, %ebx\nje done`),
    // After an exception exit L2 goes on at its ESI; else at nRIP.
    `cmp $0x40, %ebx\njb 2f\ncmp $0x5f, %ebx\nja 2f\nmov %esi, ${VMCB + B.SAVE_RIP}\njmp 1b`,
    `2: mov ${VMCB + B.NRIP}, %ecx\nmov %ecx, ${VMCB + B.SAVE_RIP}\njmp 1b`,
    "l2:", ...scenario.l2, "vmmcall",
    ...(scenario.extra ?? []),
    "done:", ...(scenario.after ?? []),
  ];
  return runVmxGuest(body, scenario.options ?? SVM_OPTIONS, false, scenario.setupVm);
}
