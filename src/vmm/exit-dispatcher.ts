// The exit path behind the run loop: every exit the core reports, and every exit a handler runs
// into while completing one (the emulated instruction's own exit, emulate.ts), goes through
// dispatch(): counted and timed (exit-stats.ts, exit-timer.ts, handler-timer.ts), shown to onExit subscribers, offered
// to the pre-dispatch stages, and then handled by its reason's handler (exits/table.ts).
// The stages are the seam for a second level: while a guest hypervisor (L1) runs a guest of its
// own (L2), a stage (setLevelStage, nested/nested-run.ts) decides which of L2's exits L1 asked for
// and reflects those to it, as KVM's nested_vmx_reflect_vmexit does before
// kvm_vmx_exit_handlers[]; the exits it does not reflect are L0's, handled by the table. An exit costs no allocation:
// the event subscribers see is built only when there are any. While nothing times, watches or
// stages exits, the dispatcher lets the core complete the exits whose handling is pure data
// itself (exits-in-core.ts: CPUID, IN/OUT to latched ports), counted all the same; as soon as
// anything does, every exit comes here again.

import { exitEvent, type ExitEvent } from "./exit-event.js";
import type { ExitTimer } from "./exit-timer.js";
import type { HandlerTimer } from "./handler-timer.js";
import type { ExitContext } from "./exits/exit-context.js";
import type { ExitsInCore } from "./exits-in-core.js";
import { EXIT_CPUID, EXIT_IO } from "../../assembly/vmcs-layout.js";
import { handleCpuid } from "./exits/cpuid.js";
import { handleIo } from "./exits/io.js";
import { exitHandlers, handleUnhandledExit } from "./exits/table.js";
import { subscribe } from "./subscribe.js";

export type ExitListener = (exit: ExitEvent) => void;

/**
 * A pre-dispatch stage: true claims the exit, which it has then dealt with, and keeps it from the
 * stages after it and from the handler table; false lets it through. Stages run in order.
 */
export type ExitStage = (vm: ExitContext, reason: number) => boolean;

export class ExitDispatcher {
  private readonly listeners: ExitListener[] = [];

  constructor(
    /** What handlers and stages act on (the VM). */
    private readonly vm: ExitContext,
    private readonly timer: ExitTimer | undefined,
    stages: readonly ExitStage[] = [],
    private readonly handlerTimer: HandlerTimer | undefined = undefined,
    /** The exits the core may complete itself, allowed only while dispatch() would just count and call. */
    private readonly inCore: Pick<ExitsInCore, "allow"> | undefined = undefined,
  ) {
    this.stages = [...stages];
    this.fixedStages = stages.length;
    this.plain = timer === undefined && handlerTimer === undefined && stages.length === 0;
    this.allowExitsInCore();
  }

  private readonly stages: ExitStage[];
  private readonly fixedStages: number;
  /** No exit timer, handler timer or stage: what dispatch() may skip unless there are listeners. */
  private plain: boolean;

  /**
   * Puts `stage` after the stages the dispatcher was made with, or takes it away (undefined): the
   * stage of a nested guest, in place exactly while one runs (nested/nested-run.ts). While it is,
   * the core completes no exit itself.
   */
  setLevelStage(stage: ExitStage | undefined): void {
    this.stages.length = this.fixedStages;
    if (stage !== undefined) this.stages.push(stage);
    this.plain = this.timer === undefined && this.handlerTimer === undefined && this.stages.length === 0;
    this.allowExitsInCore();
  }

  /** Calls `listener` at every exit, before any stage or handler; returns the unsubscribe function. */
  onExit(listener: ExitListener): () => void {
    const unsubscribe = subscribe(this.listeners, listener);
    this.allowExitsInCore();
    return () => {
      unsubscribe();
      this.allowExitsInCore();
    };
  }

  private allowExitsInCore(): void {
    this.inCore?.allow(this.plain && this.listeners.length === 0);
  }

  /** Counts, times and reports one exit, then lets the first stage that claims it, or its handler, handle it. */
  dispatch(reason: number): void {
    // The common case, with nothing to time, report or offer to a stage: counted, and handled.
    if (this.plain && this.listeners.length === 0) {
      this.vm.stats.record(reason);
      callHandler(this.vm, reason);
      return;
    }
    const timer = this.handlerTimer;
    if (timer === undefined) return this.handle(reason);
    timer.begin(reason);
    try {
      this.handle(reason);
    } finally {
      timer.end();
    }
  }

  private handle(reason: number): void {
    const { vm, stages } = this;
    vm.stats.record(reason);
    this.timer?.exit(reason);
    if (this.listeners.length > 0) {
      const event = exitEvent(reason, vm.vmcs);
      for (const listener of this.listeners) listener(event);
    }
    for (let i = 0; i < stages.length; i++) if (stages[i](vm, reason)) return;
    callHandler(vm, reason);
  }
}

/**
 * The handler of `reason` (exits/table.ts) on `vm`. The two reasons a guest makes by the million,
 * I/O and CPUID, are called directly: a call through the table sees every handler and V8 cannot
 * inline any of them, which costs these cheap exits several nanoseconds each.
 */
export function callHandler(vm: ExitContext, reason: number): void {
  if (reason === EXIT_IO) return handleIo(vm);
  if (reason === EXIT_CPUID) return handleCpuid(vm);
  const handler = exitHandlers[reason];
  if (handler !== undefined) handler(vm);
  else handleUnhandledExit(vm, reason);
}
