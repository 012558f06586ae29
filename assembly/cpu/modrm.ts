// ModR/M decoding: the register field, and the effective address (segment and offset) of a memory
// operand in 32-bit (with SIB) or 16-bit addressing, plus read/write helpers for the r/m operand.
import {
  a32, segOverride, r32, w32, r16, w16, r8, w8, pending, cpl, flatMask,
  EBX, EBP, ESI, EDI,
} from "./state";
import { SR_DS, SR_SS } from "../vmcs-layout";
import { fetch8, fetch16, fetch32 } from "./fetch";
import { segAddr, readSeg, writeSeg } from "./segment";
import { ramBase, ramSize, writeTrapped } from "../memory/physical";
import { storeTracked } from "../jit/code-pages";
import { linRead, linWrite, probeWrite, pagingEnabled } from "../memory/linear";

export let modReg: u32 = 0; // bits 5:3
export let modRm: u32 = 0; // bits 2:0 (register number when modIsReg)
export let modIsReg: bool = false;
export let eaSeg: u32 = SR_DS;
export let eaOff: u32 = 0;

export function decodeModrm(): void {
  const m = fetch8();
  modReg = (m >> 3) & 7;
  modRm = m & 7;
  if (m >= 0xc0) { modIsReg = true; return; }
  modIsReg = false;
  if (a32) decodeEa32(m); else decodeEa16(m);
}

function decodeEa32(m: u32): void {
  const mod = m >> 6;
  const rm = m & 7;
  let seg = SR_DS;
  let off: u32;
  if (rm == 4) {
    const sib = fetch8();
    const index = (sib >> 3) & 7;
    const base = sib & 7;
    off = index == 4 ? 0 : r32(index) << (sib >> 6);
    if (base == 5 && mod == 0) {
      off += fetch32();
    } else {
      off += r32(base);
      if (base == 4 || base == 5) seg = SR_SS;
    }
  } else if (rm == 5 && mod == 0) {
    off = fetch32();
  } else {
    off = r32(rm);
    if (rm == 5) seg = SR_SS;
  }
  if (mod == 1) off += <u32><i32><i8>fetch8();
  else if (mod == 2) off += fetch32();
  eaOff = off;
  eaSeg = segOverride >= 0 ? <u32>segOverride : seg;
}

function decodeEa16(m: u32): void {
  const mod = m >> 6;
  const rm = m & 7;
  let seg = SR_DS;
  let off: u32;
  switch (rm) {
    case 0: off = r16(EBX) + r16(ESI); break;
    case 1: off = r16(EBX) + r16(EDI); break;
    case 2: off = r16(EBP) + r16(ESI); seg = SR_SS; break;
    case 3: off = r16(EBP) + r16(EDI); seg = SR_SS; break;
    case 4: off = r16(ESI); break;
    case 5: off = r16(EDI); break;
    case 6:
      if (mod == 0) off = fetch16();
      else { off = r16(EBP); seg = SR_SS; }
      break;
    default: off = r16(EBX); break;
  }
  if (mod == 1) off += <u32><i32><i8>fetch8();
  else if (mod == 2) off += fetch16();
  eaOff = off & 0xffff;
  eaSeg = segOverride >= 0 ? <u32>segOverride : seg;
}

// ---- Register operands by size ---------------------------------------------------------------
@inline export function readReg(r: u32, bytes: u32): u32 {
  return bytes == 4 ? r32(r) : bytes == 2 ? r16(r) : r8(r);
}
@inline export function writeReg(r: u32, bytes: u32, v: u32): void {
  if (bytes == 4) w32(r, v);
  else if (bytes == 2) w16(r, v);
  else w8(r, v);
}

// ---- The r/m operand ---------------------------------------------------------------------------
// The common memory operand (flat segment, paging off, inside RAM) needs no checks at all: its
// host address is returned directly; 0 means "take the checked path".
@inline function directAddress(bytes: u32, write: bool): u32 {
  if (((flatMask >> eaSeg) & 1) && !pagingEnabled && eaOff <= ramSize - bytes &&
      !(write && writeTrapped(eaOff, bytes))) return ramBase + eaOff;
  return 0;
}
@inline function loadHost(h: u32, bytes: u32): u32 {
  return bytes == 4 ? load<u32>(h) : bytes == 2 ? <u32>load<u16>(h) : <u32>load<u8>(h);
}
@inline function storeHost(h: u32, bytes: u32, v: u32): void {
  storeTracked(h - ramBase, v, bytes);
}

export function readRm(bytes: u32): u32 {
  if (modIsReg) return readReg(modRm, bytes);
  const h = directAddress(bytes, false);
  if (h) return loadHost(h, bytes);
  return readSeg(eaSeg, eaOff, bytes);
}
export function writeRm(bytes: u32, v: u32): void {
  if (modIsReg) { writeReg(modRm, bytes, v); return; }
  const h = directAddress(bytes, true);
  if (h) storeHost(h, bytes, v);
  else writeSeg(eaSeg, eaOff, bytes, v);
}

// Read-modify-write of the r/m operand: the write permission is checked before the read, so a
// read-only destination faults without a partial effect.
let rmwLin: u32 = 0;
let rmwHost: u32 = 0; // host address when the operand is directly accessible, else 0
export function readRmForWrite(bytes: u32): u32 {
  if (modIsReg) return readReg(modRm, bytes);
  rmwHost = directAddress(bytes, true);
  if (rmwHost) return loadHost(rmwHost, bytes);
  rmwLin = segAddr(eaSeg, eaOff, bytes, true);
  if (pending) return 0;
  probeWrite(rmwLin, bytes, cpl == 3);
  if (pending) return 0;
  return linRead(rmwLin, bytes, cpl == 3);
}
export function writeRmAfterRead(bytes: u32, v: u32): void {
  if (modIsReg) writeReg(modRm, bytes, v);
  else if (rmwHost) storeHost(rmwHost, bytes, v);
  else linWrite(rmwLin, bytes, v, cpl == 3);
}
