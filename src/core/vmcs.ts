// The VMM's side of the VMCS: named accessors over an Int32Array that views the VMCS region of
// the core's linear memory in place (no copies, no marshalling: an exit handler reads a field
// with one typed-array load). Field offsets come from assembly/vmcs-layout.ts, shared with the core.

import {
  G_EIP,
  G_INSTRET_HI,
  G_INSTRET_LO,
  G_INTERRUPTIBILITY,
  G_REGS,
  G_SEG,
  INTERRUPTIBILITY_MOV_SS,
  INTERRUPTIBILITY_STI,
  SEG_AR,
  SEG_BASE,
  SEG_LIMIT,
  SEG_SEL,
  SEG_STRIDE,
  SR_CS,
  X_INSTRUCTION_LENGTH,
} from "../../assembly/vmcs-layout.js";

/** General registers in x86 encoding order, as the VMCS stores them. */
export const enum Reg {
  EAX = 0,
  ECX = 1,
  EDX = 2,
  EBX = 3,
  ESP = 4,
  EBP = 5,
  ESI = 6,
  EDI = 7,
}

export const EFLAGS_DF = 1 << 10;
export const EFLAGS_IF = 1 << 9;
/** Access-rights bit D/B: 32-bit default operand size for a code segment. */
const AR_DB = 1 << 14;

export interface Segment {
  selector: number;
  base: number;
  limit: number;
  /** Access rights in the VMCS format (type, S, DPL, P, AVL, D/B, G, unusable). */
  ar: number;
}

export class Vmcs {
  /** Replaced by CoreViews.refresh() when memory growth detaches the old buffer. */
  i32: Int32Array;

  constructor(i32: Int32Array) {
    this.i32 = i32;
  }

  /** A 32-bit field by its byte offset in the layout, as an unsigned number. */
  get(offset: number): number {
    return this.i32[offset >> 2] >>> 0;
  }

  set(offset: number, value: number): void {
    this.i32[offset >> 2] = value;
  }

  reg(reg: Reg): number {
    return this.i32[(G_REGS >> 2) + reg] >>> 0;
  }

  setReg(reg: Reg, value: number): void {
    this.i32[(G_REGS >> 2) + reg] = value;
  }

  /** A 64-bit result in EDX:EAX, as RDTSC and RDMSR return one (exact up to 2^53). */
  setEdxEax(value: number): void {
    this.setReg(Reg.EAX, value % 0x1_0000_0000);
    this.setReg(Reg.EDX, Math.floor(value / 0x1_0000_0000));
  }

  segment(sreg: number): Segment {
    const at = (G_SEG + sreg * SEG_STRIDE) >> 2;
    return {
      selector: this.i32[at + (SEG_SEL >> 2)] & 0xffff,
      base: this.i32[at + (SEG_BASE >> 2)] >>> 0,
      limit: this.i32[at + (SEG_LIMIT >> 2)] >>> 0,
      ar: this.i32[at + (SEG_AR >> 2)] >>> 0,
    };
  }

  setSegment(sreg: number, segment: Segment): void {
    const at = (G_SEG + sreg * SEG_STRIDE) >> 2;
    this.i32[at + (SEG_SEL >> 2)] = segment.selector;
    this.i32[at + (SEG_BASE >> 2)] = segment.base;
    this.i32[at + (SEG_LIMIT >> 2)] = segment.limit;
    this.i32[at + (SEG_AR >> 2)] = segment.ar;
  }

  /** Total retired guest instructions (the 64-bit G_INSTRET pair, exact up to 2^53). */
  instructionsRetired(): number {
    return (this.i32[G_INSTRET_LO >> 2] >>> 0) + (this.i32[G_INSTRET_HI >> 2] >>> 0) * 0x1_0000_0000;
  }

  /**
   * Completes an instruction the VMM emulated: EIP moves past it (wrapping at 64 KiB in a 16-bit
   * code segment) and the one-instruction interrupt shadow of STI / MOV SS ends, as KVM's
   * skip_emulated_instruction does.
   */
  skipInstruction(): void {
    this.advanceEip(this.get(X_INSTRUCTION_LENGTH));
  }

  /** skipInstruction for an instruction of `length` bytes the VMM decoded itself. */
  advanceEip(length: number): void {
    const codeIs32 = (this.i32[(G_SEG + SR_CS * SEG_STRIDE + SEG_AR) >> 2] & AR_DB) !== 0;
    const eip = this.get(G_EIP) + length;
    this.set(G_EIP, codeIs32 ? eip : eip & 0xffff);
    this.set(G_INTERRUPTIBILITY, this.get(G_INTERRUPTIBILITY) & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
  }
}
