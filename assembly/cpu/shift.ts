// Shifts and rotates: group 2 (ROL ROR RCL RCR SHL SHR SAL SAR) and SHLD/SHRD.
// The count is masked to 5 bits; a masked count of 0 changes neither the operand nor the flags.
// OF is defined only for a count of 1 (we compute the SDM formula for every count, as QEMU does).
import { getCF, setFlagsEager, szpOf, sizeMask } from "./flags";
import { CF, OF, PF, ZF, SF, AF } from "./state";
import { signExtend } from "./alu";

const SZP: u32 = SF | ZF | PF;

// Returns the new operand value. `bytes` is the operand size, `count` already masked to 5 bits and
// non-zero (callers skip the instruction for a zero count).
export function shiftRotate(kind: u32, v: u32, count: u32, bytes: u32): u32 {
  const bits = bytes << 3;
  const mask = sizeMask(bytes);
  v &= mask;
  const msb = bits - 1;
  let r: u32;
  let cf: u32;
  let ovf: u32;
  switch (kind) {
    case 0: { // ROL
      const n = count & msb;
      r = n == 0 ? v : ((v << n) | (v >> (bits - n))) & mask;
      cf = r & 1;
      ovf = ((r >> msb) ^ cf) & 1;
      setFlagsEager(CF | OF, cf | (ovf << 11));
      return r;
    }
    case 1: { // ROR
      const n = count & msb;
      r = n == 0 ? v : ((v >> n) | (v << (bits - n))) & mask;
      cf = (r >> msb) & 1;
      ovf = ((r >> msb) ^ (r >> (msb - 1))) & 1;
      setFlagsEager(CF | OF, cf | (ovf << 11));
      return r;
    }
    case 2: { // RCL: rotate the (bits+1)-bit quantity CF:v left
      const n = count % (bits + 1);
      const wide: u64 = (<u64>getCF() << bits) | <u64>v;
      const span = bits + 1;
      const rot: u64 = n == 0 ? wide : ((wide << n) | (wide >> (span - n))) & ((<u64>1 << span) - 1);
      r = <u32>(rot & mask);
      cf = <u32>(rot >> bits) & 1;
      ovf = ((r >> msb) ^ cf) & 1;
      setFlagsEager(CF | OF, cf | (ovf << 11));
      return r;
    }
    case 3: { // RCR: OF is computed from the operand before the rotation
      const n = count % (bits + 1);
      ovf = ((v >> msb) ^ getCF()) & 1;
      const wide: u64 = (<u64>getCF() << bits) | <u64>v;
      const span = bits + 1;
      const rot: u64 = n == 0 ? wide : ((wide >> n) | (wide << (span - n))) & ((<u64>1 << span) - 1);
      r = <u32>(rot & mask);
      cf = <u32>(rot >> bits) & 1;
      setFlagsEager(CF | OF, cf | (ovf << 11));
      return r;
    }
    case 4: case 6: { // SHL / SAL
      const wide: u64 = <u64>v << count;
      r = <u32>wide & mask;
      cf = <u32>(wide >> bits) & 1;
      ovf = ((r >> msb) ^ cf) & 1;
      break;
    }
    case 5: { // SHR
      cf = count <= bits ? (v >> (count - 1)) & 1 : 0;
      r = count >= bits ? 0 : v >> count;
      ovf = (v >> msb) & 1;
      break;
    }
    default: { // SAR
      const s: i64 = <i64>signExtend(v, bytes);
      cf = <u32>(s >> (count - 1)) & 1;
      r = <u32>(s >> count) & mask;
      ovf = 0;
      break;
    }
  }
  setFlagsEager(CF | OF | SZP | AF, cf | (ovf << 11) | szpOf(r, bytes));
  return r;
}

// SHLD (left) / SHRD: shift `dst` by `count` (masked, non-zero) filling from `src`.
export function doubleShift(left: bool, dst: u32, src: u32, count: u32, bytes: u32): u32 {
  const bits = bytes << 3;
  const mask = sizeMask(bytes);
  dst &= mask;
  src &= mask;
  let r: u32;
  let cf: u32;
  if (bytes == 4) {
    if (left) {
      const wide: u64 = (<u64>dst << 32) | <u64>src;
      r = <u32>((wide << count) >> 32);
      cf = (dst >> (32 - count)) & 1;
    } else {
      const wide: u64 = (<u64>src << 32) | <u64>dst;
      r = <u32>(wide >> count);
      cf = (dst >> (count - 1)) & 1;
    }
  } else {
    // 16-bit: the SDM leaves counts above 16 undefined; shift the 48-bit dst:src:dst pattern
    // as Intel processors do.
    if (left) {
      const wide: u64 = (<u64>dst << 32) | (<u64>src << 16) | <u64>dst;
      r = <u32>((wide << count) >> 32) & mask;
      cf = <u32>((wide << (count - 1)) >> 47) & 1;
    } else {
      const wide: u64 = (<u64>dst << 32) | (<u64>src << 16) | <u64>dst;
      r = <u32>(wide >> count) & mask;
      cf = <u32>(wide >> (count - 1)) & 1;
    }
  }
  const ovf = ((r ^ dst) >> (bits - 1)) & 1;
  setFlagsEager(CF | OF | SZP | AF, cf | (ovf << 11) | szpOf(r, bytes));
  return r;
}
