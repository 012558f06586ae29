// Exit reason 12, HLT (KVM's handle_halt), taken because the VMM sets "HLT exiting". A halted CPU
// sleeps until an interrupt (or NMI) arrives. No device raises interrupts yet (the PIC and PIT come
// in a later issue), so unless the VMM has an event queued for injection the guest can never wake,
// and the run ends with a reason that says whether the guest had interrupts disabled (the usual
// `cli; hlt` "stop here" idiom) or was waiting for one.

import { G_EFLAGS } from "../../../assembly/vmcs-layout.js";
import { EFLAGS_IF } from "../../core/vmcs.js";
import { eventPending } from "../inject.js";
import type { ExitContext } from "./exit-context.js";

export function handleHlt(vm: ExitContext): void {
  // The CPU saves the EIP after HLT: execution resumes there once an interrupt has been handled.
  vm.vmcs.skipInstruction();
  if (eventPending(vm.vmcs)) return;
  vm.stop({ kind: "halted", interruptsEnabled: (vm.vmcs.get(G_EFLAGS) & EFLAGS_IF) !== 0 });
}
