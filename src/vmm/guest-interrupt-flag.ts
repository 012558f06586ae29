// The interrupt flag as the guest believes it to be, which decides when the VMM may inject an
// external interrupt. Under `vt` and `trap` that is EFLAGS.IF itself: the guest owns it (vt) or the
// core's emulate() keeps it exactly (trap). Under `classic` (pre-VT deprivileging) the guest kernel
// cannot touch the real IF: CLI and STI fault to the VMM, which keeps a *virtual* IF here, while
// the real IF stays 1 so that interrupts keep reaching the VMM. POPF and IRET change neither, which
// is the flaw classic mode exists to show: a guest that re-enables interrupts with POPF, or returns
// from an interrupt handler with IRET, leaves the virtual IF clear and its interrupts wait.
// A saved machine keeps the virtual IF (saveState); the real one is in the VMCS.

import { G_EFLAGS, G_IDTR_BASE, G_IDTR_LIMIT } from "../../assembly/vmcs-layout.js";
import { EFLAGS_IF, type Vmcs } from "../core/vmcs.js";
import { readLinear, type GuestMemory } from "./guest-memory.js";

/** IDT gate types (descriptor bits 40-43) whose delivery clears IF: 16- and 32-bit interrupt gates. */
const INTERRUPT_GATE_TYPES = new Set([0x6, 0xe]);

export class GuestInterruptFlag {
  private virtualIf = false;

  constructor(
    private readonly vm: GuestMemory & { readonly vmcs: Vmcs },
    /** True under `classic`: the VMM keeps the IF the guest sees. */
    readonly virtual: boolean,
  ) {}

  saveState(): { virtualIf: boolean } {
    return { virtualIf: this.virtualIf };
  }

  restoreState(state: { virtualIf: boolean }): void {
    this.virtualIf = state.virtualIf;
  }

  /** IF as the guest believes it is. */
  enabled(): boolean {
    return this.virtual ? this.virtualIf : (this.vm.vmcs.get(G_EFLAGS) & EFLAGS_IF) !== 0;
  }

  /**
   * The VMM emulated CLI (false) or STI (true) that faulted. Classic mode: the real IF is set again,
   * since an interrupt gate the core delivered through may have cleared it and IRET could not
   * restore it. Under bt (user code's CLI and STI) the guest's IF is EFLAGS.IF, which translated
   * kernel code keeps as the virtual IF.
   */
  setVirtual(enabled: boolean): void {
    if (!this.virtual) {
      const { vmcs } = this.vm;
      vmcs.set(G_EFLAGS, enabled ? vmcs.get(G_EFLAGS) | EFLAGS_IF : vmcs.get(G_EFLAGS) & ~EFLAGS_IF);
      return;
    }
    this.virtualIf = enabled;
    if (enabled) this.keepRealIfSet();
  }

  /**
   * Whether an interrupt-window exit can tell the VMM when the guest enables interrupts. Under vt and
   * trap the core exits once EFLAGS.IF = 1 and no shadow blocks; under classic the real IF is
   * always 1, so a window is only worth opening while the virtual IF is set (the real IF is made 1
   * for it) and otherwise the VMM hears of the guest's STI through its #GP.
   */
  windowCanOpen(): boolean {
    if (!this.virtual) return true;
    if (this.virtualIf) this.keepRealIfSet();
    return this.virtualIf;
  }

  /** The VMM injected an external interrupt: in classic mode an interrupt gate clears the virtual IF. */
  injected(vector: number): void {
    if (this.virtual && this.gateClearsIf(vector)) this.virtualIf = false;
  }

  /** At boot (classic): the virtual IF starts as the guest's IF, the real one at 1. */
  reset(): void {
    if (!this.virtual) return;
    this.virtualIf = (this.vm.vmcs.get(G_EFLAGS) & EFLAGS_IF) !== 0;
    this.keepRealIfSet();
  }

  private keepRealIfSet(): void {
    const { vmcs } = this.vm;
    vmcs.set(G_EFLAGS, vmcs.get(G_EFLAGS) | EFLAGS_IF);
  }

  private gateClearsIf(vector: number): boolean {
    const { vmcs } = this.vm;
    if (vector * 8 + 7 > vmcs.get(G_IDTR_LIMIT)) return false;
    const high = readLinear(this.vm, (vmcs.get(G_IDTR_BASE) + vector * 8 + 4) >>> 0, 4);
    return high !== undefined && INTERRUPT_GATE_TYPES.has((high >>> 8) & 0xf);
  }
}
