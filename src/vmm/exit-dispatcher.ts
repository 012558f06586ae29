// The exit path behind the run loop: every exit the core reports, and every exit a handler runs
// into while completing one (the emulated instruction's own exit, emulate.ts), goes through
// dispatch(): counted and timed (exit-stats.ts, exit-timer.ts, handler-timer.ts), shown to onExit subscribers, offered
// to the pre-dispatch stages, and then handled by its reason's handler (exits/table.ts).
// A second level hooks in as a level stage: while a guest hypervisor (L1) runs a guest of its
// own (L2), the stage (setLevelStage, nested/nested-run.ts) says which of L2's exits L1 asked for
// and reflects those to it, as KVM's nested_vmx_reflect_vmexit does before
// kvm_vmx_exit_handlers[]; the exits it does not reflect are L0's, handled by the table. Its
// answer is known before the exit is counted, timed and shown, so each of these tells the levels
// apart (exit-level.ts). An exit costs no allocation:
// the event subscribers see is built only when there are any. While nothing times, watches or
// stages exits, the dispatcher lets the core complete the exits whose handling is pure data
// itself (exits-in-core.ts: CPUID, IN/OUT to latched ports), counted all the same; as soon as
// anything does, every exit comes here again.

import { exitEvent, type ExitEvent } from "./exit-event.js";
import { EXIT_HELD_INTERRUPT, EXIT_OF_L1, EXIT_OF_L2, EXIT_REFLECTED, exitNesting, type ExitKind } from "./exit-level.js";
import type { ExitTimer } from "./exit-timer.js";
import type { HandlerTimer } from "./handler-timer.js";
import type { ExitContext } from "./exits/exit-context.js";
import type { ExitsInCore } from "./exits-in-core.js";
import { EXIT_CPUID, EXIT_IO } from "../../assembly/vmcs-layout.js";
import { handleCpuid } from "./exits/cpuid.js";
import { handleIo } from "./exits/io.js";
import { requeueVectoredEvent } from "./inject.js";
import { exitHandlers, exitReasonCode, exitReasonName, handleUnhandledExit } from "./exits/table.js";
import { subscribe } from "./subscribe.js";

export type ExitListener = (exit: ExitEvent) => void;

/**
 * A pre-dispatch stage: true claims the exit, which it has then dealt with, and keeps it from the
 * stages after it and from the handler table; false lets it through. Stages run in order.
 */
export type ExitStage = (vm: ExitContext, reason: number) => boolean;

/** What sorts and handles a nested guest's (L2's) exits while it runs, after the other stages. */
export interface LevelStage {
  /** Whether the nested guest (L2) runs now (vm.vmx.l2 or vm.svm.l2): only then does the stage see exits. */
  runs(vm: ExitContext): boolean;
  /** Whether L1 asked for this exit of L2's, so that it is reflected into L1; asked before the exit is counted. */
  reflects(vm: ExitContext, reason: number): boolean;
  /** Deals with the exit: reflects it into L1 (`reflected`), or has L0 handle it and L2 resume. */
  handle(vm: ExitContext, reason: number, reflected: boolean): void;
  /**
   * When L1 sees its own codes rather than the core's reasons (SVM's #VMEXIT codes): the code of
   * an exit it asked for, which counts, times and names the exit at the reflected level, and a
   * code's name and number as L1's manual writes them. Without them a reflected exit is L1's
   * under the core's reason (VMX).
   */
  reflectedCode?(vm: ExitContext, reason: number): number;
  codeName?(code: number): string;
  codeNumber?(code: number): string;
}

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
    /** Whether nesting is offered (`--nested vmx`): then each exit event says its level. */
    private readonly nested = false,
  ) {
    this.stages = [...stages];
    this.plain = timer === undefined && handlerTimer === undefined && stages.length === 0;
    this.allowExitsInCore();
  }

  private readonly stages: ExitStage[];
  private levelStage: LevelStage | undefined;
  /** No exit timer, handler timer or stage: what dispatch() may skip unless there are listeners or L2 runs. */
  private readonly plain: boolean;

  /**
   * Puts `stage` after the stages the dispatcher was made with: the stage of a nested guest
   * (nested/nested-run.ts, svm/svm-run.ts), which sees the exits made while one runs. Meanwhile the core
   * completes none of them for L0 itself (it may reflect L2's CPUID into L1: that is the stage's
   * part, done as the stage would, and counted as reflected).
   */
  setLevelStage(stage: LevelStage | undefined): void {
    this.levelStage = stage;
    this.vm.stats.nameReflected(stage?.codeName ?? exitReasonName, stage?.codeNumber ?? exitReasonCode);
  }

  /** The level stage, while L2 runs. */
  private activeLevelStage(): LevelStage | undefined {
    const stage = this.levelStage;
    return stage !== undefined && stage.runs(this.vm) ? stage : undefined;
  }

  /**
   * An interrupt for L1, held while L2 ran, that L0 reflects into L1 as exit `reason` after the exit
   * of L2's it handled (nested/nested-run.ts): no exit of the core's, but one L1 sees, so it is
   * counted, timed and shown as reflected. Call it before reflecting, while L2's state is in place.
   */
  reflectHeldInterrupt(reason: number): void {
    this.account(reason, EXIT_HELD_INTERRUPT, reason);
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
    const level = this.activeLevelStage();
    if (this.plain && this.listeners.length === 0 && level === undefined) {
      this.vm.stats.record(reason);
      callHandler(this.vm, reason);
      return;
    }
    const kind: ExitKind = level === undefined ? EXIT_OF_L1 : level.reflects(this.vm, reason) ? EXIT_REFLECTED : EXIT_OF_L2;
    // What the exit is at its level: the code L1 sees for one reflected under SVM, else the reason.
    const atLevel = kind === EXIT_REFLECTED && level?.reflectedCode !== undefined ? level.reflectedCode(this.vm, reason) : reason;
    const timer = this.handlerTimer;
    if (timer === undefined) return this.handle(reason, kind, level, atLevel);
    timer.begin(reason, kind, atLevel);
    try {
      this.handle(reason, kind, level, atLevel);
    } finally {
      timer.end();
    }
  }

  private handle(reason: number, kind: ExitKind, level: LevelStage | undefined, atLevel: number): void {
    const { vm, stages } = this;
    this.account(reason, kind, atLevel);
    for (let i = 0; i < stages.length; i++) if (stages[i](vm, reason)) return;
    if (level !== undefined) level.handle(vm, reason, kind === EXIT_REFLECTED);
    else callHandler(vm, reason);
  }

  /** Counts, times and shows an exit of `kind`; `atLevel` is what it is at its level (the reason, or the code L1 sees). */
  private account(reason: number, kind: ExitKind, atLevel: number): void {
    const { vm } = this;
    vm.stats.record(reason, kind, atLevel);
    this.timer?.exit(reason, kind, atLevel);
    if (this.listeners.length > 0) {
      const event = exitEvent(reason, vm.vmcs, this.nested ? exitNesting(kind) : undefined);
      const codeName = this.levelStage?.codeName;
      if (kind >= EXIT_REFLECTED && codeName !== undefined) event.name = codeName(atLevel);
      // The exit information in the VMCS is the exit's L0 handled before it.
      if (kind === EXIT_HELD_INTERRUPT) Object.assign(event, { qualification: 0, detail: "for L1, held while L2 ran" });
      for (const listener of this.listeners) listener(event);
    }
  }
}

/**
 * The handler of `reason` (exits/table.ts) on `vm`, the exit the VMM handles itself (L1's, or L2's
 * not reflected). The two reasons a guest makes by the million, I/O and CPUID, are called
 * directly: a call through the table sees every handler and V8 cannot inline any of them, which
 * costs these cheap exits several nanoseconds each. Neither can happen while an event is
 * delivered; an exit that did is given its event back first (inject.ts requeueVectoredEvent).
 */
export function callHandler(vm: ExitContext, reason: number): void {
  if (reason === EXIT_IO) return handleIo(vm);
  if (reason === EXIT_CPUID) return handleCpuid(vm);
  requeueVectoredEvent(vm.vmcs);
  const handler = exitHandlers[reason];
  if (handler !== undefined) handler(vm);
  else handleUnhandledExit(vm, reason);
}
