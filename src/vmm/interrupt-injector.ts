// External interrupts from the VMM to the guest, as a VT-x hypervisor delivers them (SDM 26.6 and
// 25.2): an interrupt is injected through the VM-entry interruption-information field when the
// guest can take it (IF set as the guest believes it, no STI or MOV SS shadow, no other event
// already being injected); otherwise it waits, and "interrupt-window exiting" makes the core exit
// (reason 7) as soon as the guest becomes interruptible, when the VMM injects it. Vectors wait in
// arrival order; priorities are the interrupt controller's business (the PIC, a later issue).

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
import type { GuestInterruptFlag } from "./guest-interrupt-flag.js";
import { eventPending } from "./inject.js";

export class InterruptInjector {
  private readonly waiting: number[] = [];

  constructor(
    private readonly vmcs: Vmcs,
    readonly flag: GuestInterruptFlag,
  ) {}

  /** Interrupts requested and not yet injected. */
  get pending(): number {
    return this.waiting.length;
  }

  /** An external interrupt for the guest: injected at the next VM entry if possible, else at the next window. */
  request(vector: number): void {
    if (!Number.isInteger(vector) || vector < 0 || vector > 255) throw new RangeError(`interrupt vector must be 0-255, not ${vector}`);
    this.waiting.push(vector);
    this.deliver();
  }

  /**
   * Injects the oldest waiting interrupt if the guest is interruptible now, and keeps
   * interrupt-window exiting on while more wait. Called wherever interruptibility may have
   * changed under the VMM's eyes: window exits, HLT, emulated CLI/STI/POPF/IRET.
   */
  deliver(): void {
    if (this.waiting.length > 0 && this.interruptible()) {
      const vector = this.waiting.shift()!;
      this.vmcs.set(E_INTR_INFO, INTR_VALID | INTR_TYPE_EXTERNAL | vector);
      this.flag.injected(vector);
    }
    this.setWindowExiting(this.waiting.length > 0 && this.flag.windowCanOpen());
  }

  /** SDM 26.3.1.5 / 25.2: IF set, no blocking by STI or MOV SS, and no event already queued. */
  interruptible(): boolean {
    const blocked = (this.vmcs.get(G_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) !== 0;
    return this.flag.enabled() && !blocked && !eventPending(this.vmcs);
  }

  private setWindowExiting(on: boolean): void {
    const controls = this.vmcs.get(C_PRIMARY);
    this.vmcs.set(C_PRIMARY, on ? controls | CTL_INTERRUPT_WINDOW : controls & ~CTL_INTERRUPT_WINDOW);
  }
}
