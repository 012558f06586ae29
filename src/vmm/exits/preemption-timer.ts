// Exit reason 52, VMX-preemption timer: the instruction budget of this VM entry ran out. The VMM
// runs the guest in slices so that it gets control back regularly (to flush output, check the
// wall-clock and instruction limits, and because V8 only tiers a WASM function up between calls).
// The run loop does that housekeeping at every slice boundary, so there is nothing left to do here.

import type { ExitContext } from "./exit-context.js";

export function handlePreemptionTimer(_vm: ExitContext): void {}
