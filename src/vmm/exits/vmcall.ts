// Exit reason 18, VMCALL (KVM's handle_vmcall): a guest's hypercall. VMCALL exits unconditionally
// in VMX non-root operation; the VMM carries out the function in EAX (hypercalls.ts) and the
// guest continues after the instruction with the result in EAX.

import { Reg, type Vmcs } from "../../core/vmcs.js";
import { hex8 } from "../../loader/load-error.js";
import { hypercall, hypercallName } from "../hypercalls.js";
import type { ExitContext } from "./exit-context.js";

export function handleVmcall(vm: ExitContext): void {
  hypercall(vm);
  vm.vmcs.skipInstruction();
}

export function describeVmcall(vmcs: Vmcs): string {
  return `${hypercallName(vmcs.reg(Reg.EAX))} EBX=${hex8(vmcs.reg(Reg.EBX))} ECX=${hex8(vmcs.reg(Reg.ECX))}`;
}
