// External interrupts from the VMM to the guest, as a VT-x hypervisor delivers them (SDM 26.6 and
// 25.2): an interrupt is injected through the VM-entry interruption-information field when the
// guest can take it (IF set as the guest believes it, no STI or MOV SS shadow, no other event
// already being injected); otherwise it waits, and "interrupt-window exiting" makes the core exit
// (reason 7) as soon as the guest becomes interruptible, when the VMM injects it. Vectors the VMM
// raised itself wait in arrival order; those of the devices come from the interrupt controller
// (the PIC pair), which is asked for its vector only when the guest can take it, as the CPU's
// INTA cycle would, so priorities and masks are the controller's business. A vector raised again
// while it waits is one interrupt, as a bit in a local APIC's request register is: at most 256 wait.
// A saved machine keeps
// the vectors still waiting (saveState); an injection already under way is in the VMCS.

import { LS_SVM_GIF_CLEAR } from "../../assembly/level-switch-layout.js";
import { type LevelWords, wordsWithoutCore } from "./nested/core-level-switch.js";
import {
  C_PRIMARY,
  CTL_INTERRUPT_WINDOW,
  E_INTR_INFO,
  G_INTERRUPTIBILITY,
  INTERRUPTIBILITY_MOV_SS,
  INTERRUPTIBILITY_STI,
  INTR_TYPE_EXTERNAL,
  INTR_VALID,
} from "../../assembly/vmcs-layout.js";
import type { Vmcs } from "../core/vmcs.js";
import { StatePath } from "../devices/saved-values.js";
import type { GuestInterruptFlag } from "./guest-interrupt-flag.js";
import { eventPending } from "./inject.js";

/** The CPU side of an interrupt controller: its INTR output and its INTA cycle. */
export interface InterruptController {
  readonly interruptRequested: boolean;
  /** Returns the vector of the interrupt the CPU takes now. */
  acknowledge(): number;
}

/** A guest hypervisor's asks about interrupts, while its guest runs (false while it runs itself). */
export interface OuterLevel {
  /** External-interrupt exiting: every interrupt is the hypervisor's. */
  holdsInterrupts(): boolean;
  /** Interrupt-window exiting: its control stays on. */
  keepsWindowExiting(): boolean;
  /**
   * SVM: what masks an interrupt held for the hypervisor now (APM 15.21.1): "host" (V_INTR_MASKING
   * and the host's IF clear at VMRUN: nothing L2 does unmasks it), "guest" (L2's IF or interrupt
   * shadow: L2's interrupt window unmasks it), undefined when nothing does. Without it (VMX's
   * external-interrupt exiting), nothing masks a held interrupt.
   */
  heldMask?(): "host" | "guest" | undefined;
  /**
   * SVM's V_INTR_MASKING (APM 15.21.1): the interrupt flag that masks the VMM's interrupts while the
   * nested guest runs is the hypervisor's at VMRUN, not the guest's. Undefined where the guest's IF
   * masks them (no V_INTR_MASKING, no nested guest, or VMX).
   */
  hostInterruptFlag?(): boolean | undefined;
}

export class InterruptInjector {
  private readonly waiting: number[] = [];
  /** The devices' interrupt controller, if the VM has one. */
  controller: InterruptController | undefined;

  constructor(
    private readonly vmcs: Vmcs,
    readonly flag: GuestInterruptFlag,
    /** The core's level-switch area, where the global interrupt flag is. */
    private readonly level: LevelWords = wordsWithoutCore(),
  ) {}

  saveState(): { waiting: number[] } {
    return { waiting: [...this.waiting] };
  }

  /** The vectors, in order, each once. */
  restoreState(state: { waiting: number[] }, at = new StatePath("injector")): void {
    const seen = new Set<number>();
    at.list("waiting", state.waiting, 256, (list, vector, i) => {
      list.integer(i, vector, 0, 255);
      list.unique(i, vector, seen, `vector ${vector}`);
    });
    this.waiting.length = 0;
    for (const vector of state.waiting) this.waiting.push(vector);
  }

  /** What a nested guest's hypervisor asked of interrupts while the nested guest runs (nested/nested-run.ts), if one can. */
  outerLevel: OuterLevel | undefined;

  /**
   * A nested guest (L2) runs and its hypervisor (L1) asked for external-interrupt exiting: the
   * interrupts are L1's, and arrive as exits to it (nested/nested-run.ts), not injected into L2.
   */
  get heldForOuterLevel(): boolean {
    return this.outerLevel?.holdsInterrupts() === true;
  }

  /** An interrupt held for the outer level may be taken now: it is that level's exit (nested/nested-run.ts heldInterruptDue). */
  get heldTakenNow(): boolean {
    return this.heldForOuterLevel && this.outerLevel!.heldMask?.() === undefined;
  }

  /** A nested guest's hypervisor asked for interrupt-window exiting: the control stays on whatever the injector needs. */
  private get windowExitingKept(): boolean {
    return this.outerLevel?.keepsWindowExiting() === true;
  }

  /**
   * SVM's global interrupt flag (APM Vol. 2 15.17), cleared by CLGI and #VMEXIT, set by STGI and
   * VMRUN (src/vmm/svm/): while it is clear no interrupt is taken, whatever IF says, and they wait.
   * Always set without SVM. It lives in the core's level-switch area, whose STGI and CLGI may set
   * and clear it with no exit (assembly/vm/level-switch.ts globalInterruptFlagInCore).
   */
  get globalInterruptFlag(): boolean {
    return this.level()[LS_SVM_GIF_CLEAR >> 2] === 0;
  }

  set globalInterruptFlag(set: boolean) {
    this.level()[LS_SVM_GIF_CLEAR >> 2] = set ? 0 : 1;
  }

  /** Whether an interrupt would end a HLT now: the guest's IF, or any interrupt while held for an outer level. */
  wakesFromHalt(): boolean {
    return this.globalInterruptFlag && (this.heldForOuterLevel ? this.heldTakenNow : this.maskingFlag());
  }

  /** Interrupts requested and not yet injected (the controller's INTR counts as one). */
  get pending(): number {
    return this.waiting.length + (this.controller?.interruptRequested ? 1 : 0);
  }

  /** An external interrupt for the guest: injected at the next VM entry if possible, else at the next window. */
  request(vector: number): void {
    if (!Number.isInteger(vector) || vector < 0 || vector > 255) throw new RangeError(`interrupt vector must be 0-255, not ${vector}`);
    if (!this.waiting.includes(vector)) this.waiting.push(vector);
    this.deliver();
  }

  /**
   * Injects the oldest waiting interrupt if the guest is interruptible now, and keeps
   * interrupt-window exiting on while more wait. Called wherever interruptibility may have
   * changed under the VMM's eyes: window exits, HLT, emulated CLI/STI/POPF/IRET.
   */
  deliver(): void {
    if (this.heldForOuterLevel) return this.watchHeld();
    if (!this.globalInterruptFlag) return this.setWindowExiting(false);
    if (this.wanted() && this.maskingFlag() && this.unblocked()) {
      const vector = this.waiting.length > 0 ? this.waiting.shift()! : this.controller!.acknowledge();
      this.vmcs.set(E_INTR_INFO, INTR_VALID | INTR_TYPE_EXTERNAL | vector);
      this.flag.injected(vector);
    }
    // (masked by the hypervisor's IF, an interrupt waits for the #VMEXIT: nothing the guest does unmasks it)
    this.setWindowExiting(this.wanted() && this.outerLevel?.hostInterruptFlag?.() !== false && this.flag.windowCanOpen());
  }

  /** Held interrupts masked by the nested guest's IF wait for its interrupt window (the exit after which they are taken). */
  private watchHeld(): void {
    const mask = this.outerLevel!.heldMask;
    if (mask !== undefined) this.setWindowExiting(this.globalInterruptFlag && this.wanted() && mask() === "guest");
  }

  /** Whether an interrupt waits for the guest: one the VMM raised, or the controller's INTR. */
  private wanted(): boolean {
    return this.waiting.length > 0 || this.controller?.interruptRequested === true;
  }

  /** SDM 26.3.1.5 / 25.2: IF set, no blocking by STI or MOV SS, and no event already queued. */
  interruptible(): boolean {
    return this.flag.enabled() && this.unblocked();
  }

  /** No blocking by STI or MOV SS (a shadow blocks interrupts whichever flag masks them, as Bochs' interrupts_inhibited), and no event already queued. */
  private unblocked(): boolean {
    const blocked = (this.vmcs.get(G_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) !== 0;
    return !blocked && !eventPending(this.vmcs);
  }

  /**
   * The interrupt flag that masks the VMM's interrupts for the guest that runs: its own, or under
   * SVM's V_INTR_MASKING its hypervisor's at VMRUN (APM 15.21.1), the interrupt then going through
   * the guest's IDT whatever the guest's IF.
   */
  private maskingFlag(): boolean {
    return this.outerLevel?.hostInterruptFlag?.() ?? this.flag.enabled();
  }

  private setWindowExiting(on: boolean): void {
    if (this.windowExitingKept) return;
    const controls = this.vmcs.get(C_PRIMARY);
    this.vmcs.set(C_PRIMARY, on ? controls | CTL_INTERRUPT_WINDOW : controls & ~CTL_INTERRUPT_WINDOW);
  }
}
