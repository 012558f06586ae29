// Group 2's shifts and rotates (SHL, SHR, SAR, ROL, ROR) of 8, 16 or 32 bits, by a constant or by
// CL, emitted inline with the flags the interpreter's shiftRotate() (assembly/cpu/shift.ts) leaves:
// a shift sets CF, OF (SHL: the result's MSB ^ CF; SHR: the operand's MSB; SAR: 0) and SF, ZF, PF
// of the result, and clears AF; a rotate sets CF and OF only, also when its count is a multiple
// of the operand's width. A count (masked to 5 bits) of 0 changes nothing, the flags included.
// RCL and RCR, which rotate through CF, stay with the core (translate.ts, jitShift).
import { Code, Op } from "./wasm-module.js";
import { type FlagState, type CoreLinks, emitArithFlags, emitEagerFlags, CF, OF } from "./flags.js";

export type InlineShift = "shl" | "shr" | "sar" | "rol" | "ror";
export const isInlineShift = (op: string): op is InlineShift => op === "shl" || op === "shr" || op === "sar" || op === "rol" || op === "ror";

/** A constant count (1-31, as decode.ts gives it), or a local holding CL (masked here). */
export type ShiftCount = { constant: number } | { cl: number };

/**
 * `kind` of the local `v` (the operand, zero-extended from `bytes`) by `count`, with the flags as
 * they were before in `prior`: the result's local and the flags after it (eager).
 */
export function emitShift(
  c: Code, kind: InlineShift, v: number, count: ShiftCount, bytes: number, prior: FlagState, core: CoreLinks,
): { res: number; flags: FlagState } {
  const res = c.local(), flags = c.local(), rotate = kind === "rol" || kind === "ror";
  // a rotate keeps four of the six flags whatever its count; a shift only when the count is 0
  let before: number | undefined;
  if (rotate) {
    before = c.local();
    emitArithFlags(c, prior, core);
    c.set(before);
  }
  const emit = (n: () => void) => {
    if (rotate) emitRotate(c, kind === "rol", v, n, bytes, res, flags, before!);
    else emitShiftOnly(c, kind, v, n, bytes, res, flags);
  };
  if ("constant" in count) {
    emit(() => c.i32(count.constant));
    return { res, flags: { kind: "eager", flags } };
  }
  const n = c.local();
  c.get(count.cl).i32(31).op(Op.I32And).tee(n).ifThen();
  emit(() => c.get(n));
  c.orElse();
  c.get(v).set(res);
  if (rotate) c.get(before!);
  else emitArithFlags(c, prior, core);
  c.set(flags);
  c.end();
  return { res, flags: { kind: "eager", flags } };
}

const mask = (c: Code, bytes: number) => { if (bytes < 4) c.i32((1 << (bytes * 8)) - 1).op(Op.I32And); };

// SHL, SHR, SAR by a nonzero count `n` (pushed by n()): the result into `res`, the six flags into `flags`.
function emitShiftOnly(c: Code, kind: InlineShift, v: number, n: () => void, bytes: number, res: number, flags: number): void {
  const bits = bytes * 8, msb = bits - 1;
  let cf: () => void, of: () => void;
  if (kind === "shl") {
    c.get(v); n(); c.op(Op.I32Shl);
    mask(c, bytes);
    c.set(res);
    // the last bit shifted out: bit `bits` of v << n (for 8 and 16 bits it is still inside 32)
    cf = bytes === 4
      ? () => { c.get(v).i32(32); n(); c.op(Op.I32Sub).op(Op.I32ShrU).i32(1).op(Op.I32And); }
      : () => { c.get(v); n(); c.op(Op.I32Shl).i32(bits).op(Op.I32ShrU).i32(1).op(Op.I32And); };
    of = () => { c.get(res).i32(msb).op(Op.I32ShrU); cf(); c.op(Op.I32Xor); };
  } else {
    // SAR shifts the sign-extended operand; SHR the operand as it is (zero-extended)
    const signed = kind === "sar";
    const operand = () => { c.get(v); if (signed && bytes < 4) c.op(bytes === 1 ? Op.I32Extend8S : Op.I32Extend16S); };
    const right = signed ? Op.I32ShrS : Op.I32ShrU;
    operand(); n(); c.op(right);
    mask(c, bytes);
    c.set(res);
    cf = () => { operand(); n(); c.i32(1).op(Op.I32Sub).op(right).i32(1).op(Op.I32And); };
    of = signed ? () => c.i32(0) : () => c.get(v).i32(msb).op(Op.I32ShrU);
  }
  emitEagerFlags(c, cf, of, res, bytes, flags);
}

// ROL, ROR by a nonzero count: the result into `res`; `flags` = `before` with CF and OF replaced
// (ROL: CF = bit 0, OF = MSB ^ CF; ROR: CF = MSB, OF = MSB ^ the bit below it).
function emitRotate(c: Code, left: boolean, v: number, n: () => void, bytes: number, res: number, flags: number, before: number): void {
  const bits = bytes * 8, msb = bits - 1;
  if (bytes === 4) {
    c.get(v); n(); c.op(left ? Op.I32Rotl : Op.I32Rotr).set(res);
  } else {
    const k = c.local(); // the count within the width: 0 leaves the value as it is
    n(); c.i32(msb).op(Op.I32And).set(k);
    c.get(v).get(k).op(left ? Op.I32Shl : Op.I32ShrU);
    c.get(v).i32(bits).get(k).op(Op.I32Sub).op(left ? Op.I32ShrU : Op.I32Shl);
    c.op(Op.I32Or);
    mask(c, bytes);
    c.set(res);
  }
  const top = () => c.get(res).i32(msb).op(Op.I32ShrU);
  c.get(before).i32(~(CF | OF)).op(Op.I32And);
  if (left) {
    c.get(res).i32(1).op(Op.I32And).op(Op.I32Or);
    top(); c.get(res).op(Op.I32Xor);
  } else {
    top(); c.op(Op.I32Or);
    top(); c.get(res).i32(msb - 1).op(Op.I32ShrU).op(Op.I32Xor);
  }
  c.i32(1).op(Op.I32And).i32(11).op(Op.I32Shl).op(Op.I32Or);
  c.set(flags);
}
