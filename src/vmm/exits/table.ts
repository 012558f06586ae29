// The exit reasons the VMM handles, one descriptor each: the SDM's number (Appendix C), the name
// stats and traces show, the handler (KVM's kvm_vmx_exit_handlers[] entry) and how to decode the
// exit information for people (exit-event.ts). Everything else about reasons is derived from this
// list: the handler table the dispatcher indexes with one array load, and the names. A reason with
// no descriptor ends the run with "unhandled exit", so a new kind of exit from the core is visible
// at once. Adding a reason = its constant in vmcs-layout.ts, its handler module beside this one
// and one descriptor below.

import {
  EXIT_CLI,
  EXIT_CPUID,
  EXIT_CR_ACCESS,
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
  EXIT_SVM_CLGI,
  EXIT_SVM_INVLPGA,
  EXIT_SVM_STGI,
  EXIT_SVM_VMLOAD,
  EXIT_SVM_VMMCALL,
  EXIT_SVM_VMRUN,
  EXIT_SVM_VMSAVE,
  EXIT_TRIPLE_FAULT,
  EXIT_VMCALL,
  EXIT_VMCLEAR,
  EXIT_VMLAUNCH,
  EXIT_VMPTRLD,
  EXIT_VMPTRST,
  EXIT_VMREAD,
  EXIT_VMRESUME,
  EXIT_VMWRITE,
  EXIT_VMXOFF,
  EXIT_VMXON,
  EXIT_WRITE_TRAP,
  EXIT_WRMSR,
} from "../../../assembly/vmcs-layout.js";
import type { Vmcs } from "../../core/vmcs.js";
import { describeCpuid, handleCpuid } from "./cpuid.js";
import { describeCrAccess, handleCrAccess } from "./cr-access.js";
import { describeException, handleException } from "./exception.js";
import type { ExitContext, ExitHandler } from "./exit-context.js";
import { handleExternalInterrupt } from "./external-interrupt.js";
import { handleHlt } from "./hlt.js";
import { describeIfTrap, handleIfTrap } from "./if-trap.js";
import { handleInterruptWindow } from "./interrupt-window.js";
import { describeInvlpg, handleInvlpg } from "./invlpg.js";
import { describeIo, handleIo } from "./io.js";
import { describeMsrAccess, handleRdmsr, handleWrmsr } from "./msr.js";
import { handlePreemptionTimer } from "./preemption-timer.js";
import { handleRdtsc } from "./rdtsc.js";
import { handleTripleFault } from "./triple-fault.js";
import { describeVmcall, handleVmcall } from "./vmcall.js";
import { handleWriteTrap } from "./write-trap.js";
import {
  handleVmclear,
  handleVmlaunch,
  handleVmptrld,
  handleVmptrst,
  handleVmread,
  handleVmresume,
  handleVmwrite,
  handleVmxoff,
  handleVmxon,
} from "../nested/vmx-instructions.js";
import { describeVmreadVmwrite, describeVmxPointer } from "../nested/vmx-describe.js";
import { describeVmcbOperand, handleClgi, handleInvlpga, handleStgi, handleVmload, handleVmmcall, handleVmsave } from "../svm/svm-instructions.js";
import { handleVmrun } from "../svm/svm-run.js";

/** Basic exit reasons are 16 bits; ours (IF-sensitive instructions in trap mode, the SVM instructions) start at 0x100. */
export const EXIT_REASON_LIMIT = 0x200;

export interface ExitReason {
  readonly reason: number;
  /** What statistics, `--trace exits` and an unhandled-exit stop call it. */
  readonly name: string;
  readonly handler: ExitHandler;
  /** The exit information decoded, e.g. "MOV to CR3 from EAX (0x00105000)"; none: nothing to decode. */
  readonly describe?: (vmcs: Vmcs, qualification: number) => string;
}

export const EXIT_REASONS: readonly ExitReason[] = [
  { reason: EXIT_EXCEPTION, name: "exception or NMI", handler: handleException, describe: describeException },
  { reason: EXIT_EXTERNAL_INTERRUPT, name: "external interrupt", handler: handleExternalInterrupt },
  { reason: EXIT_TRIPLE_FAULT, name: "triple fault", handler: handleTripleFault },
  { reason: EXIT_INTERRUPT_WINDOW, name: "interrupt window", handler: handleInterruptWindow },
  { reason: EXIT_CPUID, name: "CPUID", handler: handleCpuid, describe: describeCpuid },
  { reason: EXIT_HLT, name: "HLT", handler: handleHlt },
  { reason: EXIT_INVLPG, name: "INVLPG", handler: handleInvlpg, describe: describeInvlpg },
  { reason: EXIT_RDTSC, name: "RDTSC", handler: handleRdtsc },
  { reason: EXIT_VMCALL, name: "VMCALL", handler: handleVmcall, describe: describeVmcall },
  { reason: EXIT_VMCLEAR, name: "VMCLEAR", handler: handleVmclear, describe: describeVmxPointer },
  { reason: EXIT_VMLAUNCH, name: "VMLAUNCH", handler: handleVmlaunch },
  { reason: EXIT_VMPTRLD, name: "VMPTRLD", handler: handleVmptrld, describe: describeVmxPointer },
  { reason: EXIT_VMPTRST, name: "VMPTRST", handler: handleVmptrst, describe: describeVmxPointer },
  { reason: EXIT_VMREAD, name: "VMREAD", handler: handleVmread, describe: describeVmreadVmwrite },
  { reason: EXIT_VMRESUME, name: "VMRESUME", handler: handleVmresume },
  { reason: EXIT_VMWRITE, name: "VMWRITE", handler: handleVmwrite, describe: describeVmreadVmwrite },
  { reason: EXIT_VMXOFF, name: "VMXOFF", handler: handleVmxoff },
  { reason: EXIT_VMXON, name: "VMXON", handler: handleVmxon, describe: describeVmxPointer },
  { reason: EXIT_CR_ACCESS, name: "control-register access", handler: handleCrAccess, describe: describeCrAccess },
  { reason: EXIT_IO, name: "I/O instruction", handler: handleIo, describe: describeIo },
  { reason: EXIT_RDMSR, name: "RDMSR", handler: handleRdmsr, describe: describeMsrAccess },
  { reason: EXIT_WRMSR, name: "WRMSR", handler: handleWrmsr, describe: describeMsrAccess },
  { reason: EXIT_WRITE_TRAP, name: "write trap", handler: handleWriteTrap },
  { reason: EXIT_PREEMPTION_TIMER, name: "preemption timer", handler: handlePreemptionTimer },
  { reason: EXIT_CLI, name: "CLI (trap)", handler: handleIfTrap, describe: describeIfTrap },
  { reason: EXIT_STI, name: "STI (trap)", handler: handleIfTrap, describe: describeIfTrap },
  { reason: EXIT_PUSHF, name: "PUSHF (trap)", handler: handleIfTrap, describe: describeIfTrap },
  { reason: EXIT_POPF, name: "POPF (trap)", handler: handleIfTrap, describe: describeIfTrap },
  { reason: EXIT_IRET, name: "IRET (trap)", handler: handleIfTrap, describe: describeIfTrap },
  { reason: EXIT_SVM_INVLPGA, name: "INVLPGA", handler: handleInvlpga },
  { reason: EXIT_SVM_VMRUN, name: "VMRUN", handler: handleVmrun, describe: describeVmcbOperand },
  { reason: EXIT_SVM_VMMCALL, name: "VMMCALL", handler: handleVmmcall },
  { reason: EXIT_SVM_VMLOAD, name: "VMLOAD", handler: handleVmload, describe: describeVmcbOperand },
  { reason: EXIT_SVM_VMSAVE, name: "VMSAVE", handler: handleVmsave, describe: describeVmcbOperand },
  { reason: EXIT_SVM_STGI, name: "STGI", handler: handleStgi },
  { reason: EXIT_SVM_CLGI, name: "CLGI", handler: handleClgi },
];

const byReason: ReadonlyArray<ExitReason | undefined> = (() => {
  const table = new Array<ExitReason | undefined>(EXIT_REASON_LIMIT).fill(undefined);
  for (const descriptor of EXIT_REASONS) table[descriptor.reason] = descriptor;
  return table;
})();

/** The descriptor of `reason`, if the VMM handles it. */
export function exitReason(reason: number): ExitReason | undefined {
  return byReason[reason];
}

/** The handlers alone, indexed by reason: what the dispatcher calls, with one array load. */
export const exitHandlers: ReadonlyArray<ExitHandler | undefined> = byReason.map((descriptor) => descriptor?.handler);

/** What the dispatcher calls for a reason without a handler. */
export function handleUnhandledExit(vm: ExitContext, reason: number): void {
  vm.stop({ kind: "unhandled-exit", reason, name: exitReasonName(reason) });
}

/** A reason's number as people read it: decimal, as the SDM numbers its exit reasons; the core's own (from 100h) in hex. */
export function exitReasonCode(reason: number): string {
  return reason >= 0x100 ? `0x${reason.toString(16)}` : String(reason);
}

export function exitReasonName(reason: number): string {
  return byReason[reason]?.name ?? `reason ${reason}`;
}
