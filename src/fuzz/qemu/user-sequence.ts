// Straight-line sequences of user-level integer instructions (AT&T syntax) for the differential
// run against QEMU, with the EFLAGS bits each leaves undefined per the Intel SDM (the masks
// guests/README.md lists for cputest): the sequence's result is compared only on the flags that
// are defined at its end. Operands are registers (never ESP, and never ESI, which holds the
// scratch buffer's address), immediates and bytes of the scratch buffer (disp(%esi)). Whatever
// could fault or leave a register undefined is guarded: divisors are made non-zero and small
// enough, BSF/BSR sources non-zero, AAM's immediate non-zero; and an instruction that reads flags
// which are undefined at that point gets a CMP before it that defines them all.
import type { Rng } from "../rng.js";
import { interestingU32 } from "../rng.js";
import { AF, ARITH_FLAGS as ARITH, CF, OF, PF, SF, ZF } from "../../x86/eflags.js";
export const SCRATCH_BYTES = 128;

export interface Instruction {
  asm: string;
  /** Flags it writes with a defined value. */
  defines: number;
  /** Flags it leaves undefined. */
  undefines: number;
  /** Flags it reads. */
  reads: number;
}

const R32 = ["eax", "ecx", "edx", "ebx", "ebp", "edi"];
const R16 = ["ax", "cx", "dx", "bx", "bp", "di"];
const R8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
const CONDITIONS: [string, number][] = [
  ["o", OF], ["no", OF], ["b", CF], ["ae", CF], ["e", ZF], ["ne", ZF], ["be", CF | ZF], ["a", CF | ZF],
  ["s", SF], ["ns", SF], ["p", PF], ["np", PF], ["l", SF | OF], ["ge", SF | OF], ["le", ZF | SF | OF], ["g", ZF | SF | OF],
];

type Size = { suffix: string; regs: string[]; bits: number };
const SIZES: Size[] = [{ suffix: "l", regs: R32, bits: 32 }, { suffix: "w", regs: R16, bits: 16 }, { suffix: "b", regs: R8, bits: 8 }];

const ins = (asm: string, defines = 0, undefines = 0, reads = 0): Instruction => ({ asm, defines, undefines, reads });

class Gen {
  constructor(private readonly rng: Rng) {}
  size(): Size { return this.rng.weighted([[5, SIZES[0]], [2, SIZES[1]], [2, SIZES[2]]] as const); }
  reg(s: Size): string { return "%" + this.rng.pick(s.regs); }
  mem(s: Size): string { return `${this.rng.below(SCRATCH_BYTES - s.bits / 8 + 1)}(%esi)`; }
  imm(s: Size): string { return "$" + ((interestingU32(this.rng) >>> 0) % 2 ** s.bits); }
  rm(s: Size): string { return this.rng.chance(0.7) ? this.reg(s) : this.mem(s); }
  // source and destination, at most one of them in memory
  pair(s: Size, immediate = true): [string, string] {
    const dst = this.rm(s);
    const src = immediate && this.rng.chance(0.3) ? this.imm(s) : dst.startsWith("%") ? this.rm(s) : this.reg(s);
    return [src, dst];
  }
}

function shift(g: Gen, rng: Rng): Instruction[] {
  const s = g.size();
  const op = rng.pick(["shl", "shr", "sar", "rol", "ror", "rcl", "rcr"]);
  const dst = g.rm(s);
  const rotate = op.startsWith("ro") || op.startsWith("rc");
  const reads = op.startsWith("rc") ? CF : 0;
  const by = rng.weighted([[2, "cl"], [1, "1"], [3, "imm"]] as const);
  if (by === "cl") {
    // the count is not known here: every flag the instruction may write counts as undefined
    return [ins(`${op}${s.suffix} %cl, ${dst}`, 0, rotate ? CF | OF : ARITH, reads)];
  }
  const n = by === "1" ? 1 : rng.range(0, 31);
  const operand = by === "1" ? "" : `$${n}, `;
  if (n === 0) return [ins(`${op}${s.suffix} ${operand}${dst}`)];
  if (rotate) return [ins(`${op}${s.suffix} ${operand}${dst}`, n === 1 ? CF | OF : CF, n === 1 ? 0 : OF, reads)];
  const cfDefined = n < s.bits;
  return [ins(`${op}${s.suffix} ${operand}${dst}`, (SF | ZF | PF) | (cfDefined ? CF : 0) | (n === 1 ? OF : 0),
    AF | (cfDefined ? 0 : CF) | (n === 1 ? 0 : OF))];
}

function divide(rng: Rng): Instruction[] {
  const divisor = "%" + rng.pick(["ecx", "ebx", "ebp", "edi"]);
  if (rng.chance(0.5)) {
    return [ins(`orl $1, ${divisor}`, ARITH & ~AF, AF), ins("xorl %edx, %edx", ARITH & ~AF, AF), ins(`divl ${divisor}`, 0, ARITH)];
  }
  return [ins(`andl $0x7fff, ${divisor}`, ARITH & ~AF, AF), ins(`orl $1, ${divisor}`, ARITH & ~AF, AF), ins("cltd"), ins(`idivl ${divisor}`, 0, ARITH)];
}

function one(g: Gen, rng: Rng): Instruction[] {
  const s = g.size();
  const wide = (): Size => (rng.chance(0.7) ? SIZES[0] : SIZES[1]);
  return rng.weighted<() => Instruction[]>([
    [10, () => {
      const op = rng.pick(["add", "adc", "sub", "sbb", "cmp", "and", "or", "xor"]);
      const [src, dst] = g.pair(s);
      const logic = op === "and" || op === "or" || op === "xor";
      return [ins(`${op}${s.suffix} ${src}, ${dst}`, logic ? ARITH & ~AF : ARITH, logic ? AF : 0, op === "adc" || op === "sbb" ? CF : 0)];
    }],
    [2, () => [ins(`test${s.suffix} ${g.reg(s)}, ${g.rm(s)}`, ARITH & ~AF, AF)]],
    [3, () => [ins(`${rng.pick(["inc", "dec"])}${s.suffix} ${g.rm(s)}`, ARITH & ~CF)]],
    [2, () => [rng.chance(0.5) ? ins(`neg${s.suffix} ${g.rm(s)}`, ARITH) : ins(`not${s.suffix} ${g.rm(s)}`)]],
    [6, () => shift(g, rng)],
    [2, () => {
      const [n, dst] = [rng.range(1, 31), g.rm(SIZES[0])];
      return rng.chance(0.3)
        ? [ins(`${rng.pick(["shld", "shrd"])}l %cl, ${g.reg(SIZES[0])}, ${dst}`, 0, ARITH)]
        : [ins(`${rng.pick(["shld", "shrd"])}l $${n}, ${g.reg(SIZES[0])}, ${dst}`, CF | SF | ZF | PF | (n === 1 ? OF : 0), AF | (n === 1 ? 0 : OF))];
    }],
    [3, () => [ins(`${rng.pick(["mul", "imul"])}${s.suffix} ${g.rm(s)}`, CF | OF, SF | ZF | AF | PF)]],
    [2, () => { const w = wide(); return [ins(`imul${w.suffix} ${g.rm(w)}, ${g.reg(w)}`, CF | OF, SF | ZF | AF | PF)]; }],
    [1, () => [ins(`imull $${interestingU32(rng) | 0}, ${g.rm(SIZES[0])}, ${g.reg(SIZES[0])}`, CF | OF, SF | ZF | AF | PF)]],
    [2, () => divide(rng)],
    [2, () => {
      const op = rng.pick(["bt", "bts", "btr", "btc"]);
      const w = wide();
      return [rng.chance(0.5) ? ins(`${op}${w.suffix} ${g.reg(w)}, ${g.reg(w)}`, CF, ARITH & ~CF) : ins(`${op}${w.suffix} $${rng.below(64)}, ${g.rm(w)}`, CF, ARITH & ~CF)];
    }],
    [1, () => {
      // a register bit offset, negative too, addresses memory around the operand: kept within the scratch buffer
      const w = wide(), disp = 4 * rng.below(SCRATCH_BYTES / 4), offset = rng.range(-disp * 8, (SCRATCH_BYTES - disp) * 8 - 1);
      const index = rng.below(w.regs.length);
      return [ins(`movl $${offset}, %${R32[index]}`), ins(`${rng.pick(["bt", "bts", "btr", "btc"])}${w.suffix} %${w.regs[index]}, ${disp}(%esi)`, CF, ARITH & ~CF)];
    }],
    [1, () => [ins("pushal"), ins(`movl ${g.imm(SIZES[0])}, ${g.reg(SIZES[0])}`), ins("popal")]],
    [2, () => {
      const src = g.reg(SIZES[0]);
      return [ins(`orl $1, ${src}`, ARITH & ~AF, AF), ins(`${rng.pick(["bsf", "bsr"])}l ${src}, ${g.reg(SIZES[0])}`, ZF, ARITH & ~ZF)];
    }],
    [3, () => { const [c, f] = rng.pick(CONDITIONS); return [ins(`set${c} ${g.rm(SIZES[2])}`, 0, 0, f)]; }],
    [3, () => { const [c, f] = rng.pick(CONDITIONS); const w = wide(); return [ins(`cmov${c}${w.suffix} ${g.rm(w)}, ${g.reg(w)}`, 0, 0, f)]; }],
    [4, () => { const [src, dst] = g.pair(s); return [ins(`mov${s.suffix} ${src}, ${dst}`)]; }],
    [2, () => { const w = wide(); return [ins(`mov${rng.pick(["z", "s"])}b${w.suffix} ${g.rm(SIZES[2])}, ${g.reg(w)}`)]; }],
    [1, () => [ins(`mov${rng.pick(["zw", "sw"])}l ${g.rm(SIZES[1])}, ${g.reg(SIZES[0])}`)]],
    [2, () => [ins(`leal ${rng.range(-64, 64)}(${g.reg(SIZES[0])},${g.reg(SIZES[0])},${rng.pick([1, 2, 4, 8])}), ${g.reg(SIZES[0])}`)]],
    [2, () => [ins(`xchg${s.suffix} ${g.reg(s)}, ${g.rm(s)}`)]],
    [2, () => [ins(`xadd${s.suffix} ${g.reg(s)}, ${g.rm(s)}`, ARITH)]],
    [2, () => [ins(`cmpxchg${s.suffix} ${g.reg(s)}, ${g.rm(s)}`, ARITH)]],
    [1, () => [ins(`bswap ${g.reg(SIZES[0])}`)]],
    [2, () => [ins(rng.pick(["cbtw", "cwtl", "cwtd", "cltd"]))]],
    [2, () => [rng.pick([ins("clc", CF), ins("stc", CF), ins("cmc", CF, 0, CF), ins("lahf", 0, 0, ARITH & ~OF), ins("sahf", ARITH & ~OF)])]],
    [1, () => [rng.chance(0.5) ? ins(rng.pick(["daa", "das"]), ARITH & ~OF, OF, CF | AF) : ins(`${rng.pick(["aam", "aad"])} $${rng.range(1, 255)}`, SF | ZF | PF, CF | AF | OF)]],
    [1, () => { const r = g.reg(SIZES[0]); return [ins(`pushl ${rng.chance(0.5) ? g.reg(SIZES[0]) : g.imm(SIZES[0])}`), ins(`popl ${r}`)]; }],
  ])();
}

/** A sequence of about `length` instructions. */
export function userSequence(rng: Rng, length: number): Instruction[] {
  const g = new Gen(rng);
  const out: Instruction[] = [];
  let undefinedFlags = 0;
  while (out.length < length) {
    for (const i of one(g, rng)) {
      if (i.reads & undefinedFlags) {
        out.push(ins(`cmpl ${g.reg(SIZES[0])}, ${g.reg(SIZES[0])}`, ARITH));
        undefinedFlags = 0;
      }
      out.push(i);
      undefinedFlags = (undefinedFlags & ~i.defines) | i.undefines;
    }
  }
  return out;
}

/** Flags undefined at the end of `sequence`, starting from fully defined flags. */
export function undefinedAtEnd(sequence: Instruction[]): number {
  return sequence.reduce((u, i) => (u & ~i.defines) | i.undefines, 0);
}
