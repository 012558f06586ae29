// Integer arithmetic and logic: the eight ALU operations of opcodes 00-3F / 80-83 (ADD OR ADC SBB
// AND SUB XOR CMP), INC/DEC/NEG/NOT, and the BCD adjustments. Flags are recorded lazily.
import { setArith, setIncDec, setLogic, getCF, getAF, setFlagsEager, szpOf, sizeMask } from "./flags";
import { LAZY_ADD, LAZY_SUB } from "../jit-abi";
import { r8, w8, r16, w16, EAX, CF, AF, PF, ZF, SF, OF, raise, EXC_DE } from "./state";

export const ALU_ADD: u32 = 0;
export const ALU_OR: u32 = 1;
export const ALU_ADC: u32 = 2;
export const ALU_SBB: u32 = 3;
export const ALU_AND: u32 = 4;
export const ALU_SUB: u32 = 5;
export const ALU_XOR: u32 = 6;
export const ALU_CMP: u32 = 7;

// Compute `a op b` with `bytes`-sized operands, record the flags, return the (unmasked) result.
// The caller does not write the result back for CMP.
@inline export function alu(op: u32, a: u32, b: u32, bytes: u32): u32 {
  let r: u32;
  switch (op) {
    case ALU_ADD: r = a + b; setArith(LAZY_ADD, a, b, r, bytes); return r;
    case ALU_OR: r = a | b; setLogic(r, bytes); return r;
    case ALU_ADC: r = a + b + getCF(); setArith(LAZY_ADD, a, b, r, bytes); return r;
    case ALU_SBB: r = a - b - getCF(); setArith(LAZY_SUB, a, b, r, bytes); return r;
    case ALU_AND: r = a & b; setLogic(r, bytes); return r;
    case ALU_XOR: r = a ^ b; setLogic(r, bytes); return r;
    default: r = a - b; setArith(LAZY_SUB, a, b, r, bytes); return r; // SUB, CMP
  }
}

@inline export function inc(a: u32, bytes: u32): u32 { const r = a + 1; setIncDec(LAZY_ADD, a, r, bytes); return r; }
@inline export function dec(a: u32, bytes: u32): u32 { const r = a - 1; setIncDec(LAZY_SUB, a, r, bytes); return r; }
@inline export function neg(a: u32, bytes: u32): u32 { const r = 0 - a; setArith(LAZY_SUB, 0, a, r, bytes); return r; }

// ---- BCD adjustments (DAA DAS AAA AAS AAM AAD) -------------------------------------------------
export function daa(): void {
  const old = r8(EAX);
  const oldCf = getCF();
  let al = old;
  let cf: u32 = 0;
  let af: u32 = 0;
  if ((al & 0xf) > 9 || getAF()) { al += 6; af = AF; }
  if (old > 0x99 || oldCf) { al += 0x60; cf = CF; }
  w8(EAX, al);
  setFlagsEager(CF | AF | PF | ZF | SF, cf | af | szpOf(al, 1));
}

export function das(): void {
  const old = r8(EAX);
  const oldCf = getCF();
  let al = old;
  let cf: u32 = 0;
  let af: u32 = 0;
  // unlike DAA, the borrow out of AL - 6 sets CF (SDM: CF <- old_CF or borrow) and no later
  // step clears it
  if ((al & 0xf) > 9 || getAF()) { if (al < 6) cf = CF; al -= 6; af = AF; }
  if (old > 0x99 || oldCf) { al -= 0x60; cf = CF; }
  w8(EAX, al);
  setFlagsEager(CF | AF | PF | ZF | SF, cf | af | szpOf(al, 1));
}

// AAA (0x37) and AAS (0x3F): `sign` is +1 or -1.
export function aaaOrAas(add: bool): void {
  let ax = r16(EAX);
  let f: u32 = 0;
  if ((ax & 0xf) > 9 || getAF()) {
    ax = add ? ax + 0x106 : ax - 0x106;
    f = CF | AF;
  }
  w16(EAX, ax & 0xff0f);
  setFlagsEager(CF | AF, f);
}

export function aam(base: u32): void {
  if (base == 0) { raise(EXC_DE); return; }
  const al = r8(EAX);
  const r = al % base;
  w16(EAX, ((al / base) << 8) | r);
  setFlagsEager(ZF | SF | PF | CF | OF | AF, szpOf(r, 1));
}

export function aad(base: u32): void {
  const ax = r16(EAX);
  const r = ((ax & 0xff) + (ax >> 8) * base) & 0xff;
  w16(EAX, r);
  setFlagsEager(ZF | SF | PF | CF | OF | AF, szpOf(r, 1));
}

// Helpers shared by the multiply, shift and bit families.
@inline export function signBit(v: u32, bytes: u32): u32 { return (v >> ((bytes << 3) - 1)) & 1; }
@inline export function signExtend(v: u32, bytes: u32): i32 {
  return bytes == 4 ? <i32>v : bytes == 2 ? <i32><i16>v : <i32><i8>v;
}
@inline export function maskTo(v: u32, bytes: u32): u32 { return v & sizeMask(bytes); }
