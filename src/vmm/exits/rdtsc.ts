// Exit reason 16, RDTSC (KVM's handle_rdtsc), taken when the VMM sets "RDTSC exiting": the VMM
// answers with the guest's time-stamp counter. Ours is the same virtual TSC the core returns
// without the exit (retired instructions plus the TSC offset), so turning the control on changes
// only who answers; a VMM that wants another clock (wall time, say) is the reason to turn it on.

import { virtualTsc } from "../virtual-tsc.js";
import type { ExitContext } from "./exit-context.js";

export function handleRdtsc(vm: ExitContext): void {
  vm.vmcs.setEdxEax(virtualTsc(vm.vmcs));
  vm.vmcs.skipInstruction();
}
