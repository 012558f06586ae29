// VMCS shadowing as L0 uses it (issue 18 item 4; KVM's enable_shadow_vmcs): while L1 runs in VMX
// operation with a current VMCS, the core's "VMCS shadowing" control is on with that VMCS as the
// shadow (the VMCS link pointer), so L1's VMREAD and VMWRITE of the fields the field table supports
// complete in the core without an exit (assembly/cpu/vmcs-shadowing.ts). L1 cannot tell: the shadow
// is L1's own VMCS region, in the layout L0 reads it in (vmcs12-fields.ts), so there is nothing to
// copy at a level switch, and whatever the core does not complete exits and is emulated as without
// shadowing (vmx-instructions.ts). Off while L2 runs: L2's VMREAD and VMWRITE are L1's exits.

import { C_SECONDARY, C_VMCS_LINK, CTL2_VMCS_SHADOWING, FIELD_TABLE_ENTRIES } from "../../../assembly/vmcs-layout.js";
import type { CoreExports } from "../../core/core-exports.js";
import type { Vmcs } from "../../core/vmcs.js";
import { FIELD_TABLE } from "./vmcs12-fields.js";
import { NO_VMCS, type NestedVmx } from "./vmx-state.js";

/** The link pointer while shadowing is off (the SDM's "no VMCS", in 32 bits). */
const NO_LINK = 0xffffffff;

/** Gives the core the field table (done once per core: it never changes). */
export function programFieldTable(core: Pick<CoreExports, "memory" | "vmcsFieldTable">): void {
  new Uint16Array(core.memory.buffer, core.vmcsFieldTable(), FIELD_TABLE_ENTRIES).set(FIELD_TABLE);
}

/** The link pointer L1 runs with: its current VMCS when the option is on and L1 is in VMX operation with one. */
function l1Link(vmx: NestedVmx): number | undefined {
  return vmx.shadowing && vmx.inVmxOperation && vmx.currentVmcs !== NO_VMCS ? vmx.currentVmcs : undefined;
}

/** Whether the core completes L1's VMREAD/VMWRITE now: L1 runs (not L2) with a link pointer. */
export function shadowingActive(vmx: NestedVmx): boolean {
  return vmx.l2 === undefined && l1Link(vmx) !== undefined;
}

/**
 * Sets the core's control and link pointer after anything shadowingActive() depends on changed,
 * and keeps L1's current VMCS and link in the level-switch area, where the core finds them when it
 * switches levels itself (assembly/vm/level-switch.ts).
 */
export function followVmcsShadowing(vmcs: Vmcs, vmx: NestedVmx): void {
  const link = l1Link(vmx);
  vmx.setL1State(vmx.inVmxOperation && vmx.currentVmcs !== NO_VMCS ? vmx.currentVmcs : undefined, link);
  const active = vmx.l2 === undefined && link !== undefined;
  vmcs.set(C_SECONDARY, active ? CTL2_VMCS_SHADOWING : 0);
  vmcs.set(C_VMCS_LINK, active ? link : NO_LINK);
}
