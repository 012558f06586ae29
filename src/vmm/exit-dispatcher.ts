// The exit path behind the run loop: every exit the core reports, and every exit a handler runs
// into while completing one (the emulated instruction's own exit, emulate.ts), goes through
// dispatch(): counted and timed (exit-stats.ts, exit-timer.ts, handler-timer.ts), shown to onExit subscribers, offered
// to the pre-dispatch stages, and then handled by its reason's handler (exits/table.ts).
// The stages are the seam for a second level: once a guest hypervisor (L1) runs a guest of its own
// (L2), a stage decides which of L2's exits L1 asked for and reflects those to it, as KVM's
// nested_vmx_reflect_vmexit does before kvm_vmx_exit_handlers[]; an exit no stage claims is L0's.
// Until then the VM installs none, and the table handles every exit. An exit costs no allocation:
// the event subscribers see is built only when there are any.

import { exitEvent, type ExitEvent } from "./exit-event.js";
import type { ExitTimer } from "./exit-timer.js";
import type { HandlerTimer } from "./handler-timer.js";
import type { ExitContext } from "./exits/exit-context.js";
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
    private readonly stages: readonly ExitStage[] = [],
    private readonly handlerTimer: HandlerTimer | undefined = undefined,
  ) {}

  /** Calls `listener` at every exit, before any stage or handler; returns the unsubscribe function. */
  onExit(listener: ExitListener): () => void {
    return subscribe(this.listeners, listener);
  }

  /** Counts, times and reports one exit, then lets the first stage that claims it, or its handler, handle it. */
  dispatch(reason: number): void {
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
    const handler = exitHandlers[reason];
    if (handler !== undefined) handler(vm);
    else handleUnhandledExit(vm, reason);
  }
}
