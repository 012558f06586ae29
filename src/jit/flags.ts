// Symbolic EFLAGS for the compiling tier. While a block is compiled we know which instruction
// last set the arithmetic flags and keep its operands in WASM locals, so a Jcc/SETcc/CMOVcc
// evaluates its condition directly, and the core's lazy-flag globals (assembly/cpu/flags.ts) are
// written only where the block hands control back. The encoding of that lazy state is the core's:
// lfOp one of assembly/jit-abi.ts LAZY_*, lfRes masked to the operand size, lfSign the sign-bit
// number, lazyMask the flags that are lazy.
import { Code, Op } from "./wasm-module.js";
import { LAZY_ADD, LAZY_SUB, LAZY_LOGIC } from "../../assembly/jit-abi.js";
import { AF, ARITH_FLAGS, CF, DF, OF, PF, SF, ZF } from "../x86/eflags.js";

export { AF, ARITH_FLAGS, CF, DF, OF, PF, SF, ZF };
export const LazyOp = { Add: LAZY_ADD, Sub: LAZY_SUB, Logic: LAZY_LOGIC } as const;
export type LazyOp = (typeof LazyOp)[keyof typeof LazyOp];

/** Indices of the core globals and functions a compiled block imports (see block-compiler.ts). */
export interface CoreLinks {
  flagsWord: number; lazyMask: number; lfOp: number; lfA: number; lfB: number; lfRes: number; lfSign: number;
  jitCondition: number; jitCarry: number; jitEflags: number;
}

export type FlagState =
  | { kind: "unknown" } // the core's globals hold the flags
  | { kind: "lazy"; op: LazyOp; a: number; b: number; res: number; bytes: number; keepsCarry: number | undefined; carryIn?: boolean }
  | { kind: "eager"; flags: number }; // a local holding the six arithmetic flags

/** Local `res` already masked to the size; `keepsCarry` is a local with CF (INC/DEC). */
export function lazy(op: LazyOp, a: number, b: number, res: number, bytes: number, keepsCarry?: number): FlagState {
  return { kind: "lazy", op, a, b, res, bytes, keepsCarry };
}

/** ADC and SBB: `res` = a + b + CF or a - b - CF (the core keeps them as ADD and SUB too). */
export function lazyWithCarryIn(op: typeof LazyOp.Add | typeof LazyOp.Sub, a: number, b: number, res: number, bytes: number): FlagState {
  return { kind: "lazy", op, a, b, res, bytes, keepsCarry: undefined, carryIn: true };
}

/** Push CF (0 or 1) of the state. */
export function emitCarry(c: Code, s: FlagState, core: CoreLinks): void {
  if (s.kind === "unknown") {
    // The core's CF: in flagsWord, unless the core's last operation left it lazy (then ask the
    // core), which after a block's own INC or DEC it does not: loops of those pay no call.
    c.globalGet(core.lazyMask).i32(CF).op(Op.I32And).ifI32().call(core.jitCarry).orElse();
    c.globalGet(core.flagsWord).i32(CF).op(Op.I32And).end();
    return;
  }
  if (s.kind === "eager") { c.get(s.flags).i32(CF).op(Op.I32And); return; }
  if (s.keepsCarry !== undefined) { c.get(s.keepsCarry); return; }
  if (s.op === LazyOp.Logic) { c.i32(0); return; }
  if (s.carryIn) {
    // the carry (borrow) out of the top bit, as the core's lazy flags compute it for any ADD/SUB:
    // ADC (a & b) | ((a | b) & ~res), SBB (~a & b) | ((~a | b) & res)
    const notA = () => { c.get(s.a); if (s.op === LazyOp.Sub) c.i32(-1).op(Op.I32Xor); };
    notA(); c.get(s.b).op(Op.I32And);
    notA(); c.get(s.b).op(Op.I32Or).get(s.res);
    if (s.op === LazyOp.Add) c.i32(-1).op(Op.I32Xor);
    c.op(Op.I32And).op(Op.I32Or);
    c.i32(s.bytes * 8 - 1).op(Op.I32ShrU).i32(1).op(Op.I32And);
    return;
  }
  // ADD: carry out iff res < a; SUB: borrow iff a < b
  if (s.op === LazyOp.Add) c.get(s.res).get(s.a).op(Op.I32LtU);
  else c.get(s.a).get(s.b).op(Op.I32LtU);
}

function signBit(c: Code, local: number, bytes: number): void {
  c.get(local).i32(bytes * 8 - 1).op(Op.I32ShrU).i32(1).op(Op.I32And);
}

function emitOverflow(c: Code, s: FlagState & { kind: "lazy" }): void {
  if (s.op === LazyOp.Logic) { c.i32(0); return; }
  if (s.op === LazyOp.Add) { // (a ^ res) & (b ^ res)
    c.get(s.a).get(s.res).op(Op.I32Xor).get(s.b).get(s.res).op(Op.I32Xor).op(Op.I32And);
  } else { // (a ^ b) & (a ^ res)
    c.get(s.a).get(s.b).op(Op.I32Xor).get(s.a).get(s.res).op(Op.I32Xor).op(Op.I32And);
  }
  c.i32(s.bytes * 8 - 1).op(Op.I32ShrU).i32(1).op(Op.I32And);
}

function emitParityEven(c: Code, value: () => void): void {
  value();
  c.i32(0xff).op(Op.I32And).op(Op.I32Popcnt).i32(1).op(Op.I32And).op(Op.I32Eqz);
}

/** Push condition `cc` (the low nibble of Jcc) as 0 or 1. */
export function emitCondition(c: Code, cc: number, s: FlagState, core: CoreLinks): void {
  if (s.kind === "unknown") { c.i32(cc).call(core.jitCondition); return; }
  const base = cc >> 1;
  if (s.kind === "eager") {
    const bit = (mask: number) => c.get(s.flags).i32(mask).op(Op.I32And).i32(0).op(Op.I32Ne);
    const sfNeOf = () => { bit(SF); bit(OF); c.op(Op.I32Ne); };
    switch (base) {
      case 0: bit(OF); break;
      case 1: bit(CF); break;
      case 2: bit(ZF); break;
      case 3: bit(CF | ZF); break;
      case 4: bit(SF); break;
      case 5: bit(PF); break;
      case 6: sfNeOf(); break;
      default: bit(ZF); sfNeOf(); c.op(Op.I32Or); break;
    }
  } else {
    const zero = () => c.get(s.res).op(Op.I32Eqz);
    const sign = () => signBit(c, s.res, s.bytes);
    const less = () => { sign(); emitOverflow(c, s); c.op(Op.I32Ne); };
    switch (base) {
      case 0: emitOverflow(c, s); break;
      case 1: emitCarry(c, s, core); break;
      case 2: zero(); break;
      case 3: emitCarry(c, s, core); zero(); c.op(Op.I32Or); break;
      case 4: sign(); break;
      case 5: emitParityEven(c, () => c.get(s.res)); break;
      case 6: less(); break;
      default: zero(); less(); c.op(Op.I32Or); break;
    }
  }
  if (cc & 1) c.op(Op.I32Eqz);
}

/**
 * What materialising a known state writes: the flags of flagsWord it replaces (`fixed`, their
 * values pushed by `value`), the lazy operation (op, operands, result, sign bit) when it is lazy,
 * and lazyMask.
 */
interface FlagImage {
  fixed: number; value?: () => void;
  lazy?: { op: number; a: number; b: number; res: number; sign: number };
  lazyMask: number;
}
function image(c: Code, s: FlagState & { kind: "lazy" | "eager" }): FlagImage {
  // eager: the core's lazy bits are replaced wholesale: fold nothing, just overwrite all six flags
  if (s.kind === "eager") return { fixed: ARITH_FLAGS, value: () => c.get(s.flags), lazyMask: 0 };
  const keepsCarry = s.keepsCarry;
  return {
    fixed: keepsCarry !== undefined ? CF : 0, value: keepsCarry !== undefined ? () => c.get(keepsCarry) : undefined,
    lazy: { op: s.op, a: s.a, b: s.b, res: s.res, sign: s.bytes * 8 - 1 },
    lazyMask: keepsCarry !== undefined ? ARITH_FLAGS & ~CF : ARITH_FLAGS,
  };
}

/** Write the state into the core's lazy-flag globals (where control returns to the core). */
export function emitMaterialize(c: Code, s: FlagState, core: CoreLinks): void {
  if (s.kind === "unknown") return;
  const m = image(c, s);
  if (m.fixed !== 0) { c.globalGet(core.flagsWord).i32(~m.fixed).op(Op.I32And); m.value!(); c.op(Op.I32Or).globalSet(core.flagsWord); }
  if (m.lazy) {
    c.i32(m.lazy.op).globalSet(core.lfOp);
    c.get(m.lazy.a).globalSet(core.lfA);
    c.get(m.lazy.b).globalSet(core.lfB);
    c.get(m.lazy.res).globalSet(core.lfRes);
    c.i32(m.lazy.sign).globalSet(core.lfSign);
  }
  c.i32(m.lazyMask).globalSet(core.lazyMask);
}

/**
 * Locals that hold a known state in the form the core's globals take it, so that a block going
 * round its own loop carries its flags into the next round without writing the globals
 * (translate.ts): `pending` says they hold the flags and the globals do not. Only the state's
 * values are carried: what the state's form fixes (which flags, the operation, the sign bit) is
 * the same at every round, since a block goes round itself from one place (its last instruction),
 * and is emitted as constants where the flags are written (CarriedForm). Four locals fewer live
 * across the loop, which V8 kept in registers or spilled at every round: the compute loop of
 * guests/vmexit, its region run alone in a harness (medians of 5, load 10), took 4.8 ns a round
 * with paging and 3.5 without before, 4.1 and 3.4 after.
 */
export interface CarriedFlags { pending: number; value: number; a: number; b: number; res: number }

/** What a carried state's form fixes: its image's constants. */
export interface CarriedForm { fixed: number; lazy?: { op: number; sign: number }; lazyMask: number }

/** Keep known state `s` in the carry locals (and set `pending`); returns its form. */
export function emitCarryOver(c: Code, s: FlagState & { kind: "lazy" | "eager" }, k: CarriedFlags): CarriedForm {
  const m = image(c, s);
  if (m.value) { m.value(); c.set(k.value); }
  if (m.lazy) c.get(m.lazy.a).set(k.a).get(m.lazy.b).set(k.b).get(m.lazy.res).set(k.res);
  c.i32(1).set(k.pending);
  return { fixed: m.fixed, lazy: m.lazy && { op: m.lazy.op, sign: m.lazy.sign }, lazyMask: m.lazyMask };
}

/**
 * When the carry locals hold the flags, write them to the core's globals (as emitMaterialize would
 * have). `form()` is the form they were carried in, asked when the function is finished (the carry
 * comes at the end of the block, after the exits that write it): undefined if the block never
 * carries (`pending` then stays 0).
 */
export function emitCarriedToCore(c: Code, k: CarriedFlags, form: () => CarriedForm | undefined, core: CoreLinks): void {
  c.get(k.pending).ifThen();
  c.later((c) => {
    const f = form();
    if (f === undefined) return;
    if (f.fixed !== 0) {
      c.globalGet(core.flagsWord).i32(~f.fixed).op(Op.I32And).get(k.value).i32(f.fixed).op(Op.I32And).op(Op.I32Or).globalSet(core.flagsWord);
    }
    if (f.lazy) {
      c.i32(f.lazy.op).globalSet(core.lfOp).get(k.a).globalSet(core.lfA).get(k.b).globalSet(core.lfB).get(k.res).globalSet(core.lfRes);
      c.i32(f.lazy.sign).globalSet(core.lfSign);
    }
    c.i32(f.lazyMask).globalSet(core.lazyMask);
  });
  c.i32(0).set(k.pending);
  c.end();
}

/** Push the six arithmetic flags of the state as an EFLAGS image. */
export function emitArithFlags(c: Code, s: FlagState, core: CoreLinks): void {
  if (s.kind === "unknown") { c.call(core.jitEflags).i32(ARITH_FLAGS).op(Op.I32And); return; }
  if (s.kind === "eager") { c.get(s.flags); return; }
  emitCarry(c, s, core);
  emitParityEven(c, () => c.get(s.res)); c.i32(2).op(Op.I32Shl).op(Op.I32Or);
  if (s.op !== LazyOp.Logic) { c.get(s.a).get(s.b).op(Op.I32Xor).get(s.res).op(Op.I32Xor).i32(AF).op(Op.I32And).op(Op.I32Or); }
  c.get(s.res).op(Op.I32Eqz).i32(6).op(Op.I32Shl).op(Op.I32Or);
  signBit(c, s.res, s.bytes); c.i32(7).op(Op.I32Shl).op(Op.I32Or);
  emitOverflow(c, s); c.i32(11).op(Op.I32Shl).op(Op.I32Or);
}

/** Flags of a shift or multiply, computed eagerly into a local (`into`, or a new one): CF, OF and SZP of `res`, AF clear. */
export function emitEagerFlags(c: Code, cf: () => void, of: () => void, res: number, bytes: number, into?: number): FlagState {
  const flags = into ?? c.local();
  cf();
  of(); c.i32(11).op(Op.I32Shl).op(Op.I32Or);
  c.get(res).op(Op.I32Eqz).i32(6).op(Op.I32Shl).op(Op.I32Or);
  signBit(c, res, bytes); c.i32(7).op(Op.I32Shl).op(Op.I32Or);
  emitParityEven(c, () => c.get(res)); c.i32(2).op(Op.I32Shl).op(Op.I32Or);
  c.set(flags);
  return { kind: "eager", flags };
}
