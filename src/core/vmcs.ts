// The VMM's side of the VMCS: named accessors over an Int32Array that views the VMCS region of
// the core's linear memory in place (no copies, no marshalling: an exit handler reads a field
// with one typed-array load). Field offsets come from assembly/vmcs-layout.ts, shared with the core.
// Every write clears the clean-fields bit of the field's group (C_CLEAN_FIELDS), so the next VM
// entry reloads what the core derived from it; whoever writes the VMCS by other means must too.

import {
  CLEAN_CONTROL_REGS,
  CLEAN_CONTROLS,
  CLEAN_ENTRY_STATE,
  CLEAN_SEGMENTS,
  C_CLEAN_FIELDS,
  C_IF_MODE,
  C_PRIMARY,
  C_JIT,
  C_WRITE_TRAP_BASE,
  C_WRITE_TRAP_SIZE,
  C_DEVICE_MEMORY_BASE,
  C_DEVICE_MEMORY_SIZE,
  STAT_COMPILED_INSTRUCTIONS_LO,
  G_CR0,
  G_CR3,
  G_CR4,
  G_ACTIVITY,
  G_EFLAGS,
  G_EIP,
  G_INSTRET_LO,
  G_INTERRUPTIBILITY,
  E_INTR_INFO,
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
  SR_TR,
  VMCS_SIZE,
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

/** The clean-fields group of each 32-bit VMCS field (by offset / 4), 0 for fields in none. */
const CLEAN_GROUP = (() => {
  const groups = new Uint8Array(VMCS_SIZE >> 2);
  const mark = (from: number, to: number, group: number) => groups.fill(group, from >> 2, (to >> 2) + 1);
  mark(G_SEG, G_SEG + SR_TR * SEG_STRIDE + SEG_AR, CLEAN_SEGMENTS);
  for (const cr of [G_CR0, G_CR3, G_CR4]) mark(cr, cr, CLEAN_CONTROL_REGS);
  for (const control of [C_IF_MODE, C_JIT, C_WRITE_TRAP_BASE, C_WRITE_TRAP_SIZE, C_DEVICE_MEMORY_BASE, C_DEVICE_MEMORY_SIZE]) mark(control, control, CLEAN_CONTROLS);
  for (const field of [G_EFLAGS, G_ACTIVITY, G_INTERRUPTIBILITY, E_INTR_INFO, C_PRIMARY]) mark(field, field, CLEAN_ENTRY_STATE);
  return groups;
})();

/** The clean-fields bit a write to the field at `offset` must clear (0: none). */
export function cleanGroupOf(offset: number): number {
  return CLEAN_GROUP[offset >> 2] ?? 0;
}

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
    const group = CLEAN_GROUP[offset >> 2];
    if (group !== 0) this.i32[C_CLEAN_FIELDS >> 2] &= ~group;
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
    this.setSegmentFields(sreg, segment.selector, segment.base, segment.limit, segment.ar);
  }

  /** setSegment() without a Segment object, for the paths that load many (a nested level switch). */
  setSegmentFields(sreg: number, selector: number, base: number, limit: number, ar: number): void {
    const at = (G_SEG + sreg * SEG_STRIDE) >> 2;
    this.i32[at + (SEG_SEL >> 2)] = selector;
    this.i32[at + (SEG_BASE >> 2)] = base;
    this.i32[at + (SEG_LIMIT >> 2)] = limit;
    this.i32[at + (SEG_AR >> 2)] = ar;
    this.i32[C_CLEAN_FIELDS >> 2] &= ~CLEAN_SEGMENTS;
  }

  /** Total retired guest instructions (the 64-bit G_INSTRET pair, exact up to 2^53). */
  instructionsRetired(): number {
    return this.u64(G_INSTRET_LO);
  }

  /** Of those, the instructions compiled blocks retired (the core's STAT_COMPILED_INSTRUCTIONS). */
  compiledInstructions(): number {
    return this.u64(STAT_COMPILED_INSTRUCTIONS_LO);
  }

  /** A 64-bit field (low half at `offset`), exact up to 2^53. */
  u64(offset: number): number {
    return (this.i32[offset >> 2] >>> 0) + (this.i32[(offset >> 2) + 1] >>> 0) * 0x1_0000_0000;
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
    // On every exit an instruction completes: plain stores. EIP is in no clean-fields group; ending
    // the interrupt shadow only lifts blocking, which the core checks at the exit itself, so it
    // need not mark the entry state written.
    const i32 = this.i32;
    const eip = (i32[G_EIP >> 2] + length) | 0;
    i32[G_EIP >> 2] = i32[(G_SEG + SR_CS * SEG_STRIDE + SEG_AR) >> 2] & AR_DB ? eip : eip & 0xffff;
    i32[G_INTERRUPTIBILITY >> 2] &= ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
  }
}
