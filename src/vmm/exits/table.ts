// The exit-handler table: one entry per basic exit reason, indexed by the SDM's number (Appendix C),
// as KVM's kvm_vmx_exit_handlers[]. The run loop dispatches with one array load; a reason with no
// entry ends the run with "unhandled exit", so a new kind of exit from the core is visible at once.
// Adding a handler = adding its module beside this one and one line below.

import {
  EXIT_CLI,
  EXIT_CPUID,
  EXIT_CR_ACCESS,
  EXIT_EPT_VIOLATION,
  EXIT_EXCEPTION,
  EXIT_EXTERNAL_INTERRUPT,
  EXIT_HLT,
  EXIT_INTERRUPT_WINDOW,
  EXIT_INVLPG,
  EXIT_IO,
  EXIT_IRET,
  EXIT_POPF,
  EXIT_PREEMPTION_TIMER,
  EXIT_PUSHF,
  EXIT_RDMSR,
  EXIT_RDTSC,
  EXIT_STI,
  EXIT_TRIPLE_FAULT,
  EXIT_VMCALL,
  EXIT_WRMSR,
} from "../../../assembly/vmcs-layout.js";
import { handleCpuid } from "./cpuid.js";
import { handleCrAccess } from "./cr-access.js";
import { handleEptViolation } from "./ept-violation.js";
import { handleException } from "./exception.js";
import type { ExitContext, ExitHandler } from "./exit-context.js";
import { handleExternalInterrupt } from "./external-interrupt.js";
import { handleHlt } from "./hlt.js";
import { handleIfTrap } from "./if-trap.js";
import { handleInterruptWindow } from "./interrupt-window.js";
import { handleInvlpg } from "./invlpg.js";
import { handleIo } from "./io.js";
import { handleRdmsr, handleWrmsr } from "./msr.js";
import { handlePreemptionTimer } from "./preemption-timer.js";
import { handleRdtsc } from "./rdtsc.js";
import { handleTripleFault } from "./triple-fault.js";
import { handleVmcall } from "./vmcall.js";

/** Basic exit reasons are 16 bits; ours (IF-sensitive instructions in trap mode) start at 0x100. */
export const EXIT_REASON_LIMIT = 0x200;

const HANDLERS: ReadonlyArray<[reason: number, handler: ExitHandler]> = [
  [EXIT_EXCEPTION, handleException],
  [EXIT_EXTERNAL_INTERRUPT, handleExternalInterrupt],
  [EXIT_TRIPLE_FAULT, handleTripleFault],
  [EXIT_INTERRUPT_WINDOW, handleInterruptWindow],
  [EXIT_CPUID, handleCpuid],
  [EXIT_HLT, handleHlt],
  [EXIT_INVLPG, handleInvlpg],
  [EXIT_RDTSC, handleRdtsc],
  [EXIT_VMCALL, handleVmcall],
  [EXIT_CR_ACCESS, handleCrAccess],
  [EXIT_IO, handleIo],
  [EXIT_RDMSR, handleRdmsr],
  [EXIT_WRMSR, handleWrmsr],
  [EXIT_EPT_VIOLATION, handleEptViolation],
  [EXIT_PREEMPTION_TIMER, handlePreemptionTimer],
  [EXIT_CLI, handleIfTrap],
  [EXIT_STI, handleIfTrap],
  [EXIT_PUSHF, handleIfTrap],
  [EXIT_POPF, handleIfTrap],
  [EXIT_IRET, handleIfTrap],
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
  [EXIT_EPT_VIOLATION]: "EPT violation (write trap)",
  [EXIT_PREEMPTION_TIMER]: "preemption timer",
  [EXIT_CLI]: "CLI (trap)",
  [EXIT_STI]: "STI (trap)",
  [EXIT_PUSHF]: "PUSHF (trap)",
  [EXIT_POPF]: "POPF (trap)",
  [EXIT_IRET]: "IRET (trap)",
};

export function exitReasonName(reason: number): string {
  return NAMES[reason] ?? (reason >= 19 && reason <= 27 ? "VMX instruction" : `reason ${reason}`);
}
