// Exit reason 12, HLT (KVM's handle_halt), taken because the VMM sets "HLT exiting". A halted CPU
// sleeps until an interrupt arrives. If one is waiting for the guest, it is injected now; if the
// interrupt timer has one scheduled, the guest's idle time is skipped and it arrives at once
// (virtual time does not run while nothing executes). Otherwise the VM idles (vm.idle(): virtual
// time jumps to the next device timer event, or the host waits for input or real time to pass);
// if that raised no interrupt the guest stays halted (activity state HLT), so the core returns at
// once and the VM idles again after the run loop's housekeeping. When nothing can ever wake the
// guest the run ends, with a reason that says whether the guest had interrupts disabled (the
// usual `cli; hlt` "stop here" idiom) or was waiting for one.

import { ACTIVITY_HLT, G_ACTIVITY, G_INTERRUPTIBILITY } from "../../../assembly/vmcs-layout.js";
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
  // The HLT has completed, so an STI just before it no longer blocks interrupts, even though the
  // core, which retired nothing since, still reports the shadow at this exit.
  vm.vmcs.set(G_INTERRUPTIBILITY, 0);
  let mayWake = false;
  if (interrupts.wakesFromHalt() && interrupts.pending === 0) {
    const next = vm.timer.takeNext();
    if (next !== undefined) interrupts.request(next);
    else mayWake = vm.idle();
  }
  interrupts.deliver();
  if (eventPending(vm.vmcs)) return;
  // Held for a guest hypervisor, a waiting interrupt is its exit, which leaves this guest halted.
  if (mayWake || (interrupts.heldTakenNow && interrupts.pending > 0)) vm.vmcs.set(G_ACTIVITY, ACTIVITY_HLT);
  else vm.stop({ kind: "halted", interruptsEnabled: interrupts.wakesFromHalt() });
}
