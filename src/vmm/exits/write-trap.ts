// The write-trap exit (reason 48, the SDM's number for an EPT violation; there is no EPT here): the
// VMM set C_WRITE_TRAP_BASE/SIZE over the VGA text frame buffer (--vga-trap), so every guest write
// there exits before it happens, with the guest-physical address. The VMM completes the write with
// the core's emulate(), which runs that one instruction letting it through (a REP STOS or MOVS runs
// whole), as KVM emulates an MMIO access, and tells the VM, which marks the screen for redrawing.
// If the instruction faults into an exit of its own instead, that exit is handled next.

import { X_GUEST_PHYSICAL } from "../../../assembly/vmcs-layout.js";
import { completeWithEmulator } from "./emulate.js";
import type { ExitContext } from "./exit-context.js";

export function handleWriteTrap(vm: ExitContext): void {
  const address = vm.vmcs.get(X_GUEST_PHYSICAL);
  if (completeWithEmulator(vm)) vm.trappedWrite(address);
}
