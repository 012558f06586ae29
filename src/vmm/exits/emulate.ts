// Completing an exit with the core's instruction emulator (core.emulate(): the one instruction at
// EIP, run without the trap that made it exit), as KVM completes exits with its emulator. The
// instruction may fault into an exit of its own instead (an intercepted exception): that exit, an
// exit during emulation, is dispatched next like any other.

import { EXIT_PREEMPTION_TIMER } from "../../../assembly/vmcs-layout.js";
import type { ExitContext } from "./exit-context.js";

/** Runs the instruction at EIP; true when it completed, false when its own exit was handled instead. */
export function completeWithEmulator(vm: ExitContext): boolean {
  const reason = vm.core.emulate();
  if (reason === EXIT_PREEMPTION_TIMER) return true;
  vm.dispatch(reason);
  return false;
}
