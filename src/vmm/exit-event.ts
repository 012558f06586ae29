// A VM exit as subscribers see it (VirtualMachine.onExit, `--trace exits`): the reason and its
// name, the raw qualification, where the guest was, and the exit information decoded for people
// after the SDM's layouts (which CPUID leaf, which port and direction, which control register from
// which register, which exception). Built only when someone subscribes, before the handler runs,
// so it shows the guest as the exit left it.

import {
  EXIT_CLI,
  EXIT_CPUID,
  EXIT_CR_ACCESS,
  EXIT_EXCEPTION,
  EXIT_INVLPG,
  EXIT_IO,
  EXIT_IRET,
  EXIT_RDMSR,
  EXIT_VMCALL,
  EXIT_WRMSR,
  G_EIP,
  INTR_HAS_ERROR,
  IOQ_IN,
  IOQ_REP,
  IOQ_STRING,
  X_INTR_ERROR,
  X_INTR_INFO,
  X_QUALIFICATION,
} from "../../assembly/vmcs-layout.js";
import { Reg, type Vmcs } from "../core/vmcs.js";
import { hex } from "../loader/load-error.js";
import { CR_ACCESS_CLTS, CR_ACCESS_LMSW, CR_ACCESS_MOV_TO, decodeCrAccess } from "./exits/cr-access.js";
import { exitReasonName } from "./exits/table.js";
import { hypercallName } from "./hypercalls.js";
import { exceptionName } from "./stop-reason.js";

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

const REG_NAMES = ["EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"];
const h8 = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, "0")}`;

export function exitEvent(reason: number, vmcs: Vmcs): ExitEvent {
  const qualification = vmcs.get(X_QUALIFICATION);
  return {
    reason,
    name: exitReasonName(reason),
    qualification,
    eip: vmcs.get(G_EIP),
    instructions: vmcs.instructionsRetired(),
    detail: describeExit(reason, qualification, vmcs),
  };
}

function describeExit(reason: number, qualification: number, vmcs: Vmcs): string {
  if (reason >= EXIT_CLI && reason <= EXIT_IRET) return `${qualification * 8}-bit operand`;
  switch (reason) {
    case EXIT_EXCEPTION: {
      const info = vmcs.get(X_INTR_INFO);
      const code = info & INTR_HAS_ERROR ? ` error code ${hex(vmcs.get(X_INTR_ERROR))}` : "";
      return `${exceptionName(info & 0xff)}${code}`;
    }
    case EXIT_CPUID:
      return `leaf ${h8(vmcs.reg(Reg.EAX))} subleaf ${h8(vmcs.reg(Reg.ECX))}`;
    case EXIT_INVLPG:
      return `linear ${h8(qualification)}`;
    case EXIT_VMCALL:
      return `${hypercallName(vmcs.reg(Reg.EAX))} EBX=${h8(vmcs.reg(Reg.EBX))} ECX=${h8(vmcs.reg(Reg.ECX))}`;
    case EXIT_CR_ACCESS:
      return describeCrAccess(qualification, vmcs);
    case EXIT_IO:
      return describeIo(qualification);
    case EXIT_RDMSR:
    case EXIT_WRMSR:
      return `MSR ${h8(vmcs.reg(Reg.ECX))}`;
    default:
      return "";
  }
}

function describeCrAccess(qualification: number, vmcs: Vmcs): string {
  const { cr, type, gpr, lmswData } = decodeCrAccess(qualification);
  if (type === CR_ACCESS_MOV_TO) return `MOV to CR${cr} from ${REG_NAMES[gpr]} (${h8(vmcs.reg(gpr))})`;
  if (type === CR_ACCESS_CLTS) return "CLTS";
  if (type === CR_ACCESS_LMSW) return `LMSW ${hex(lmswData)}`;
  return `MOV from CR${cr} to ${REG_NAMES[gpr]}`;
}

/** SDM Table 28-5: size-1 in bits 0-2, IN in bit 3, string in bit 4, REP in bit 5, port in 16-31. */
function describeIo(qualification: number): string {
  const input = (qualification & IOQ_IN) !== 0;
  const string = (qualification & IOQ_STRING) !== 0;
  const mnemonic = `${qualification & IOQ_REP ? "REP " : ""}${input ? "IN" : "OUT"}${string ? "S" : ""}`;
  const size = (qualification & 7) + 1;
  return `${mnemonic} port 0x${(qualification >>> 16).toString(16).padStart(4, "0")}, ${size} byte${size > 1 ? "s" : ""}`;
}

/** One `--trace exits` line: instruction count, reason name, guest EIP, decoded information. */
export function formatExitTrace(exit: ExitEvent): string {
  const detail = exit.detail === "" ? "" : `  ${exit.detail}`;
  return `exit ${String(exit.instructions).padStart(12)}  ${exit.name.padEnd(24)} eip=${h8(exit.eip)}${detail}\n`;
}
