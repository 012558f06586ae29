// The VM-execution controls the VMM programs when it creates a VM: what it intercepts, derived from
// the VM's configuration. Always: HLT (so an idle or stopped guest returns control), every port
// access (the bus decides what is behind each port, including nothing), CR3 loads outside the
// CR3-target list (cr3-targets.ts), and writes to the CR0/CR4 bits control-registers.ts says the
// VMM owns. Under `classic` and `bt` also #GP, through which deprivileged CLI and STI reach the VMM, and the VMM's own
// descriptor tables, LDTR, TR and CR0 that SGDT, SIDT, SLDT, STR and SMSW reveal to the guest. And
// the host work the guest causes ends an entry in time for the run loop to look at the wall clock
// (host-work.ts).

import {
  C_CR0_MASK,
  C_CR0_SHADOW,
  C_CR4_MASK,
  C_CR4_SHADOW,
  C_EXCEPTION_BITMAP,
  C_IF_MODE,
  C_PIN,
  C_PRIMARY,
  C_VMM_CR0,
  C_HOST_WORK_YIELD,
  C_VMM_GDTR_BASE,
  C_VMM_GDTR_LIMIT,
  C_VMM_IDTR_BASE,
  C_VMM_IDTR_LIMIT,
  C_VMM_LDTR,
  C_VMM_TR,
  CTL_CR3_LOAD_EXITING,
  CTL_HLT_EXITING,
  CTL_UNCONDITIONAL_IO,
  E_INTR_INFO,
  IF_MODE_CLASSIC, IF_MODE_BT,
  IF_MODE_TRAP,
  IF_MODE_VT,
} from "../../assembly/vmcs-layout.js";
import type { Vmcs } from "../core/vmcs.js";
import { CR0_OWNED, CR4_OWNED } from "./control-registers.js";
import { CR4_VMXE } from "./nested/vmx-capabilities.js";
import { VECTOR_GP } from "./inject.js";
import { deprivilegesKernel, type IfMode, type VmConfig } from "./vm-config.js";

const IF_MODE_FIELD: Record<IfMode, number> = { vt: IF_MODE_VT, trap: IF_MODE_TRAP, classic: IF_MODE_CLASSIC, bt: IF_MODE_BT };

// What a classic VMM's own tables look like from inside its guest: high in the linear address space
// where the monitor lives, above anything a guest kernel uses (VMware's monitor kept its IDT at
// 0xFFC18000 - the address Rutkowska's Red Pill keyed on), and a CR0 with paging and
// write protection on and TS set for lazy FPU switching.
export const VMM_GDT_BASE = 0xffc07000;
export const VMM_GDT_LIMIT = 0xfff;
export const VMM_IDT_BASE = 0xffc18000;
export const VMM_IDT_LIMIT = 0x7ff;
export const VMM_CR0 = 0x8001003b; // PG WP NE ET TS MP PE
// SLDT and STR: the monitor's LDT and TSS, the last two entries of its GDT.
export const VMM_LDTR = 0x0ff0;
export const VMM_TR = 0x0ff8;

export function programExecutionControls(vmcs: Vmcs, config: Readonly<VmConfig>): void {
  const deprivileged = deprivilegesKernel(config.ifMode);
  vmcs.set(C_PIN, 0);
  vmcs.set(C_PRIMARY, CTL_HLT_EXITING | CTL_UNCONDITIONAL_IO | CTL_CR3_LOAD_EXITING);
  vmcs.set(C_EXCEPTION_BITMAP, deprivileged ? 1 << VECTOR_GP : 0);
  vmcs.set(C_CR0_MASK, CR0_OWNED);
  vmcs.set(C_CR0_SHADOW, 0);
  // CR4.VMXE exists only when the VMM owns it and decides each change (nested/vmx-control-registers.ts).
  vmcs.set(C_CR4_MASK, CR4_OWNED | (config.nested === "vmx" ? CR4_VMXE : 0));
  vmcs.set(C_CR4_SHADOW, 0);
  vmcs.set(C_IF_MODE, IF_MODE_FIELD[config.ifMode]);
  vmcs.set(C_VMM_GDTR_BASE, VMM_GDT_BASE);
  vmcs.set(C_VMM_GDTR_LIMIT, VMM_GDT_LIMIT);
  vmcs.set(C_VMM_IDTR_BASE, VMM_IDT_BASE);
  vmcs.set(C_VMM_IDTR_LIMIT, VMM_IDT_LIMIT);
  vmcs.set(C_VMM_CR0, VMM_CR0);
  vmcs.set(C_VMM_LDTR, VMM_LDTR);
  vmcs.set(C_VMM_TR, VMM_TR);
  vmcs.set(C_HOST_WORK_YIELD, 1);
  vmcs.set(E_INTR_INFO, 0);
}
