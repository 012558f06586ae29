// Lazy arithmetic flags (as v86 and Bochs do): an ALU instruction records its operands, result
// and operand size; CF PF AF ZF SF OF are computed only when something reads them.
// `flagsWord` holds every EFLAGS bit; the bits in `lazyMask` are stale there and come from the
// recorded operation instead.
import { CF, PF, AF, ZF, SF, OF, ARITH_FLAGS } from "./state";

import { LAZY_ADD, LAZY_SUB, LAZY_LOGIC } from "../jit-abi";

export let flagsWord: u32 = 2;
export let lazyMask: u32 = 0;
export let lfOp: u32 = LAZY_LOGIC;
export let lfA: u32 = 0;
export let lfB: u32 = 0;
export let lfRes: u32 = 0; // already masked to the operand size
export let lfSign: u32 = 31; // bit number of the sign bit (7, 15 or 31)

@inline export function sizeMask(bytes: u32): u32 { return bytes == 4 ? 0xffffffff : (1 << (bytes << 3)) - 1; }

// Record an ADD/SUB-family result. `bytes` is the operand size.
@inline export function setArith(op: u32, a: u32, b: u32, res: u32, bytes: u32): void {
  lfOp = op;
  lfA = a;
  lfB = b;
  lfRes = res & sizeMask(bytes);
  lfSign = (bytes << 3) - 1;
  lazyMask = ARITH_FLAGS;
}

// INC and DEC leave CF alone: capture it before the lazy state is overwritten.
@inline export function setIncDec(op: u32, a: u32, res: u32, bytes: u32): void {
  const cf = getCF();
  flagsWord = (flagsWord & ~CF) | cf;
  lfOp = op;
  lfA = a;
  lfB = 1;
  lfRes = res & sizeMask(bytes);
  lfSign = (bytes << 3) - 1;
  lazyMask = ARITH_FLAGS & ~CF;
}

@inline export function setLogic(res: u32, bytes: u32): void {
  lfOp = LAZY_LOGIC;
  lfRes = res & sizeMask(bytes);
  lfSign = (bytes << 3) - 1;
  lazyMask = ARITH_FLAGS;
}

// Set the arithmetic flags eagerly (shifts, multiplies, BT...). `mask` says which ones to replace.
@inline export function setFlagsEager(mask: u32, values: u32): void {
  materialize();
  flagsWord = (flagsWord & ~mask) | (values & mask);
}

// Flags of a result that shares ZF/SF/PF with a logic op (for eager computations).
export function szpOf(res: u32, bytes: u32): u32 {
  const r = res & sizeMask(bytes);
  let f: u32 = 0;
  if (r == 0) f |= ZF;
  if ((r >> ((bytes << 3) - 1)) & 1) f |= SF;
  f |= parityOf(r);
  return f;
}

@inline export function parityOf(v: u32): u32 {
  return (popcnt<u32>(v & 0xff) & 1) ? 0 : PF;
}

// Of a recorded ADD or SUB: the carries (borrows) out of each bit, and the bits whose signed
// result overflowed; CF and OF are these at bit lfSign.
@inline function carriesOut(a: u32, b: u32, res: u32): u32 {
  return lfOp == LAZY_ADD ? (a & b) | ((a | b) & ~res) : (~a & b) | ((~a | b) & res);
}
@inline function overflowsOut(a: u32, b: u32, res: u32): u32 {
  return lfOp == LAZY_ADD ? (a ^ res) & (b ^ res) : (a ^ b) & (a ^ res);
}

export function getCF(): u32 {
  if (!(lazyMask & CF)) return flagsWord & CF;
  if (lfOp == LAZY_LOGIC) return 0;
  return (carriesOut(lfA, lfB, lfRes) >> lfSign) & 1;
}

@inline export function getZF(): bool {
  return (lazyMask & ZF) ? lfRes == 0 : (flagsWord & ZF) != 0;
}

@inline export function getSF(): bool {
  return (lazyMask & SF) ? ((lfRes >> lfSign) & 1) != 0 : (flagsWord & SF) != 0;
}

export function getOF(): bool {
  if (!(lazyMask & OF)) return (flagsWord & OF) != 0;
  if (lfOp == LAZY_LOGIC) return false;
  return ((overflowsOut(lfA, lfB, lfRes) >> lfSign) & 1) != 0;
}

@inline export function getPF(): bool {
  return (lazyMask & PF) ? parityOf(lfRes) != 0 : (flagsWord & PF) != 0;
}

export function getAF(): bool {
  if (!(lazyMask & AF)) return (flagsWord & AF) != 0;
  if (lfOp == LAZY_LOGIC) return false;
  return ((lfA ^ lfB ^ lfRes) & AF) != 0;
}

// Fold the lazy state into flagsWord (before anything reads or replaces EFLAGS as a whole, and
// at every VM exit): all six flags at once, with the getters' formulas and no calls.
export function materialize(): void {
  const mask = lazyMask;
  if (mask == 0) return;
  const res = lfRes;
  let f: u32 = parityOf(res) | (res == 0 ? ZF : 0) | (((res >> lfSign) & 1) << 7); // SF is bit 7
  if (lfOp != LAZY_LOGIC) { // logic operations clear CF, AF and OF
    const a = lfA;
    const b = lfB;
    f |= ((carriesOut(a, b, res) >> lfSign) & 1) | ((a ^ b ^ res) & AF) | (((overflowsOut(a, b, res) >> lfSign) & 1) << 11); // OF is bit 11
  }
  flagsWord = (flagsWord & ~mask) | (f & mask);
  lazyMask = 0;
}

// The full EFLAGS value (bit 1 is always set).
export function getEflags(): u32 {
  materialize();
  return flagsWord | 2;
}

// The EFLAGS bits this CPU keeps (bit 1 reads as 1, and is added where the word is read).
export const EFLAGS_BITS: u32 = 0x3f7fd5;

export function setEflags(v: u32): void {
  flagsWord = (v & EFLAGS_BITS) | 2;
  lazyMask = 0;
}

// Evaluate condition code cc (the low nibble of Jcc/SETcc/CMOVcc).
export function condition(cc: u32): bool {
  let r: bool;
  switch (cc >> 1) {
    case 0: r = getOF(); break;
    case 1: r = getCF() != 0; break;
    case 2: r = getZF(); break;
    case 3: r = getCF() != 0 || getZF(); break;
    case 4: r = getSF(); break;
    case 5: r = getPF(); break;
    case 6: r = getSF() != getOF(); break;
    default: r = getZF() || getSF() != getOF(); break;
  }
  return (cc & 1) ? !r : r;
}
