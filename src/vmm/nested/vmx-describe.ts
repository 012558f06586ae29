// What `--trace exits` says about a VMX instruction's exit: its operands, decoded from the
// instruction information as L0 decodes them (vmx-operand.ts), e.g. "DS:[EAX+0x8]" for a VMPTRLD
// or "field ECX = 0x00004002 (PRIMARY_CONTROLS), EAX" for a VMREAD: the field named from
// vmcs12-fields.ts, or "(no such field)" for an encoding this VMCS does not have (VMfailValid 12).

import { VMX_INFO_NO_BASE, VMX_INFO_NO_INDEX, VMX_INFO_REGISTER, X_INSTRUCTION_INFO } from "../../../assembly/vmcs-layout.js";
import type { Vmcs } from "../../core/vmcs.js";
import { hex, hex8 } from "../../loader/load-error.js";
import { fieldName } from "./vmcs12-fields.js";

const REGISTERS = ["EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"];
const SEGMENTS = ["ES", "CS", "SS", "DS", "FS", "GS"];

/** VMXON, VMCLEAR, VMPTRLD, VMPTRST: the memory operand holding the pointer. */
export function describeVmxPointer(vmcs: Vmcs, qualification: number): string {
  return memoryOperand(vmcs.get(X_INSTRUCTION_INFO), qualification);
}

/** VMREAD and VMWRITE: the field encoding's register, value and name, then the r/m operand. */
export function describeVmreadVmwrite(vmcs: Vmcs, qualification: number): string {
  const info = vmcs.get(X_INSTRUCTION_INFO);
  const field = (info >>> 28) & 7;
  const operand = info & VMX_INFO_REGISTER ? REGISTERS[(info >>> 3) & 7] : memoryOperand(info, qualification);
  const encoding = vmcs.reg(field);
  return `field ${REGISTERS[field]} = ${hex8(encoding)} (${fieldName(encoding) ?? "no such field"}), ${operand}`;
}

function memoryOperand(info: number, displacement: number): string {
  const parts: string[] = [];
  if (!(info & VMX_INFO_NO_BASE)) parts.push(REGISTERS[(info >>> 23) & 7]);
  if (!(info & VMX_INFO_NO_INDEX)) parts.push(`${REGISTERS[(info >>> 18) & 7]}*${1 << (info & 3)}`);
  if (displacement !== 0 || parts.length === 0) parts.push(hex(displacement));
  return `${SEGMENTS[(info >>> 15) & 7] ?? "?"}:[${parts.join("+")}]`;
}
