// Exit reason 28, control-register access (KVM's handle_cr). The qualification (SDM Table 28-3)
// gives the control register in bits 0-3, the access type in bits 4-5 (0 MOV to CR, 1 MOV from
// CR, 2 CLTS, 3 LMSW), the general register in bits 8-11 and LMSW's source data in bits 16-31.
// The core exits for:
//  - MOV to CR3 with "CR3-load exiting" on and a value outside the CR3-target list: the VMM
//    records the value in the list (cr3-targets.ts) and completes the load;
//  - MOV to CR0/CR4, CLTS and LMSW that would change a bit the VMM owns (set in the guest/host
//    mask) away from its read shadow: the VMM checks the value as the CPU would, updates the
//    shadow to what the guest asked for (the guest reads owned bits from the shadow) and completes
//    the write. control-registers.ts says which bits the VMM owns and why.

import {
  C_CR0_MASK,
  C_CR0_SHADOW,
  C_CR4_SHADOW,
  EXIT_CR_ACCESS,
  G_CR0,
  G_CR3,
  G_CR4,
  X_QUALIFICATION,
} from "../../../assembly/vmcs-layout.js";
import type { Reg, Vmcs } from "../../core/vmcs.js";
import { hex, hex8 } from "../../loader/load-error.js";
import { VECTOR_GP, injectException } from "../inject.js";
import { CR0_CD, CR0_ET, CR0_NW, CR0_PE, CR0_PG, CR0_TS, CR4_UNSUPPORTED } from "../control-registers.js";
import type { ExitContext } from "./exit-context.js";
import { l1OwnedBits, vmxAllowsCr0, vmxAllowsCr4 } from "../nested/vmx-control-registers.js";
import { handleUnhandledExit } from "./table.js";

export const CR_ACCESS_MOV_TO = 0;
export const CR_ACCESS_MOV_FROM = 1;
export const CR_ACCESS_CLTS = 2;
export const CR_ACCESS_LMSW = 3;

/** LMSW loads CR0 bits 0-3 (PE MP EM TS) and cannot clear PE. */
const LMSW_BITS = 0xf;

export interface CrAccess {
  cr: number;
  type: number;
  gpr: Reg;
  lmswData: number;
}

export function decodeCrAccess(qualification: number): CrAccess {
  return { cr: qualification & 0xf, type: (qualification >>> 4) & 3, gpr: (qualification >>> 8) & 0xf, lmswData: qualification >>> 16 };
}

const REG_NAMES = ["EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"];

export function describeCrAccess(vmcs: Vmcs, qualification: number): string {
  const { cr, type, gpr, lmswData } = decodeCrAccess(qualification);
  if (type === CR_ACCESS_MOV_TO) return `MOV to CR${cr} from ${REG_NAMES[gpr]} (${hex8(vmcs.reg(gpr))})`;
  if (type === CR_ACCESS_CLTS) return "CLTS";
  if (type === CR_ACCESS_LMSW) return `LMSW ${hex(lmswData)}`;
  return `MOV from CR${cr} to ${REG_NAMES[gpr]}`;
}

export function handleCrAccess(vm: ExitContext): void {
  const { vmcs } = vm;
  const { cr, type, gpr, lmswData } = decodeCrAccess(vmcs.get(X_QUALIFICATION));
  let completed: boolean;
  if (type === CR_ACCESS_MOV_TO && cr === 3) completed = loadCr3(vm, vmcs.reg(gpr));
  else if (type === CR_ACCESS_MOV_TO && cr === 0) completed = writeCr0(vm, vmcs.reg(gpr));
  else if (type === CR_ACCESS_MOV_TO && cr === 4) completed = writeCr4(vm, vmcs.reg(gpr));
  else if (type === CR_ACCESS_CLTS) completed = writeCr0(vm, guestCr0(vmcs) & ~CR0_TS);
  else if (type === CR_ACCESS_LMSW) completed = writeCr0(vm, (guestCr0(vmcs) & ~LMSW_BITS) | (lmswData & LMSW_BITS) | (guestCr0(vmcs) & CR0_PE));
  else return handleUnhandledExit(vm, EXIT_CR_ACCESS); // MOV from CR: the core never exits for it
  if (completed) vmcs.skipInstruction();
}

/**
 * What a write of `requested` (MOV, CLTS or LMSW) leaves in CR0 or CR4 (`field`): while L2 runs, the
 * bits L1 owns stay as they are (l1OwnedBits) and keep L1's read shadow; the shadow of the others
 * follows the value, since the guest reads the VMM's owned bits from it.
 */
function written(vm: ExitContext, cr: 0 | 4, requested: number): { value: number; shadow: number } {
  const { vmcs } = vm;
  const kept = l1OwnedBits(vm, cr);
  const [crField, shadowField] = cr === 0 ? [G_CR0, C_CR0_SHADOW] : [G_CR4, C_CR4_SHADOW];
  const value = ((requested & ~kept) | (vmcs.get(crField) & kept)) >>> 0;
  return { value, shadow: ((vmcs.get(shadowField) & kept) | (value & ~kept)) >>> 0 };
}

function loadCr3(vm: ExitContext, value: number): boolean {
  vm.cr3Targets.miss(vm.vmcs.get(G_CR3), value);
  vm.vmcs.set(G_CR3, value);
  return true;
}

/** CR0 as the guest sees it: owned bits from the read shadow. */
function guestCr0(vmcs: Vmcs): number {
  const mask = vmcs.get(C_CR0_MASK);
  return ((vmcs.get(G_CR0) & ~mask) | (vmcs.get(C_CR0_SHADOW) & mask)) >>> 0;
}

/**
 * A write to CR0 with MOV's checks (SDM, MOV—Move to/from Control Registers): #GP(0) for PG
 * without PE, NW without CD, and VMX operation's fixed bits.
 */
function writeCr0(vm: ExitContext, requested: number): boolean {
  const { vmcs } = vm;
  const { value, shadow } = written(vm, 0, requested);
  if ((value & CR0_PG && !(value & CR0_PE)) || (value & CR0_NW && !(value & CR0_CD)) || !vmxAllowsCr0(vm, value)) return refuse(vmcs);
  vmcs.set(C_CR0_SHADOW, shadow);
  vmcs.set(G_CR0, value | CR0_ET);
  return true;
}

/** A write to CR4: bits for features CPUID does not report are reserved on this CPU, #GP(0); so is VMXE against VMX's rules. */
function writeCr4(vm: ExitContext, requested: number): boolean {
  const { vmcs } = vm;
  const { value, shadow } = written(vm, 4, requested);
  if (value & CR4_UNSUPPORTED || !vmxAllowsCr4(vm, value)) return refuse(vmcs);
  vmcs.set(C_CR4_SHADOW, shadow);
  vmcs.set(G_CR4, value);
  return true;
}

/** The write faults in the guest: #GP(0), the instruction not completed. */
function refuse(vmcs: Vmcs): boolean {
  injectException(vmcs, VECTOR_GP, 0);
  return false;
}
