// The exit-handler table: one entry per basic exit reason, indexed by the SDM's number (Appendix C),
// as KVM's kvm_vmx_exit_handlers[]. The run loop dispatches with one array load; a reason with no
// entry ends the run with "unhandled exit", so a new kind of exit from the core is visible at once.
// Adding a handler = adding its module beside this one and one line below.

import {
  EXIT_CPUID,
  EXIT_CR_ACCESS,
  EXIT_EXCEPTION,
  EXIT_EXTERNAL_INTERRUPT,
  EXIT_HLT,
  EXIT_INTERRUPT_WINDOW,
  EXIT_INVLPG,
  EXIT_IO,
  EXIT_PREEMPTION_TIMER,
  EXIT_RDMSR,
  EXIT_RDTSC,
  EXIT_TRIPLE_FAULT,
  EXIT_VMCALL,
  EXIT_WRMSR,
} from "../../../assembly/vmcs-layout.js";
import { handleCpuid } from "./cpuid.js";
import { handleException } from "./exception.js";
import type { ExitContext, ExitHandler } from "./exit-context.js";
import { handleHlt } from "./hlt.js";
import { handleIo } from "./io.js";
import { handleRdmsr, handleWrmsr } from "./msr.js";
import { handlePreemptionTimer } from "./preemption-timer.js";
import { handleTripleFault } from "./triple-fault.js";

/** Basic exit reasons are 16 bits; ours (IF-sensitive instructions in trap mode) start at 0x100. */
export const EXIT_REASON_LIMIT = 0x200;

const HANDLERS: ReadonlyArray<[reason: number, handler: ExitHandler]> = [
  [EXIT_EXCEPTION, handleException],
  [EXIT_TRIPLE_FAULT, handleTripleFault],
  [EXIT_CPUID, handleCpuid],
  [EXIT_HLT, handleHlt],
  [EXIT_IO, handleIo],
  [EXIT_RDMSR, handleRdmsr],
  [EXIT_WRMSR, handleWrmsr],
  [EXIT_PREEMPTION_TIMER, handlePreemptionTimer],
];

export const exitHandlers: ReadonlyArray<ExitHandler | undefined> = (() => {
  const table = new Array<ExitHandler | undefined>(EXIT_REASON_LIMIT).fill(undefined);
  for (const [reason, handler] of HANDLERS) table[reason] = handler;
  return table;
})();

/** What the run loop calls for a reason without a handler. */
export function handleUnhandledExit(vm: ExitContext, reason: number): void {
  vm.stop({ kind: "unhandled-exit", reason, name: exitReasonName(reason) });
}

const NAMES: Record<number, string> = {
  [EXIT_EXCEPTION]: "exception or NMI",
  [EXIT_EXTERNAL_INTERRUPT]: "external interrupt",
  [EXIT_TRIPLE_FAULT]: "triple fault",
  [EXIT_INTERRUPT_WINDOW]: "interrupt window",
  [EXIT_CPUID]: "CPUID",
  [EXIT_HLT]: "HLT",
  [EXIT_INVLPG]: "INVLPG",
  [EXIT_RDTSC]: "RDTSC",
  [EXIT_VMCALL]: "VMCALL",
  [EXIT_CR_ACCESS]: "control-register access",
  [EXIT_IO]: "I/O instruction",
  [EXIT_RDMSR]: "RDMSR",
  [EXIT_WRMSR]: "WRMSR",
  [EXIT_PREEMPTION_TIMER]: "preemption timer",
};

export function exitReasonName(reason: number): string {
  return NAMES[reason] ?? (reason >= 19 && reason <= 27 ? "VMX instruction" : `reason ${reason}`);
}
