// The write-trap exit (reason 48, the SDM's number for an EPT violation; there is no EPT here): the
// display update (display-update.ts) set C_WRITE_TRAP_BASE/SIZE over the frame buffer, so a guest
// write to a protected page of it exits before it happens, with the guest-physical address. Under
// the dirty log that is the page's first write since the last refresh: the page is logged and
// released and the instruction simply runs again. Under the trap strategy the VMM completes the
// write with the core's emulate(), which runs that one instruction letting it through (a REP STOS
// or MOVS runs whole), as KVM emulates an MMIO access, and the bytes it wrote go to the screen.
// If the instruction faults into an exit of its own instead, that exit is handled next.

import { X_GUEST_PHYSICAL } from "../../../assembly/vmcs-layout.js";
import { completeWithEmulator } from "./emulate.js";
import type { ExitContext } from "./exit-context.js";

export function handleWriteTrap(vm: ExitContext): void {
  if (vm.display.firstWrite(vm.vmcs.get(X_GUEST_PHYSICAL))) return;
  if (completeWithEmulator(vm)) vm.display.completedWrite();
}
