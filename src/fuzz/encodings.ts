// Random IA-32 instructions biased towards valid encodings: a table of operand forms for every
// one-byte and 0F-escaped opcode (what follows the opcode: ModR/M, SIB, displacement, immediate,
// relative target, far pointer, memory offset), random prefixes, and ModR/M/SIB bytes generated
// for the address size in effect, so that most instructions decode to their full length and the
// CPU spends its time executing rather than faulting on the first byte.
import { Rng, interestingU32 } from "./rng.js";

/**
 * What follows an opcode. M: ModR/M (+SIB, displacement); b/w/z: immediate of 8, 16, or operand
 * size bits; jb/jz: relative target; o: memory offset of address size; p: far pointer (offset of
 * operand size, then a selector); g3b/g3z: group 3, whose TEST (/0, /1) has an immediate; P: prefix.
 */
type Form = "" | "M" | "Mb" | "Mz" | "b" | "w" | "z" | "wb" | "jb" | "jz" | "o" | "p" | "g3b" | "g3z" | "P" | "esc";

function table(fill: Form, entries: [number | [number, number], Form][]): Form[] {
  const forms = new Array<Form>(256).fill(fill);
  for (const [at, form] of entries) {
    const [lo, hi] = typeof at === "number" ? [at, at] : at;
    for (let op = lo; op <= hi; op++) forms[op] = form;
  }
  return forms;
}

// The eight ALU blocks 00-3F: r/m,r and r,r/m forms, then AL,imm8 and eAX,imm.
const ALU_BLOCKS: [number, Form][] = [];
for (let base = 0; base < 0x40; base += 8) {
  ALU_BLOCKS.push([base, "M"], [base + 1, "M"], [base + 2, "M"], [base + 3, "M"], [base + 4, "b"], [base + 5, "z"]);
}

const ONE_BYTE = table("", [
  ...ALU_BLOCKS,
  [0x0f, "esc"], [0x26, "P"], [0x2e, "P"], [0x36, "P"], [0x3e, "P"],
  [0x62, "M"], [0x63, "M"], [[0x64, 0x67], "P"], [0x68, "z"], [0x69, "Mz"], [0x6a, "b"], [0x6b, "Mb"],
  [[0x70, 0x7f], "jb"], [0x80, "Mb"], [0x81, "Mz"], [0x82, "Mb"], [0x83, "Mb"], [[0x84, 0x8f], "M"],
  [0x9a, "p"], [[0xa0, 0xa3], "o"], [0xa8, "b"], [0xa9, "z"], [[0xb0, 0xb7], "b"], [[0xb8, 0xbf], "z"],
  [0xc0, "Mb"], [0xc1, "Mb"], [0xc2, "w"], [0xc4, "M"], [0xc5, "M"], [0xc6, "Mb"], [0xc7, "Mz"],
  [0xc8, "wb"], [0xca, "w"], [0xcd, "b"], [[0xd0, 0xd3], "M"], [0xd4, "b"], [0xd5, "b"], [[0xd8, 0xdf], "M"],
  [[0xe0, 0xe3], "jb"], [[0xe4, 0xe7], "b"], [0xe8, "jz"], [0xe9, "jz"], [0xea, "p"], [0xeb, "jb"],
  [0xf0, "P"], [0xf2, "P"], [0xf3, "P"], [0xf6, "g3b"], [0xf7, "g3z"], [0xfe, "M"], [0xff, "M"],
]);

const TWO_BYTE = table("M", [
  [[0x04, 0x0c], ""], [[0x30, 0x37], ""], [[0x80, 0x8f], "jz"], [[0xa0, 0xa2], ""], [0xa4, "Mb"],
  [[0xa8, 0xaa], ""], [0xac, "Mb"], [0xba, "Mb"], [[0xc8, 0xcf], ""], [0x77, ""], [0x0e, ""],
]);

// Opcodes worth most of the draws: integer work compiled code runs (and the compiling tier
// handles), stack and control flow, string instructions, and the instructions that exit.
const COMMON_ONE = [
  0x00, 0x01, 0x02, 0x03, 0x05, 0x09, 0x0b, 0x11, 0x19, 0x21, 0x23, 0x25, 0x29, 0x2b, 0x31, 0x33,
  0x38, 0x39, 0x3b, 0x3d, 0x40, 0x43, 0x48, 0x4b, 0x50, 0x53, 0x56, 0x58, 0x5b, 0x5e, 0x68, 0x69,
  0x6a, 0x6b, 0x74, 0x75, 0x7c, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
  0x8d, 0x8e, 0x8c, 0x8f, 0x90, 0x91, 0x98, 0x99, 0x9c, 0x9d, 0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xa6,
  0xa8, 0xb0, 0xb8, 0xbb, 0xc1, 0xc3, 0xc6, 0xc7, 0xc9, 0xcc, 0xcd, 0xcf, 0xd1, 0xd3, 0xe2, 0xe4,
  0xe6, 0xe8, 0xeb, 0xec, 0xee, 0xf4, 0xf6, 0xf7, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x6c, 0x6e,
];
const COMMON_TWO = [
  0x00, 0x01, 0x20, 0x22, 0x21, 0x23, 0x31, 0xa2, 0x44, 0x4f, 0x84, 0x85, 0x94, 0x9f, 0xa3, 0xab,
  0xaf, 0xb1, 0xb6, 0xb7, 0xbe, 0xbf, 0xba, 0xbc, 0xc1, 0xc7, 0xc8, 0x06, 0x0b, 0x30, 0x32, 0xb2,
];
const PREFIXES = [0x66, 0x66, 0x66, 0x67, 0xf3, 0xf2, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

/** The decoding defaults: CS.D (32-bit code) or a 16-bit code segment. */
export interface CodeMode {
  bits32: boolean;
}

/** Opcodes to draw from instead of the usual mix (no prefixes then). */
export interface OpcodePool {
  one: readonly number[];
  two: readonly number[];
}

// What the compiling tier translates (src/jit/translate.ts): integer work with 32-bit and 8-bit
// operands, so that loops made of these become compiled blocks.
export const COMPILABLE: OpcodePool = {
  one: [0x00, 0x01, 0x02, 0x03, 0x05, 0x09, 0x0b, 0x21, 0x23, 0x29, 0x2b, 0x31, 0x33, 0x38, 0x39, 0x3b, 0x3d,
    0x40, 0x43, 0x48, 0x4e, 0x50, 0x53, 0x58, 0x5b, 0x69, 0x6b, 0x6a, 0x80, 0x81, 0x83, 0x84, 0x85, 0x88, 0x89,
    0x8a, 0x8b, 0x8d, 0x90, 0x99, 0xa8, 0xa9, 0xb0, 0xb8, 0xbe, 0xc1, 0xd1, 0xc6, 0xc7, 0xf6, 0xf7],
  two: [0xaf, 0xb6, 0xb7, 0xbe, 0xbf, 0x44, 0x45, 0x4c, 0x4f, 0x94, 0x95, 0x9c, 0x9f],
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

// ModR/M (and SIB and displacement) for the address size in effect; `registerOnly` forces mod 3.
function modrm(e: Emitter, rng: Rng, a32: boolean, registerOnly: boolean): void {
  const mod = registerOnly || rng.chance(0.35) ? 3 : rng.below(3);
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

function operands(e: Emitter, rng: Rng, form: Form, opcode: number, o32: boolean, a32: boolean, twoByte: boolean): void {
  const z = o32 ? 4 : 2;
  // MOV to/from control and debug registers decode ModR/M as registers whatever mod says
  const registerOnly = twoByte && opcode >= 0x20 && opcode <= 0x23 && rng.chance(0.9);
  switch (form) {
    case "M": modrm(e, rng, a32, registerOnly); return;
    case "Mb": modrm(e, rng, a32, false); e.u8(interestingU32(rng)); return;
    case "Mz": modrm(e, rng, a32, false); e.sized(z, interestingU32(rng)); return;
    case "b": e.u8(interestingU32(rng)); return;
    case "w": e.u16(interestingU32(rng)); return;
    case "z": e.sized(z, interestingU32(rng)); return;
    case "wb": e.u16(rng.below(64)); e.u8(rng.below(4)); return;
    case "jb": e.u8(rng.range(-12, 40)); return;
    case "jz": e.sized(z, rng.chance(0.8) ? rng.range(-32, 96) : rng.u32()); return;
    case "o": e.sized(a32 ? 4 : 2, rng.chance(0.6) ? rng.range(0x8000, 0x8100) : interestingU32(rng)); return;
    case "p": e.sized(z, interestingU32(rng)); e.u16(rng.chance(0.7) ? rng.pick([0x08, 0x10, 0x1b, 0x23, 0x28, 0x30, 0x3b]) : rng.u32()); return;
    case "g3b": case "g3z": {
      const at = e.out.length;
      modrm(e, rng, a32, false);
      const reg = (e.out[at] >> 3) & 7;
      if (reg < 2) e.sized(form === "g3b" ? 1 : z, interestingU32(rng));
      return;
    }
    default: return;
  }
}

/** One random instruction (its prefixes, opcode and operands) for code of the given mode. */
export function randomInstruction(rng: Rng, mode: CodeMode, pool?: OpcodePool): number[] {
  const e = new Emitter(rng);
  let o32 = mode.bits32;
  let a32 = mode.bits32;
  if (pool) {
    const twoByte = rng.chance(0.2);
    const opcode = rng.pick(twoByte ? pool.two : pool.one);
    if (twoByte) e.u8(0x0f);
    e.u8(opcode);
    operands(e, rng, (twoByte ? TWO_BYTE : ONE_BYTE)[opcode], opcode, o32, a32, twoByte);
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
  let form: Form;
  do {
    opcode = rng.chance(0.8) ? rng.pick(COMMON_ONE) : rng.below(256);
    form = ONE_BYTE[opcode];
  } while (form === "P");
  e.u8(opcode);
  let twoByte = false;
  if (form === "esc") {
    twoByte = true;
    opcode = rng.chance(0.75) ? rng.pick(COMMON_TWO) : rng.below(256);
    form = TWO_BYTE[opcode];
    e.u8(opcode);
  }
  operands(e, rng, form, opcode, o32, a32, twoByte);
  return e.out;
}
