// Exit reason 1, external interrupt (KVM's handle_external_interrupt): an interrupt arrived while
// the guest ran. Ours come from the VMM's interrupt timer: the run loop armed the core's
// preemption timer for the timer's earliest deadline, and an expiry at that deadline is reported
// as this exit. The due interrupts are handed to the injector, which gives them to the guest as
// soon as it can take them.

import type { ExitContext } from "./exit-context.js";

export function handleExternalInterrupt(vm: ExitContext): void {
  for (const vector of vm.timer.takeDue(vm.vmcs.instructionsRetired())) vm.interrupts.request(vector);
}
