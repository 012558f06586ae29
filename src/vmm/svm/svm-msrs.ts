// The MSRs the AMD personality adds (`--cpu amd`; APM Vol. 2, 15.30 and 3.1.7), read and written
// through the RDMSR/WRMSR exits (exits/msr.ts), which give #GP(0) where these return undefined/false:
//  - EFER (C000_0080h), in the VMCS (G_EFER): only SVME (bit 12) exists, since this CPU has no
//    SYSCALL, long mode, NX or FFXSR; setting any other bit, or SVME while VM_CR.SVMDIS is set,
//    is #GP(0);
//  - VM_CR (C001_0114h): DPD, R_INIT and DIS_A20M (bits 0-2) are kept as written (nothing here acts on
//    them); LOCK (3) and SVMDIS (4) are written only while LOCK is clear, and silently kept once
//    it is set; setting SVMDIS while EFER.SVME is 1 is #GP(0), lock or not; bits 63:5 are reserved;
//  - VM_HSAVE_PA (C001_0117h): the host save area's physical address; writing one whose low 12
//    bits are not zero, or at or above 2^32 (the physical address size 0x80000008 reports), is #GP(0).
// Until the SVM instructions are emulated the machine comes up as a PC whose firmware disabled SVM:
// VM_CR = LOCK | SVMDIS, so EFER.SVME cannot be set and every SVM instruction is #UD, as the APM
// says for SVME clear. CPUID still reports SVM, as the APM says it does in that case.

import { EFER_SVME, G_EFER } from "../../../assembly/vmcs-layout.js";
import type { Vmcs } from "../../core/vmcs.js";
import type { StatePath } from "../../devices/saved-values.js";
import type { MsrValue } from "../nested/vmx-capabilities.js";
import { LS_SVM_HSAVE_PA } from "../../../assembly/level-switch-layout.js";
import { type LevelWords, wordsWithoutCore } from "../nested/core-level-switch.js";

export const MSR_EFER = 0xc0000080;
export const MSR_VM_CR = 0xc0010114;
export const MSR_VM_HSAVE_PA = 0xc0010117;

export { EFER_SVME };

export const VM_CR_DPD = 1 << 0;
export const VM_CR_R_INIT = 1 << 1;
export const VM_CR_DIS_A20M = 1 << 2;
export const VM_CR_LOCK = 1 << 3;
export const VM_CR_SVMDIS = 1 << 4;
const VM_CR_BITS = VM_CR_DPD | VM_CR_R_INIT | VM_CR_DIS_A20M | VM_CR_LOCK | VM_CR_SVMDIS;
/** What the firmware leaves in VM_CR: SVM disabled and locked (the SVM instructions are not emulated yet). */
export const VM_CR_AT_RESET = VM_CR_LOCK | VM_CR_SVMDIS;

const PAGE_OFFSET_MASK = 0xfff;

/** What L0 keeps of the AMD MSRs outside the VMCS; saved with the machine (saved-state.ts). */
export interface SvmMsrState {
  vmCr: number;
  hsavePa: number;
}

export class SvmMsrs implements SvmMsrState {
  vmCr = VM_CR_AT_RESET;

  /** VM_HSAVE_PA lives in the core's level-switch area, where the core's VMRUN finds it. */
  constructor(private readonly level: LevelWords = wordsWithoutCore()) {}

  get hsavePa(): number {
    return this.level()[LS_SVM_HSAVE_PA >> 2];
  }

  set hsavePa(address: number) {
    this.level()[LS_SVM_HSAVE_PA >> 2] = address;
  }

  /** RDMSR of one of these MSRs as [EAX, EDX]; undefined for any other MSR. */
  read(vmcs: Vmcs, msr: number): MsrValue | undefined {
    switch (msr) {
      case MSR_EFER:
        return [vmcs.get(G_EFER), 0];
      case MSR_VM_CR:
        return [this.vmCr, 0];
      case MSR_VM_HSAVE_PA:
        return [this.hsavePa, 0];
      default:
        return undefined;
    }
  }

  /** True if `msr` is one of these. */
  has(msr: number): boolean {
    return msr === MSR_EFER || msr === MSR_VM_CR || msr === MSR_VM_HSAVE_PA;
  }

  /** WRMSR of EDX:EAX = high:low to one of these MSRs; false when it raises #GP(0). */
  write(vmcs: Vmcs, msr: number, low: number, high: number): boolean {
    if (high !== 0) return false; // reserved bits of EFER and VM_CR; an address past 32 bits
    const efer = vmcs.get(G_EFER);
    switch (msr) {
      case MSR_EFER:
        if ((low & ~EFER_SVME) !== 0) return false;
        if ((low & EFER_SVME) !== 0 && (this.vmCr & VM_CR_SVMDIS) !== 0) return false;
        vmcs.set(G_EFER, low);
        return true;
      case MSR_VM_CR: {
        if ((low & ~VM_CR_BITS) !== 0) return false;
        if ((low & VM_CR_SVMDIS) !== 0 && (this.vmCr & VM_CR_SVMDIS) === 0 && (efer & EFER_SVME) !== 0) return false;
        const kept = this.vmCr & VM_CR_LOCK ? VM_CR_LOCK | VM_CR_SVMDIS : 0;
        this.vmCr = ((this.vmCr & kept) | (low & ~kept)) >>> 0;
        return true;
      }
      case MSR_VM_HSAVE_PA:
        if ((low & PAGE_OFFSET_MASK) !== 0) return false;
        this.hsavePa = low >>> 0;
        return true;
      default:
        return false;
    }
  }

  saveState(): SvmMsrState {
    return { vmCr: this.vmCr, hsavePa: this.hsavePa };
  }

  /**
   * Values come back only as WRMSR could have left them, EFER (in the restored VMCS) included;
   * without the AMD personality EFER does not exist and must be 0.
   */
  restoreState(state: SvmMsrState, vmcs: Vmcs, amd: boolean, at: StatePath): void {
    at.integer("vmCr", state.vmCr, 0, VM_CR_BITS);
    if ((state.vmCr & ~VM_CR_BITS) !== 0) at.refuse("vmCr", "has bits VM_CR does not have");
    at.integer("hsavePa", state.hsavePa, 0, 0xffffffff);
    if (state.hsavePa % 0x1000 !== 0) at.refuse("hsavePa", "is not page-aligned");
    const efer = vmcs.get(G_EFER);
    if ((efer & ~(amd ? EFER_SVME : 0)) !== 0 || ((efer & EFER_SVME) !== 0 && (state.vmCr & VM_CR_SVMDIS) !== 0)) {
      at.refuse("vmCr", `cannot go with EFER ${efer.toString(16)}h (in the CPU section)`);
    }
    this.vmCr = state.vmCr;
    this.hsavePa = state.hsavePa;
  }
}
