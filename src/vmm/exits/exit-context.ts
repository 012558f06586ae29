// What an exit handler may touch: the VMCS (guest state and exit information), guest memory through
// the core's MMU, the I/O bus, the VMM's per-VM state that handlers share (the CPU model CPUID
// answers with, pending interrupts and the guest's interrupt flag, the CR3-target list, the
// interrupt timer, exit statistics, nested VMX state), the console, and a way to end the run. VirtualMachine
// implements it; handlers depend on this interface rather than on the VM class, so each handler
// module can be tested with a stand-in and none of them can reach into the run loop.

import type { CoreExports } from "../../core/core.js";
import type { LevelSwitchExports } from "../../core/core-exports.js";
import type { Vmcs } from "../../core/vmcs.js";
import type { IoBus } from "../../devices/bus.js";
import type { Cr3TargetList } from "../cr3-targets.js";
import type { ExitStats } from "../exit-stats.js";
import type { InterruptInjector } from "../interrupt-injector.js";
import type { InterruptTimer } from "../interrupt-timer.js";
import type { StopReason } from "../stop-reason.js";
import type { VmConfig } from "../vm-config.js";
import type { NestedVmx } from "../nested/vmx-state.js";
import type { SvmMsrs } from "../svm/svm-msrs.js";
import type { NestedSvm } from "../svm/svm-state.js";
import type { CpuidModel } from "./cpuid.js";
import type { DisplayUpdater } from "../display-update.js";

export interface ExitContext {
  readonly config: Readonly<VmConfig>;
  readonly vmcs: Vmcs;
  /** Guest-physical memory (index = guest-physical address). */
  readonly ram: Uint8Array;
  readonly core: Pick<CoreExports, "translateLinear" | "emulate" | "noteHostWrite" | LevelSwitchExports>;
  readonly bus: IoBus;
  readonly cpuid: CpuidModel;
  readonly interrupts: InterruptInjector;
  readonly timer: InterruptTimer;
  readonly cr3Targets: Cr3TargetList;
  readonly stats: ExitStats;
  /** L1's VMX operation under `--nested vmx` (src/vmm/nested/). */
  readonly vmx: NestedVmx;
  /** VM_CR and VM_HSAVE_PA under `--cpu amd` (src/vmm/svm/svm-msrs.ts; EFER is in the VMCS). */
  readonly svmMsrs: SvmMsrs;
  /** L1's guest under `--nested svm` while it runs (src/vmm/svm/). */
  readonly svm: NestedSvm;
  /** How many more bytes the host's console can take now. */
  consoleRoom(): number;
  /** Sends bytes to the guest's console (where COM1 output goes too), no more than consoleRoom(). */
  writeConsole(bytes: Uint8Array): void;
  /**
   * Counts host work done for the guest beyond the exit itself, in units of about one simple
   * exit (host-work.ts), so that the run loop looks at the wall clock in time.
   */
  chargeHostWork(units: number): void;
  /** Handles an exit that happened while handling this one (core.emulate() returning a reason). */
  dispatch(reason: number): void;
  /**
   * The guest waits for an interrupt and none is pending: let time pass until a device may have
   * raised one (virtual time jumps to the next timer event; the host may wait for input or real
   * time). False if nothing ever can.
   */
  idle(): boolean;
  /** The screen's copy of the frame buffer, told of writes into the write-trap range and of the guest's reported rectangles (display-update.ts). */
  readonly display: Pick<DisplayUpdater, "firstWrite" | "completedWrite" | "reportRectangle">;
  /**
   * L0 reflects an interrupt held for L1 into L1 as exit `reason`, after an exit of L2's it handled:
   * counted and shown as an exit reflected into L1 (exit-level.ts), though the core reported none.
   */
  reflectHeldInterrupt(reason: number): void;
  /** Ends the run after the current exit; the first reason given wins. */
  stop(reason: StopReason): void;
  readonly stopped: boolean;
}

/** A handler for one basic exit reason, as KVM's kvm_vmx_exit_handlers[] entries. */
export type ExitHandler = (vm: ExitContext) => void;
