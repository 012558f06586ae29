// Exit reason 48, EPT violation (KVM's handle_ept_violation), ours for the write trap: the VMM set
// C_WRITE_TRAP_BASE/SIZE over the VGA text frame buffer (--vga-trap), so every guest write there
// exits before it happens, with the guest-physical address. The VMM completes the write with the
// core's emulate(), which runs that one instruction letting it through (a REP STOS or MOVS runs
// whole), as KVM emulates an MMIO access, and tells the VM, which marks the screen for redrawing.
// If the instruction faults into an exit of its own instead, that exit is handled next.

import { EXIT_EXCEPTION, X_GUEST_PHYSICAL, X_REASON } from "../../../assembly/vmcs-layout.js";
import type { ExitContext } from "./exit-context.js";

export function handleEptViolation(vm: ExitContext): void {
  const address = vm.vmcs.get(X_GUEST_PHYSICAL);
  const reason = vm.core.emulate();
  // emulate() answers 0 both for "completed" and for an exception exit, whose basic reason is 0.
  if (reason !== 0) vm.dispatch(reason);
  else if (vm.vmcs.get(X_REASON) === EXIT_EXCEPTION) vm.dispatch(EXIT_EXCEPTION);
  else vm.trappedWrite(address);
}
