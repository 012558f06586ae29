// Bit instructions: BT/BTS/BTR/BTC (register, immediate and the memory form whose bit offset
// reaches beyond the addressed word), BSF/BSR and BSWAP.
import { CF, ZF, pending, r32, w32 } from "./state";
import { setFlagsEager } from "./flags";
import { modIsReg, eaOff, eaSeg, modRm, readReg, writeReg } from "./modrm";
import { segAddr } from "./segment";
import { linRead, linWrite, probeWrite } from "../memory/linear";
import { cpl } from "./state";

// op: 0 BT, 1 BTS, 2 BTR, 3 BTC. `offset` is the bit offset; `fromReg` says it came from a
// register (signed, may address memory outside the operand) rather than an immediate.
export function bitTest(op: u32, offset: u32, fromReg: bool, bytes: u32): void {
  const bits = bytes << 3;
  let v: u32;
  let bit: u32;
  if (modIsReg) {
    bit = offset & (bits - 1);
    v = readReg(modRm, bytes);
    setFlagsEager(CF, (v >> bit) & 1);
    if (op != 0) writeReg(modRm, bytes, applyBitOp(op, v, bit));
    return;
  }
  let off = eaOff;
  if (fromReg) {
    const signed = bytes == 4 ? <i32>offset : <i32><i16>offset;
    off += <u32>((signed >> (bytes == 4 ? 5 : 4)) * <i32>bytes);
    bit = <u32>signed & (bits - 1);
  } else {
    bit = offset & (bits - 1);
  }
  const lin = segAddr(eaSeg, off, bytes, op != 0);
  if (pending) return;
  if (op != 0) { probeWrite(lin, bytes, cpl == 3); if (pending) return; }
  v = linRead(lin, bytes, cpl == 3);
  if (pending) return;
  setFlagsEager(CF, (v >> bit) & 1);
  if (op != 0) linWrite(lin, bytes, applyBitOp(op, v, bit), cpl == 3);
}

function applyBitOp(op: u32, v: u32, bit: u32): u32 {
  if (op == 1) return v | (1 << bit);
  if (op == 2) return v & ~(1 << bit);
  return v ^ (1 << bit);
}

// BSF / BSR: ZF = 1 and the destination unchanged when the source is zero.
export function bitScan(reverse: bool, src: u32, dstReg: u32, bytes: u32): void {
  if (src == 0) { setFlagsEager(ZF, ZF); return; }
  const index = reverse ? 31 - clz<u32>(src) : ctz<u32>(src);
  writeReg(dstReg, bytes, index);
  setFlagsEager(ZF, 0);
}

export function byteSwap(reg: u32): void {
  w32(reg, bswap<u32>(r32(reg)));
}
