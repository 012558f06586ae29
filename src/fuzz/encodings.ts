// Random IA-32 instructions biased towards valid encodings: what follows each one-byte and
// 0F-escaped opcode (ModR/M, SIB, displacement, immediate, relative target, far pointer, memory
// offset) comes from the opcode map (assembly/opcode-map.ts), with random prefixes, and ModR/M/SIB
// bytes generated for the address size in effect, so that most instructions decode to their full
// length and the CPU spends its time executing rather than faulting on the first byte.
import {
  ONE_BYTE, TWO_BYTE, MODRM, IMM_MASK, IMM8, IMM16, IMM_V, IMM_MOFFS, IMM_FAR, IMM_ENTER, IMM_IF_TEST,
  THREE_BYTE, MOD_IGNORED, REL, PREFIX,
} from "../../assembly/opcode-map.js";
import { Rng, interestingU32 } from "./rng.js";
import { decodeBlock } from "../jit/decode.js";
import { EFFECTS } from "../jit/ir.js";

// Opcodes worth most of the draws: integer work compiled code runs (and the compiling tier
// handles), stack and control flow, string instructions, and the instructions that exit.
const COMMON_ONE = [
  0x00, 0x01, 0x02, 0x03, 0x05, 0x09, 0x0b, 0x11, 0x19, 0x21, 0x23, 0x25, 0x29, 0x2b, 0x31, 0x33,
  0x38, 0x39, 0x3b, 0x3d, 0x40, 0x43, 0x48, 0x4b, 0x50, 0x53, 0x56, 0x58, 0x5b, 0x5e, 0x68, 0x69,
  0x6a, 0x6b, 0x74, 0x75, 0x7c, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
  0x8d, 0x8e, 0x8c, 0x8f, 0x90, 0x91, 0x98, 0x99, 0x9c, 0x9d, 0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xa6,
  0xa8, 0xb0, 0xb8, 0xbb, 0xc1, 0xc3, 0xc6, 0xc7, 0xc9, 0xcc, 0xcd, 0xcf, 0xd1, 0xd3, 0xe2, 0xe4,
  0xe6, 0xe8, 0xeb, 0xec, 0xee, 0xf4, 0xf6, 0xf7, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x6c, 0x6e,
  0x06, 0x07, 0x0e, 0x1e, 0x1f, 0x60, 0x61,
];
const COMMON_TWO = [
  0x00, 0x01, 0x20, 0x22, 0x21, 0x23, 0x31, 0xa2, 0x44, 0x4f, 0x84, 0x85, 0x94, 0x9f, 0xa3, 0xab,
  0xaf, 0xb1, 0xb6, 0xb7, 0xbe, 0xbf, 0xba, 0xbc, 0xc1, 0xc7, 0xc8, 0x06, 0x0b, 0x30, 0x32, 0xb2,
  0xa0, 0xa1, 0xa8, 0xa9, 0xa4, 0xa5, 0xac, 0xad, 0xb3, 0xbb,
  0x78, 0x79, // VMREAD, VMWRITE
  0x34, 0x35, // SYSENTER, SYSEXIT
];
const PREFIXES = [0x66, 0x66, 0x66, 0x67, 0xf3, 0xf2, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

/** The decoding defaults: CS.D (32-bit code) or a 16-bit code segment. */
export interface CodeMode {
  bits32: boolean;
}

/** Opcodes to draw from instead of the usual mix (no prefixes then, but the operand-size one for `sized`). */
export interface OpcodePool {
  one: readonly number[];
  two: readonly number[];
  sized: readonly number[]; // one-byte opcodes also compiled with an operand-size prefix
}

// What the compiling tier translates, as its decoder (src/jit/decode.ts) says, so that a form it
// learns is drawn here at once: the opcodes that, after a NOP and with some ModR/M byte (a register
// or a memory operand, any reg field), decode to a compiled form that does not end the block (a
// branch would leave the fuzzer's loop) nor exit: computed inline, or a segment load, which the
// core performs for the block.
const CORE_FORMS_THAT_GO_ON: ReadonlySet<string> = new Set(["movSeg", "popSeg"]);
function compiledOpcodes(prefix: number[], escape: number[]): number[] {
  const found: number[] = [];
  for (let opcode = 0; opcode < 256; opcode++) {
    const bytes = [...prefix, ...escape, opcode];
    if (escape.length === 0 && (ONE_BYTE[opcode] & PREFIX || opcode === 0x0f)) continue;
    const compiled = [0xc0, 0x03].some((mod) => Array.from({ length: 8 }, (_, reg) => mod | (reg << 3)).some((modrm) => {
      const code = new Uint8Array([0x90, ...bytes, modrm, 0, 0, 0, 0, 0, 0, 0, 0]);
      const second = decodeBlock({ code, eip: 0, physical: 0, cpl: 0 })[1];
      return second !== undefined && !EFFECTS[second.op].branch && (!EFFECTS[second.op].core || CORE_FORMS_THAT_GO_ON.has(second.op));
    }));
    if (compiled) found.push(opcode);
  }
  return found;
}
export const COMPILABLE: OpcodePool = {
  one: compiledOpcodes([], []),
  two: compiledOpcodes([], [0x0f]),
  sized: compiledOpcodes([0x66], []),
};

class Emitter {
  readonly out: number[] = [];
  constructor(private readonly rng: Rng) {}
  u8(v: number): void { this.out.push(v & 0xff); }
  u16(v: number): void { this.u8(v); this.u8(v >>> 8); }
  u32(v: number): void { this.u16(v); this.u16(v >>> 16); }
  sized(bytes: number, v: number): void { if (bytes === 4) this.u32(v); else if (bytes === 2) this.u16(v); else this.u8(v); }
  // A displacement: usually small (fields of a structure), sometimes anything.
  disp(bytes: number): void {
    const r = this.rng;
    this.sized(bytes, r.chance(0.7) ? r.range(-16, 64) : interestingU32(r));
  }
}

// ModR/M (and SIB and displacement) for the address size in effect.
function modrm(e: Emitter, rng: Rng, a32: boolean): void {
  const mod = rng.chance(0.35) ? 3 : rng.below(3);
  const reg = rng.below(8);
  const rm = rng.below(8);
  e.u8((mod << 6) | (reg << 3) | rm);
  if (mod === 3) return;
  if (!a32) {
    if (mod === 1) e.disp(1);
    else if (mod === 2 || rm === 6 && mod === 0) e.disp(2);
    return;
  }
  if (rm === 4) {
    const base = rng.below(8);
    e.u8((rng.below(4) << 6) | (rng.below(8) << 3) | base);
    if (mod === 0 && base === 5) e.disp(4);
  }
  if (mod === 1) e.disp(1);
  else if (mod === 2 || (mod === 0 && rm === 5)) e.disp(4);
}

// What follows the opcode, as its row `row` of the opcode map says, with values likely to run.
function operands(e: Emitter, rng: Rng, row: number, o32: boolean, a32: boolean): void {
  const z = o32 ? 4 : 2;
  if (row & THREE_BYTE) e.u8(rng.below(256));
  if (row & MOD_IGNORED) {
    // mostly the register form the assembler writes; the others must decode the same
    e.u8((rng.chance(0.9) ? 0xc0 : rng.below(3) << 6) | rng.below(64));
  } else if (row & MODRM) {
    const at = e.out.length;
    modrm(e, rng, a32);
    if (row & IMM_IF_TEST && ((e.out[at] >> 3) & 7) >= 2) return;
  }
  switch (row & IMM_MASK) {
    case IMM8: e.u8(row & REL ? rng.range(-12, 40) : interestingU32(rng)); return;
    case IMM16: e.u16(interestingU32(rng)); return;
    case IMM_V: e.sized(z, row & REL ? (rng.chance(0.8) ? rng.range(-32, 96) : rng.u32()) : interestingU32(rng)); return;
    case IMM_MOFFS: e.sized(a32 ? 4 : 2, rng.chance(0.6) ? rng.range(0x8000, 0x8100) : interestingU32(rng)); return;
    case IMM_FAR: e.sized(z, interestingU32(rng)); e.u16(rng.chance(0.7) ? rng.pick([0x08, 0x10, 0x1b, 0x23, 0x28, 0x30, 0x3b]) : rng.u32()); return;
    case IMM_ENTER: e.u16(rng.below(64)); e.u8(rng.below(4)); return;
    default: return;
  }
}

/**
 * A VMX instruction (assembly/cpu/vmx-instructions.ts) in one of its forms, valid or not: VMLAUNCH,
 * VMRESUME, VMXOFF (0F 01 C2-C4), or 0F C7 /6 and /7 with the prefixes that make it VMPTRLD,
 * VMCLEAR (66), VMXON (F3), VMPTRST, or none of them (F2, a register operand). VMREAD and VMWRITE
 * (0F 78, 0F 79) come through the usual two-byte draw.
 */
function vmxInstruction(e: Emitter, rng: Rng, a32: boolean): number[] {
  if (rng.chance(0.3)) {
    e.u8(0x0f); e.u8(0x01); e.u8(rng.pick([0xc2, 0xc3, 0xc4]));
    return e.out;
  }
  const prefix = rng.pick([0, 0, 0x66, 0xf3, 0xf2]);
  if (prefix !== 0) e.u8(prefix);
  e.u8(0x0f); e.u8(0xc7);
  const at = e.out.length;
  modrm(e, rng, a32);
  e.out[at] = (e.out[at] & ~0x38) | (rng.pick([6, 7]) << 3);
  return e.out;
}

/** An SVM instruction, 0F 01 D8-DF (assembly/cpu/svm-instructions.ts), SKINIT's #UD included. */
function svmInstruction(e: Emitter, rng: Rng): number[] {
  e.u8(0x0f); e.u8(0x01); e.u8(0xd8 + rng.below(8));
  return e.out;
}

/** One random instruction (its prefixes, opcode and operands) for code of the given mode. */
export function randomInstruction(rng: Rng, mode: CodeMode, pool?: OpcodePool): number[] {
  const e = new Emitter(rng);
  let o32 = mode.bits32;
  let a32 = mode.bits32;
  if (!pool && rng.chance(0.03)) return vmxInstruction(e, rng, a32);
  if (!pool && rng.chance(0.02)) return svmInstruction(e, rng);
  if (pool) {
    const kind = rng.weighted([[14, "one"], [4, "two"], [2, "sized"]] as const);
    const opcode = rng.pick(pool[kind]);
    if (kind === "two") e.u8(0x0f);
    if (kind === "sized") { e.u8(0x66); o32 = !mode.bits32; }
    e.u8(opcode);
    operands(e, rng, (kind === "two" ? TWO_BYTE : ONE_BYTE)[opcode], o32, a32);
    return e.out;
  }
  const prefixCount = rng.weighted([[6, 0], [3, 1], [1, 2]] as const);
  for (let i = 0; i < prefixCount; i++) {
    const p = rng.pick(PREFIXES);
    if (p === 0x66) o32 = !mode.bits32;
    if (p === 0x67) a32 = !mode.bits32;
    e.u8(p);
  }
  let opcode: number;
  do opcode = rng.chance(0.8) ? rng.pick(COMMON_ONE) : rng.below(256);
  while (ONE_BYTE[opcode] & PREFIX);
  e.u8(opcode);
  const twoByte = opcode === 0x0f;
  if (twoByte) {
    opcode = rng.chance(0.75) ? rng.pick(COMMON_TWO) : rng.below(256);
    e.u8(opcode);
  }
  operands(e, rng, (twoByte ? TWO_BYTE : ONE_BYTE)[opcode], o32, a32);
  return e.out;
}
