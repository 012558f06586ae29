// Exit reason 52, VMX-preemption timer: the instruction budget of this VM entry ran out. The VMM
// runs the guest in slices so that it gets control back regularly (to flush output, check the
// wall-clock and instruction limits, and because V8 only tiers a WASM function up between calls);
// the run loop does that housekeeping at every slice boundary. The core also ends an entry this
// way when the guest executes HLT without "HLT exiting": then the guest is halted (activity state
// HLT) and is woken here as a HLT exit would be.

import { ACTIVITY_HLT, G_ACTIVITY } from "../../../assembly/vmcs-layout.js";
import type { ExitContext } from "./exit-context.js";
import { haltUntilInterrupt } from "./hlt.js";

export function handlePreemptionTimer(vm: ExitContext): void {
  if (vm.vmcs.get(G_ACTIVITY) === ACTIVITY_HLT) haltUntilInterrupt(vm);
}
