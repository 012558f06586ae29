// CR0 and CR4 under nested VMX. CR4.VMXE exists only with `--nested vmx`: the VMM then owns the
// bit (vmcs-setup.ts), so every change of it exits and is decided here. In VMX operation the bits
// of IA32_VMX_CR0_FIXED0 (PE, NE, PG) and CR4.VMXE cannot be cleared: such a MOV raises #GP(0)
// (SDM Vol. 3C 24.8). PG and VMXE are owned always; VMXON adds PE and NE to the CR0 guest/host
// mask so that clearing them exits too, and VMXOFF gives them back.

import { C_CR0_MASK, C_CR0_SHADOW, G_CR0 } from "../../../assembly/vmcs-layout.js";
import type { Vmcs } from "../../core/vmcs.js";
import { CR0_OWNED } from "../control-registers.js";
import type { ExitContext } from "../exits/exit-context.js";
import { CR0_FIXED0, CR4_VMXE } from "./vmx-capabilities.js";
import { VMCS_FIELD as F } from "./vmcs12-fields.js";
import { vmcs12At } from "./vmcs12.js";

/**
 * While L2 runs, the bits of CR0 or CR4 that L1 owns (its guest/host mask); 0 while L1 runs. A MOV
 * to CR that reaches L0 from L2 is one L1 let through, and such a MOV leaves L1's bits as they are
 * (SDM Vol. 3C 26.3, "MOV to CR0/CR4" in VMX non-root operation): only the others take L2's value.
 */
export function l1OwnedBits(vm: ExitContext, cr: 0 | 4): number {
  if (vm.vmx.l2 === undefined) return 0;
  return vmcs12At(vm.ram, vm.vmx.l2).read(cr === 0 ? F.CR0_GUEST_HOST_MASK : F.CR4_GUEST_HOST_MASK);
}

/** Whether the guest may load `value` into CR0 as far as VMX is concerned. */
export function vmxAllowsCr0(vm: ExitContext, value: number): boolean {
  return !vm.vmx.inVmxOperation || ((value & CR0_FIXED0) >>> 0) === CR0_FIXED0;
}

/** Whether the guest may load `value` into CR4: VMXE only with nested VMX, and kept in VMX operation. */
export function vmxAllowsCr4(vm: ExitContext, value: number): boolean {
  if (value & CR4_VMXE) return vm.config.nested === "vmx";
  return !vm.vmx.inVmxOperation;
}

/** After VMXON or VMXOFF: own CR0's fixed bits exactly while L1 is in VMX operation. */
export function followVmxOperation(vm: ExitContext): void {
  setCr0Mask(vm.vmcs, (CR0_OWNED | (vm.vmx.inVmxOperation ? CR0_FIXED0 : 0)) >>> 0);
}

// The guest reads owned bits from the read shadow: a bit that becomes owned takes its current
// value there first.
function setCr0Mask(vmcs: Vmcs, mask: number): void {
  const old = vmcs.get(C_CR0_MASK);
  vmcs.set(C_CR0_SHADOW, (vmcs.get(C_CR0_SHADOW) & old) | (vmcs.get(G_CR0) & ~old));
  vmcs.set(C_CR0_MASK, mask);
}
