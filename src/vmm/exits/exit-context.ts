// What an exit handler may touch: the VMCS (guest state and exit information), guest memory through
// the core's MMU, the I/O bus, and a way to end the run. VirtualMachine implements it; handlers
// depend on this interface rather than on the VM class, so each handler module can be tested with a
// stand-in and none of them can reach into the run loop.

import type { CoreExports } from "../../core/core.js";
import type { Vmcs } from "../../core/vmcs.js";
import type { IoBus } from "../../devices/bus.js";
import type { StopReason } from "../stop-reason.js";

export interface ExitContext {
  readonly vmcs: Vmcs;
  /** Guest-physical memory (index = guest-physical address). */
  readonly ram: Uint8Array;
  readonly core: Pick<CoreExports, "translateLinear">;
  readonly bus: IoBus;
  /** Ends the run after the current exit; the first reason given wins. */
  stop(reason: StopReason): void;
  readonly stopped: boolean;
}

/** A handler for one basic exit reason, as KVM's kvm_vmx_exit_handlers[] entries. */
export type ExitHandler = (vm: ExitContext) => void;
