// Tiny guest hypervisors for the nested-VMX tests: a Multiboot kernel that turns on what VMXON
// needs (paging through one 4 MiB identity page, CR0.NE, CR4.VMXE), gets an IDT whose #UD, #SS,
// #GP and #PF handlers record the vector, and runs steps. After each step the guest records
// EFLAGS (or the exception), so a test reads one outcome per step from RAM.

import { runTiny, withTables, EXIT_OK, type TinyRun } from "../../support/tiny-guest.js";
import type { VirtualMachine, VirtualMachineOptions } from "../../../src/vmm/virtual-machine.js";

export const RESULTS = 0x5000;
/** Where steps keep their memory operands (64-bit pointers). */
export const OPERANDS = 0x6000;
/** Page-aligned regions for VMXON and VMCSs. */
export const REGION_A = 0x20000;
export const REGION_B = 0x21000;
export const REGION_C = 0x22000;
export const REVISION = 0x574d5658;
/** Where a fault handler goes on: the step (or the test's own code) sets it before the instruction. */
export const RESUME = 0x4ff0;
/** Where the guest leaves the end of its records (its %edi) before it exits. */
const RESULTS_END = 0x4ff4;
const FAULT_MARK = 0xee00;

/** A recorded exception: FAULT_MARK | vector. */
export const fault = (vector: number) => FAULT_MARK | vector;
export const UD = fault(6);
export const SS = fault(12);
export const GP = fault(13);
export const PF = fault(14);
/** Recorded EFLAGS, arithmetic flags only: VMsucceed, VMfailInvalid (CF), VMfailValid (ZF). */
export const SUCCEED = 0;
export const FAIL_INVALID = 1;
export const FAIL_VALID = 0x40;
const ARITHMETIC = 0x8d5;

const handler = (vector: number, errorCode: boolean) =>
  `h${vector}:\n${errorCode ? "add $4, %esp\n" : ""}movl $${fault(vector)}, (%edi)\nadd $4, %edi\nmov ${RESUME}, %ebp\nmov %ebp, (%esp)\niret`;

/** The setup every VMX guest runs first: a stack, tables, paging with PSE, CR0.NE and CR4.VMXE (unless `vmxe` is false). */
export function prologue(vmxe = true): string {
  return [
    "mov $0x90000, %esp",
    withTables({ 6: "h6", 12: "h12", 13: "h13", 14: "h14" }),
    `mov $${RESULTS}, %edi`,
    "movl $0x00000083, 0x10000", // 4 MiB identity page
    "mov $0x10000, %eax\nmov %eax, %cr3",
    `mov %cr4, %eax\nor $${vmxe ? 0x2010 : 0x10}, %eax\nmov %eax, %cr4`,
    "mov %cr0, %eax\nor $0x80000020, %eax\nmov %eax, %cr0",
    `movl $${REVISION}, ${REGION_A}\nmovl $${REVISION}, ${REGION_B}\nmovl $${REVISION}, ${REGION_C}`,
  ].join("\n");
}

/**
 * One step: the arithmetic flags cleared, `code`, then the outcome (the arithmetic flags, or the
 * exception) recorded. Only EBP, EDI and the flags are the recorder's; steps keep every other register.
 */
export function step(code: string): string {
  const label = `s${stepCount++}`;
  return `movl $${label}, ${RESUME}\npush $2\npopf\n${code}\npushf\npop %ebp\nand $${ARITHMETIC}, %ebp\nmov %ebp, (%edi)\nadd $4, %edi\n${label}:`;
}
let stepCount = 0;

/** Records a register's value (after a step: the VM-instruction error field read with VMREAD, say). */
export function record(register: string): string {
  return `mov ${register}, (%edi)\nadd $4, %edi`;
}

/** The VM-instruction error field, recorded. */
export const recordError = `mov $0x4400, %ebp\nvmread %ebp, %ebp\n${record("%ebp")}`;

/** A 64-bit pointer stored at OPERANDS + 8 * slot (high half `high`). */
export function pointer(slot: number, low: number, high = 0): string {
  return `movl $${low >>> 0}, ${OPERANDS + 8 * slot}\nmovl $${high >>> 0}, ${OPERANDS + 8 * slot + 4}`;
}
export const operand = (slot: number) => `${OPERANDS + 8 * slot}`;

export interface VmxRun extends TinyRun {
  /** What the guest recorded, in order. */
  results: number[];
}

/** Runs the prologue, then `body`, then ends the guest; returns its records. */
export async function runVmxGuest(body: string[], options: VirtualMachineOptions = { nested: "vmx" }, vmxe = true, setup?: (vm: VirtualMachine) => void): Promise<VmxRun> {
  const source = [prologue(vmxe), ...body, `mov %edi, ${RESULTS_END}`, EXIT_OK, handler(6, false), handler(12, true), handler(13, true), handler(14, true)].join("\n");
  const run = await runTiny(source, options, setup);
  const view = new DataView(run.vm.ram.buffer, run.vm.ram.byteOffset);
  const results: number[] = [];
  for (let at = RESULTS; at < view.getUint32(RESULTS_END, true); at += 4) results.push(view.getUint32(at, true));
  return { ...run, results };
}
