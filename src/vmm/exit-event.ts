// A VM exit as subscribers see it (VirtualMachine.onExit, `--trace exits`): the reason and its
// name, the raw qualification, where the guest was, and the exit information decoded for people
// after the SDM's layouts, by the reason's descriptor (exits/table.ts). Built only when someone
// subscribes, before the handler runs, so it shows the guest as the exit left it. Under
// `--nested vmx` it also says which level exited and whether L0 reflected the exit into L1
// (exit-level.ts), and the trace line gets a level column.

import { G_EIP, X_QUALIFICATION } from "../../assembly/vmcs-layout.js";
import type { Vmcs } from "../core/vmcs.js";
import { hex8 } from "../loader/load-error.js";
import { exitReason, exitReasonName } from "./exits/table.js";
import { levelLabel, type ExitNesting } from "./exit-level.js";

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
  /** Under `--nested vmx` only: which guest exited (L1 or L2) and whether L0 reflected the exit into L1. */
  nesting?: ExitNesting;
}

export function exitEvent(reason: number, vmcs: Vmcs, nesting?: ExitNesting): ExitEvent {
  const qualification = vmcs.get(X_QUALIFICATION);
  return {
    reason,
    name: exitReasonName(reason),
    qualification,
    eip: vmcs.get(G_EIP),
    instructions: vmcs.instructionsRetired(),
    detail: exitReason(reason)?.describe?.(vmcs, qualification) ?? "",
    ...(nesting && { nesting }),
  };
}

/**
 * One `--trace exits` line: instruction count, the level under nesting (L1, L2, or L2->L1 for an
 * exit of L2 reflected into L1), reason name, guest EIP, decoded information.
 */
export function formatExitTrace(exit: ExitEvent): string {
  const detail = exit.detail === "" ? "" : `  ${exit.detail}`;
  const level = exit.nesting === undefined ? "" : `${levelLabel(exit.nesting).padEnd(6)}  `;
  return `exit ${String(exit.instructions).padStart(12)}  ${level}${exit.name.padEnd(24)} eip=${hex8(exit.eip)}${detail}\n`;
}
