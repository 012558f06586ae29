// Exit reason 14, INVLPG (KVM's handle_invlpg), taken when the VMM sets "INVLPG exiting" (it does
// not by default): the guest invalidates the TLB entry for the linear address in the exit
// qualification. Completing the instruction is all there is to do: the shadow MMU in the core
// (assembly/mmu/) keeps its shadows and TLB coherent by tracking writes to the guest's page
// tables, so no translation the guest changed outlives the change, INVLPG or not (the core's own
// INVLPG, without the exit, drops the page anyway: assembly/mmu/mmu.ts invalidatePage).

import type { Vmcs } from "../../core/vmcs.js";
import { hex8 } from "../../loader/load-error.js";
import type { ExitContext } from "./exit-context.js";

export function handleInvlpg(vm: ExitContext): void {
  vm.vmcs.skipInstruction();
}

export function describeInvlpg(_vmcs: Vmcs, qualification: number): string {
  return `linear ${hex8(qualification)}`;
}
