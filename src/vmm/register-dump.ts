// The guest's registers as text, in the layout of QEMU's `info registers`, so a dump from a run
// that went wrong here can be read side by side with one from QEMU. Read from the VMCS guest-state
// area, which the core keeps complete at every exit.

import {
  G_CPL,
  G_CR0,
  G_CR2,
  G_CR3,
  G_CR4,
  G_EFLAGS,
  G_EIP,
  G_GDTR_BASE,
  G_GDTR_LIMIT,
  G_IDTR_BASE,
  G_IDTR_LIMIT,
  SR_CS,
  SR_DS,
  SR_ES,
  SR_FS,
  SR_GS,
  SR_LDTR,
  SR_SS,
  SR_TR,
} from "../../assembly/vmcs-layout.js";
import { Reg, type Vmcs } from "../core/vmcs.js";

const h8 = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
const h4 = (v: number) => (v >>> 0).toString(16).padStart(4, "0");

const FLAG_NAMES: Array<[bit: number, name: string]> = [
  [11, "OF"], [10, "DF"], [9, "IF"], [8, "TF"], [7, "SF"], [6, "ZF"], [4, "AF"], [2, "PF"], [0, "CF"],
];

const SEGMENTS: Array<[sreg: number, name: string]> = [
  [SR_ES, "ES "], [SR_CS, "CS "], [SR_SS, "SS "], [SR_DS, "DS "], [SR_FS, "FS "], [SR_GS, "GS "], [SR_LDTR, "LDT"], [SR_TR, "TR "],
];

export function formatRegisters(vmcs: Vmcs): string {
  const r = (reg: Reg) => h8(vmcs.reg(reg));
  const eflags = vmcs.get(G_EFLAGS);
  const flags = FLAG_NAMES.filter(([bit]) => eflags & (1 << bit)).map(([, name]) => name).join(" ");
  const lines = [
    `EAX=${r(Reg.EAX)} EBX=${r(Reg.EBX)} ECX=${r(Reg.ECX)} EDX=${r(Reg.EDX)}`,
    `ESI=${r(Reg.ESI)} EDI=${r(Reg.EDI)} EBP=${r(Reg.EBP)} ESP=${r(Reg.ESP)}`,
    `EIP=${h8(vmcs.get(G_EIP))} EFL=${h8(eflags)} [${flags}] CPL=${vmcs.get(G_CPL)}`,
  ];
  for (const [sreg, name] of SEGMENTS) {
    const s = vmcs.segment(sreg);
    lines.push(`${name}=${h4(s.selector)} ${h8(s.base)} ${h8(s.limit)} ${h8(s.ar)}`);
  }
  lines.push(
    `GDT=     ${h8(vmcs.get(G_GDTR_BASE))} ${h8(vmcs.get(G_GDTR_LIMIT))}`,
    `IDT=     ${h8(vmcs.get(G_IDTR_BASE))} ${h8(vmcs.get(G_IDTR_LIMIT))}`,
    `CR0=${h8(vmcs.get(G_CR0))} CR2=${h8(vmcs.get(G_CR2))} CR3=${h8(vmcs.get(G_CR3))} CR4=${h8(vmcs.get(G_CR4))}`,
    `instructions retired: ${vmcs.instructionsRetired()}`,
  );
  return lines.join("\n");
}
