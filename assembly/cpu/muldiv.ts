// Multiply and divide: MUL/IMUL/DIV/IDIV of group 3 (implicit AL/AX/EAX, AH/DX/EDX operands) and
// the two- and three-operand IMUL. Divide by zero and quotient overflow raise #DE before any
// register changes. SF ZF PF AF are undefined after MUL/IMUL; we set them from the low result.
import { r8, r16, r32, w16, w32, w8, EAX, EDX, raise, EXC_DE, CF, OF, SF, ZF, PF, AF } from "./state";
import { setFlagsEager, szpOf } from "./flags";
import { signExtend } from "./alu";

const MUL_FLAGS: u32 = CF | OF | SF | ZF | PF | AF;

function setMulFlags(overflow: bool, low: u32, bytes: u32): void {
  setFlagsEager(MUL_FLAGS, (overflow ? CF | OF : 0) | szpOf(low, bytes));
}

export function mul(src: u32, bytes: u32): void {
  if (bytes == 1) {
    const r = r8(EAX) * (src & 0xff);
    w16(EAX, r);
    setMulFlags((r >> 8) != 0, r, 1);
  } else if (bytes == 2) {
    const r = r16(EAX) * (src & 0xffff);
    w16(EAX, r);
    w16(EDX, r >> 16);
    setMulFlags((r >> 16) != 0, r, 2);
  } else {
    const r: u64 = <u64>r32(EAX) * <u64>src;
    w32(EAX, <u32>r);
    w32(EDX, <u32>(r >> 32));
    setMulFlags((r >> 32) != 0, <u32>r, 4);
  }
}

export function imul1(src: u32, bytes: u32): void {
  if (bytes == 1) {
    const r = <i32><i8>r8(EAX) * <i32><i8>src;
    w16(EAX, r);
    setMulFlags(r != <i32><i8>r, r, 1);
  } else if (bytes == 2) {
    const r = <i32><i16>r16(EAX) * <i32><i16>src;
    w16(EAX, r);
    w16(EDX, r >> 16);
    setMulFlags(r != <i32><i16>r, r, 2);
  } else {
    const r: i64 = <i64><i32>r32(EAX) * <i64><i32>src;
    w32(EAX, <u32>r);
    w32(EDX, <u32>(r >> 32));
    setMulFlags(r != <i64><i32>r, <u32>r, 4);
  }
}

// IMUL r, r/m (, imm): truncated product; CF = OF = the product did not fit.
export function imulTruncated(a: u32, b: u32, bytes: u32): u32 {
  const r: i64 = <i64>signExtend(a, bytes) * <i64>signExtend(b, bytes);
  const low = <u32>r;
  setMulFlags(r != <i64>signExtend(low, bytes), low, bytes);
  return low;
}

export function div(src: u32, bytes: u32): void {
  if (bytes == 1) {
    const d = src & 0xff;
    if (d == 0) { raise(EXC_DE); return; }
    const n = r16(EAX);
    const q = n / d;
    if (q > 0xff) { raise(EXC_DE); return; }
    w8(EAX, q);
    w8(EAX + 4, n % d); // AH
  } else if (bytes == 2) {
    const d = src & 0xffff;
    if (d == 0) { raise(EXC_DE); return; }
    const n = (r16(EDX) << 16) | r16(EAX);
    const q = n / d;
    if (q > 0xffff) { raise(EXC_DE); return; }
    w16(EAX, q);
    w16(EDX, n % d);
  } else {
    if (src == 0) { raise(EXC_DE); return; }
    const n: u64 = (<u64>r32(EDX) << 32) | <u64>r32(EAX);
    const q = n / <u64>src;
    if (q > 0xffffffff) { raise(EXC_DE); return; }
    w32(EAX, <u32>q);
    w32(EDX, <u32>(n % <u64>src));
  }
}

export function idiv(src: u32, bytes: u32): void {
  const d: i64 = <i64>signExtend(src, bytes);
  if (d == 0) { raise(EXC_DE); return; }
  let n: i64;
  if (bytes == 1) n = <i64><i16>r16(EAX);
  else if (bytes == 2) n = <i64><i32>((r16(EDX) << 16) | r16(EAX));
  else n = <i64>((<u64>r32(EDX) << 32) | <u64>r32(EAX));
  // i64 division traps on MIN / -1; that quotient overflows every operand size anyway
  if (n == i64.MIN_VALUE && d == -1) { raise(EXC_DE); return; }
  const q = n / d;
  const rem = n % d;
  if (q != <i64>signExtend(<u32>q, bytes)) { raise(EXC_DE); return; }
  if (bytes == 1) { w8(EAX, <u32>q); w8(EAX + 4, <u32>rem); }
  else if (bytes == 2) { w16(EAX, <u32>q); w16(EDX, <u32>rem); }
  else { w32(EAX, <u32>q); w32(EDX, <u32>rem); }
}
