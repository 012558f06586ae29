// A VM exit as subscribers see it (VirtualMachine.onExit, `--trace exits`): the reason and its
// name, the raw qualification, where the guest was, and the exit information decoded for people
// after the SDM's layouts, by the reason's descriptor (exits/table.ts). Built only when someone
// subscribes, before the handler runs, so it shows the guest as the exit left it.

import { G_EIP, X_QUALIFICATION } from "../../assembly/vmcs-layout.js";
import type { Vmcs } from "../core/vmcs.js";
import { hex8 } from "../loader/load-error.js";
import { exitReason, exitReasonName } from "./exits/table.js";

export interface ExitEvent {
  reason: number;
  name: string;
  qualification: number;
  /** Guest EIP at the exit: the instruction that exited, or the next one for traps. */
  eip: number;
  /** Guest instructions retired before this exit. */
  instructions: number;
  /** The exit information decoded, e.g. "MOV to CR3 from EAX (0x00105000)"; "" when there is none. */
  detail: string;
}

export function exitEvent(reason: number, vmcs: Vmcs): ExitEvent {
  const qualification = vmcs.get(X_QUALIFICATION);
  return {
    reason,
    name: exitReasonName(reason),
    qualification,
    eip: vmcs.get(G_EIP),
    instructions: vmcs.instructionsRetired(),
    detail: exitReason(reason)?.describe?.(vmcs, qualification) ?? "",
  };
}

/** One `--trace exits` line: instruction count, reason name, guest EIP, decoded information. */
export function formatExitTrace(exit: ExitEvent): string {
  const detail = exit.detail === "" ? "" : `  ${exit.detail}`;
  return `exit ${String(exit.instructions).padStart(12)}  ${exit.name.padEnd(24)} eip=${hex8(exit.eip)}${detail}\n`;
}
