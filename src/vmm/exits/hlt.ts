// Exit reason 12, HLT (KVM's handle_halt), taken because the VMM sets "HLT exiting". A halted CPU
// sleeps until an interrupt arrives. If one is waiting for the guest, it is injected now; if the
// interrupt timer has one scheduled, the guest's idle time is skipped and it arrives at once
// (virtual time does not run while nothing executes). Otherwise nothing can ever wake the guest
// and the run ends, with a reason that says whether the guest had interrupts disabled (the usual
// `cli; hlt` "stop here" idiom) or was waiting for one.

import { eventPending } from "../inject.js";
import type { ExitContext } from "./exit-context.js";

export function handleHlt(vm: ExitContext): void {
  // The CPU saves the EIP after HLT: execution resumes there once an interrupt has been handled.
  vm.vmcs.skipInstruction();
  haltUntilInterrupt(vm);
}

/** The guest has halted: give it the interrupt that wakes it, or end the run if none ever can. */
export function haltUntilInterrupt(vm: ExitContext): void {
  const { interrupts } = vm;
  if (interrupts.flag.enabled() && interrupts.pending === 0) {
    const next = vm.timer.takeNext();
    if (next !== undefined) interrupts.request(next);
  }
  interrupts.deliver();
  if (eventPending(vm.vmcs)) return;
  vm.stop({ kind: "halted", interruptsEnabled: interrupts.flag.enabled() });
}
