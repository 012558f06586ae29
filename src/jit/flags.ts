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

/** Write the state into the core's lazy-flag globals (where control returns to the core). */
export function emitMaterialize(c: Code, s: FlagState, core: CoreLinks): void {
  if (s.kind === "unknown") return;
  if (s.kind === "eager") {
    // The core's lazy bits are replaced wholesale: fold nothing, just overwrite all six flags.
    c.globalGet(core.flagsWord).i32(~ARITH_FLAGS).op(Op.I32And).get(s.flags).op(Op.I32Or).globalSet(core.flagsWord);
    c.i32(0).globalSet(core.lazyMask);
    return;
  }
  if (s.keepsCarry !== undefined) {
    c.globalGet(core.flagsWord).i32(~CF).op(Op.I32And).get(s.keepsCarry).op(Op.I32Or).globalSet(core.flagsWord);
  }
  c.i32(s.op).globalSet(core.lfOp);
  c.get(s.a).globalSet(core.lfA);
  c.get(s.b).globalSet(core.lfB);
  c.get(s.res).globalSet(core.lfRes);
  c.i32(s.bytes * 8 - 1).globalSet(core.lfSign);
  c.i32(s.keepsCarry !== undefined ? ARITH_FLAGS & ~CF : ARITH_FLAGS).globalSet(core.lazyMask);
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
