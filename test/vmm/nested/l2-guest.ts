// A tiny guest hypervisor (L1) that runs a tiny guest of its own (L2), for the tests of VM entry
// and L2 exits on the real core: the prologue of vmx-guest.ts, a VMCS whose guest is a flat
// 32-bit ring-0 kernel on L1's own tables and paging, and an exit handler that records each exit
// (reason, then whatever the test asks for) and resumes L2 after the exiting instruction (after
// an exception exit: at the address in L2's ESI), until L2's VMCALL ends it. L2 shares L1's general registers, so it keeps EDI (the record pointer) and
// EBP (the recorder's scratch) untouched.

import { VMCS_FIELD as F } from "../../../src/vmm/nested/vmcs12-fields.js";
import type { VirtualMachine, VirtualMachineOptions } from "../../../src/vmm/virtual-machine.js";
import { operand, pointer, record, REGION_A, REGION_B, runVmxGuest, type VmxRun } from "./vmx-guest.js";

/** Default1 bits of each control (vmx-capabilities.ts), as an L1 without TRUE_* MSRs must set them. */
export const PIN_DEFAULT1 = 0x16;
export const PRIMARY_DEFAULT1 = 0x0401e172;
export const EXIT_DEFAULT1 = 0x36dff;
export const ENTRY_DEFAULT1 = 0x11ff;
export const HLT_EXITING = 1 << 7;
export const UNCONDITIONAL_IO = 1 << 24;
export const USE_IO_BITMAPS = 1 << 25;
export const USE_MSR_BITMAPS = 1 << 28;
export const L2_STACK = 0x70000;
/** Where the exit handler keeps L2's EAX before it uses the register (onExit may record it from there). */
export const L2_EAX = 0x4fe0;
const HOST_STACK = 0x80000;

/** VMWRITE of an immediate (no flags recorded: the setup must simply work). */
export const write = (encoding: number, value: number | string) => `mov $${encoding}, %eax\nmov $${typeof value === "number" ? value >>> 0 : value}, %ebx\nvmwrite %ebx, %eax`;
/** VMREAD of `encoding`, recorded. */
export const read = (encoding: number) => `mov $${encoding}, %eax\nvmread %eax, %ebx\n${record("%ebx")}`;

/** The guest state of a flat ring-0 L2 at label `l2`, and L1's host state resuming at label `exit`. */
function vmcsSetup(): string {
  const segment = (index: number, selector: number, ar: number, limit = 0xffffffff) =>
    [write(F.GUEST_ES_SELECTOR + 2 * index, selector), write(F.GUEST_ES_BASE + 2 * index, 0), write(F.GUEST_ES_LIMIT + 2 * index, limit), write(F.GUEST_ES_ACCESS_RIGHTS + 2 * index, ar)].join("\n");
  return [
    write(F.PIN_CONTROLS, PIN_DEFAULT1), write(F.EXIT_CONTROLS, EXIT_DEFAULT1), write(F.ENTRY_CONTROLS, ENTRY_DEFAULT1),
    write(F.PRIMARY_CONTROLS, PRIMARY_DEFAULT1 | HLT_EXITING | UNCONDITIONAL_IO),
    "mov %cr0, %ecx", `mov $${F.HOST_CR0}, %eax\nvmwrite %ecx, %eax`, `mov $${F.GUEST_CR0}, %eax\nvmwrite %ecx, %eax`,
    "mov %cr4, %ecx", `mov $${F.HOST_CR4}, %eax\nvmwrite %ecx, %eax`, `mov $${F.GUEST_CR4}, %eax\nvmwrite %ecx, %eax`,
    write(F.HOST_CR3, 0x10000), write(F.GUEST_CR3, 0x10000),
    write(F.HOST_CS_SELECTOR, 8), ...[F.HOST_SS_SELECTOR, F.HOST_DS_SELECTOR, F.HOST_ES_SELECTOR].map((f) => write(f, 0x10)), write(F.HOST_TR_SELECTOR, 0x18),
    write(F.HOST_GDTR_BASE, 0x2000), write(F.HOST_IDTR_BASE, 0x3000), write(F.HOST_RSP, HOST_STACK), write(F.HOST_RIP, "l1exit"),
    segment(0, 0x10, 0xc093), segment(1, 8, 0xc09b), segment(2, 0x10, 0xc093), segment(3, 0x10, 0xc093),
    segment(4, 0, 0x10000, 0), segment(5, 0, 0x10000, 0), segment(6, 0, 0x10000, 0), segment(7, 0x18, 0x8b, 0x67),
    write(F.GUEST_GDTR_BASE, 0x2000), write(F.GUEST_GDTR_LIMIT, 0x17), write(F.GUEST_IDTR_BASE, 0x3000), write(F.GUEST_IDTR_LIMIT, 0x7ff),
    write(F.GUEST_DR7, 0x400), write(F.GUEST_RSP, L2_STACK), write(F.GUEST_RIP, "l2"), write(F.GUEST_RFLAGS, 2),
    write(F.VMCS_LINK_POINTER, 0xffffffff), write(F.VMCS_LINK_POINTER + 1, 0xffffffff),
  ].join("\n");
}

/** The reasons after which the exit handler ends the run instead of resuming L2 (and entry failures, bit 31). */
const VMCALL = 18;

export interface L2Scenario {
  /** VMWRITEs after the standard setup (a control, a bitmap address...). */
  setup?: string[];
  /** L2's code; a VMCALL is appended (the end). */
  l2: string[];
  /** What the exit handler records after the exit reason (e.g. read(F.EXIT_QUALIFICATION)). */
  onExit?: string[];
  /** Exit reasons that end the run like L2's VMCALL does. */
  endOn?: number[];
  /** L1's steps after the run (VMLAUNCH failed, an entry failure, or the end). */
  after?: string[];
  options?: VirtualMachineOptions;
  /** Programs the VM before it runs (an interrupt scheduled, say). */
  setupVm?: (vm: VirtualMachine) => void;
}

/**
 * Runs L1 and its L2. Records: VMLAUNCH's flags if it failed (the arithmetic flags; none
 * recorded when it entered L2), then per exit its reason and `onExit`'s records; the VMCALL's
 * exit ends the run, recorded too. An entry-failure exit (bit 31) also ends it.
 */
export function runL2(scenario: L2Scenario): Promise<VmxRun> {
  const body = [
    pointer(0, REGION_A), pointer(1, REGION_B),
    `vmxon ${operand(0)}`, `vmclear ${operand(1)}`, `vmptrld ${operand(1)}`,
    vmcsSetup(), ...(scenario.setup ?? []),
    "vmlaunch",
    "pushf\npop %ebp\nand $0x8d5, %ebp\nor $0x10000, %ebp", record("%ebp"), "jmp done",
    "l1exit:", `mov %eax, ${L2_EAX}`,
    `mov $${F.EXIT_REASON}, %eax\nvmread %eax, %ebx`, record("%ebx"),
    ...(scenario.onExit ?? []),
    `mov $${F.EXIT_REASON}, %eax\nvmread %eax, %ebx\ntest %ebx, %ebx\njs done`,
    ...[VMCALL, ...(scenario.endOn ?? [])].map((reason) => `cmp $${reason}, %ebx\nje done`),
    // After an exception exit L2 goes on at ESI (its own register, L1's now); else after the instruction.
    `test %ebx, %ebx\njnz 1f\nmov $${F.GUEST_RIP}, %eax\nvmwrite %esi, %eax\njmp 2f\n1:`,
    `mov $${F.GUEST_RIP}, %eax\nvmread %eax, %ecx\nmov $${F.EXIT_INSTRUCTION_LENGTH}, %eax\nvmread %eax, %edx\nadd %edx, %ecx\nmov $${F.GUEST_RIP}, %eax\nvmwrite %ecx, %eax`,
    "2:\nvmresume",
    "pushf\npop %ebp\nand $0x8d5, %ebp\nor $0x20000, %ebp", record("%ebp"), "jmp done",
    "l2:", ...scenario.l2, "vmcall",
    "done:", ...(scenario.after ?? []),
  ];
  return runVmxGuest(body, scenario.options ?? { nested: "vmx" }, true, scenario.setupVm);
}
