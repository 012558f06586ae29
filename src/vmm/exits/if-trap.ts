// Exit reasons 0x100-0x104 (ours): CLI, STI, PUSHF, POPF and IRET under `--if-mode trap`, where
// every instruction that reads or writes the interrupt flag exits before it executes. The VMM
// completes it with the core's emulate(), which runs that one instruction without the trap, as
// KVM completes exits with its instruction emulator. If the instruction faults into an exit of its
// own (an intercepted exception), that exit is handled next. Afterwards the guest may have become
// interruptible, so a waiting interrupt is offered again.

import type { Vmcs } from "../../core/vmcs.js";
import { completeWithEmulator } from "./emulate.js";
import type { ExitContext } from "./exit-context.js";

export function handleIfTrap(vm: ExitContext): void {
  completeWithEmulator(vm);
  vm.interrupts.deliver();
}

/** The qualification is the operand size in bytes. */
export function describeIfTrap(_vmcs: Vmcs, qualification: number): string {
  return `${qualification * 8}-bit operand`;
}
