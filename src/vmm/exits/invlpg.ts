// Exit reason 14, INVLPG (KVM's handle_invlpg), taken when the VMM sets "INVLPG exiting": the
// guest invalidates the TLB entry for the linear address in the exit qualification. A VMM with
// shadow page tables drops its shadow entry for that address here (the shadow MMU issue hangs its
// work on this exit); the core's own translations are refreshed at every VM entry, so completing
// the instruction is all that is left to do.

import type { ExitContext } from "./exit-context.js";

export function handleInvlpg(vm: ExitContext): void {
  vm.vmcs.skipInstruction();
}
