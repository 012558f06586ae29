// Exit reason 7, interrupt window (KVM's handle_interrupt_window): the VMM had an interrupt waiting
// and set "interrupt-window exiting"; the guest has just become able to take it (IF set, no STI or
// MOV SS shadow). The injector injects it and turns the control off when nothing else waits.

import type { ExitContext } from "./exit-context.js";

export function handleInterruptWindow(vm: ExitContext): void {
  vm.interrupts.deliver();
}
