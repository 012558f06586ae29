// String instructions MOVS CMPS STOS LODS SCAS with REP/REPE/REPNE. Each iteration commits its
// index-register updates only after its memory accesses succeed, so a fault mid-string restarts
// the instruction with ECX/ESI/EDI showing the progress made, as on hardware. A long REP yields
// after a bounded number of iterations (the instruction restarts) so that one instruction can
// never hold the host for long. REP MOVS and REP STOS forward through flat segments, the memcpy
// and memset of compiled code, move whole runs within a page at once when the TLB already allows
// them (bulk(): the same result, the iterations counted the same way); REPE/REPNE SCAS and CMPS
// compare such runs in a loop of their own (bulkCompare()), the memchr and memcmp of compiled code.
import {
  a32, r32, w32, r16, w16, segOverride, repPrefix, pending, eip, instrStart, flatMask, cpl,
  ECX, ESI, EDI, EAX, DF,
} from "./state";
import { storableAtOnce, ramBase, ramSize } from "../memory/physical";
import { codeWritten } from "../jit/code-pages";
import { pagingEnabled } from "../memory/linear";
import { tlbLookup } from "../mmu/tlb";
import { SR_DS, SR_ES } from "../vmcs-layout";
import { flagsWord, getZF } from "./flags";
import { readSeg, writeSeg } from "./segment";
import { readReg, writeReg } from "./modrm";
import { alu, ALU_CMP } from "./alu";
import { budget } from "./retirement";

export const STR_MOVS: u32 = 0;
export const STR_CMPS: u32 = 1;
export const STR_STOS: u32 = 2;
export const STR_LODS: u32 = 3;
export const STR_SCAS: u32 = 4;
// INS/OUTS that do not exit: there is no device behind the port, so INS stores all ones and
// OUTS reads and drops its data; the index and count registers move as on hardware.
export const STR_INS: u32 = 5;
export const STR_OUTS: u32 = 6;

const MAX_ITERATIONS_PER_STEP: u32 = 1 << 16;

@inline function index(reg: u32): u32 { return a32 ? r32(reg) : r16(reg); }
@inline function setIndex(reg: u32, v: u32): void { if (a32) w32(reg, v); else w16(reg, v); }
@inline function sourceSeg(): u32 { return segOverride >= 0 ? <u32>segOverride : SR_DS; }

function iteration(op: u32, bytes: u32, delta: u32): void {
  switch (op) {
    case STR_MOVS: {
      const v = readSeg(sourceSeg(), index(ESI), bytes);
      if (pending) return;
      writeSeg(SR_ES, index(EDI), bytes, v);
      if (pending) return;
      setIndex(ESI, index(ESI) + delta);
      setIndex(EDI, index(EDI) + delta);
      return;
    }
    case STR_CMPS: {
      const a = readSeg(sourceSeg(), index(ESI), bytes);
      if (pending) return;
      const b = readSeg(SR_ES, index(EDI), bytes);
      if (pending) return;
      alu(ALU_CMP, a, b, bytes);
      setIndex(ESI, index(ESI) + delta);
      setIndex(EDI, index(EDI) + delta);
      return;
    }
    case STR_STOS: {
      writeSeg(SR_ES, index(EDI), bytes, readReg(EAX, bytes));
      if (pending) return;
      setIndex(EDI, index(EDI) + delta);
      return;
    }
    case STR_LODS: {
      const v = readSeg(sourceSeg(), index(ESI), bytes);
      if (pending) return;
      writeReg(EAX, bytes, v);
      setIndex(ESI, index(ESI) + delta);
      return;
    }
    case STR_INS: {
      writeSeg(SR_ES, index(EDI), bytes, 0xffffffff);
      if (pending) return;
      setIndex(EDI, index(EDI) + delta);
      return;
    }
    case STR_OUTS: {
      readSeg(sourceSeg(), index(ESI), bytes);
      if (pending) return;
      setIndex(ESI, index(ESI) + delta);
      return;
    }
    default: { // SCAS
      const b = readSeg(SR_ES, index(EDI), bytes);
      if (pending) return;
      alu(ALU_CMP, readReg(EAX, bytes), b, bytes);
      setIndex(EDI, index(EDI) + delta);
      return;
    }
  }
}

// The guest-physical address of `lin` for a bulk access, or -1 when only the one-iteration path
// may touch it (a TLB miss, a permission missing: that path walks, faults or traps as it must).
@inline function bulkPhysical(lin: u32, write: bool): i64 {
  return pagingEnabled ? tlbLookup(lin, write, cpl == 3) : <i64>lin;
}

// How many of `most` elements of `bytes` from `dst` (and from `src` too when `both`) lie within their page.
@inline function withinPages(dst: u32, src: u32, both: bool, bytes: u32, most: u32): u32 {
  const n = min(most, (0x1000 - (dst & 0xfff)) / bytes);
  return both ? min(n, (0x1000 - (src & 0xfff)) / bytes) : n;
}

// Up to `most` iterations of REP MOVS/STOS done at once, all within one page of the source and
// of the destination; 0 when the next iteration must take the ordinary path. Only for 32-bit
// addresses, DF = 0 and flat segments, and never when the destination overlaps the source ahead
// of it (the element-by-element copy would replicate what memory.copy moves).
function bulk(op: u32, bytes: u32, most: u32): u32 {
  const dst = r32(EDI), src = r32(ESI);
  const n = withinPages(dst, src, op == STR_MOVS, bytes, most);
  if (n == 0) return 0;
  const len = n * bytes;
  const to = bulkPhysical(dst, true);
  if (to < 0 || !storableAtOnce(<u32>to, len)) return 0;
  if (op == STR_MOVS) {
    const from = bulkPhysical(src, false);
    if (from < 0 || <u32>from > ramSize - len || (to > from && <u32>(to - from) < len)) return 0;
    memory.copy(ramBase + <u32>to, ramBase + <u32>from, len);
    w32(ESI, src + len);
  } else {
    const v = r32(EAX);
    const at = ramBase + <u32>to;
    if (bytes == 1) memory.fill(at, <u8>v, len);
    else if (bytes == 2) for (let i: u32 = 0; i < len; i += 2) store<u16>(at + i, <u16>v);
    else for (let i: u32 = 0; i < len; i += 4) store<u32>(at + i, v);
  }
  codeWritten(<u32>to, len);
  w32(EDI, dst + len);
  return n;
}

// The element of `bytes` at host address `at`.
@inline function element(at: u32, bytes: u32): u32 {
  return bytes == 1 ? <u32>load<u8>(at) : bytes == 2 ? <u32>load<u16>(at) : load<u32>(at);
}

// Up to `most` iterations of REPE/REPNE SCAS (`op`) or CMPS done at once, within one page of
// [EDI] (and of [ESI] for CMPS), up to and including the compare that ends the repetition; the
// flags are that last compare's. 0 when the next iteration must take the ordinary path. Only where
// bulk() runs: 32-bit addresses, DF = 0 and flat segments.
function bulkCompare(op: u32, bytes: u32, most: u32): u32 {
  const dst = r32(EDI), src = r32(ESI);
  const n = withinPages(dst, src, op == STR_CMPS, bytes, most);
  if (n == 0) return 0;
  const len = n * bytes;
  const to = bulkPhysical(dst, false);
  if (to < 0 || <u32>to > ramSize - len) return 0;
  let from: i64 = 0;
  if (op == STR_CMPS) {
    from = bulkPhysical(src, false);
    if (from < 0 || <u32>from > ramSize - len) return 0;
  }
  // SCAS compares the accumulator with [EDI], CMPS [ESI] with [EDI]; REPE goes on while they are
  // equal, REPNE while they differ
  const whileEqual = repPrefix == 0xf3;
  const accumulator = readReg(EAX, bytes);
  const right = ramBase + <u32>to, left = ramBase + <u32>from;
  let a: u32 = 0, b: u32 = 0;
  let done: u32 = 0;
  while (done < n) {
    const offset = done * bytes;
    a = op == STR_CMPS ? element(left + offset, bytes) : accumulator;
    b = element(right + offset, bytes);
    done++;
    if ((a == b) != whileEqual) break;
  }
  alu(ALU_CMP, a, b, bytes);
  const moved = done * bytes;
  if (op == STR_CMPS) w32(ESI, src + moved);
  w32(EDI, dst + moved);
  return done;
}

// Whether bulk() or bulkCompare() may be tried for this string instruction.
function bulkAllowed(op: u32): bool {
  if (!a32 || (flagsWord & DF) || !(flatMask & (1 << SR_ES))) return false;
  if (op == STR_STOS || op == STR_SCAS) return true;
  return (op == STR_MOVS || op == STR_CMPS) && (flatMask & (1 << sourceSeg())) != 0;
}

export function stringInstruction(op: u32, bytes: u32): void {
  const delta: u32 = (flagsWord & DF) ? 0 - bytes : bytes;
  if (repPrefix == 0) { iteration(op, bytes, delta); return; }
  const compares = op == STR_CMPS || op == STR_SCAS;
  // Each iteration costs one unit of the instruction budget (the instruction itself paid for the
  // first), so a REP with a huge count cannot hold the host past its budget.
  const limit: u32 = budget < MAX_ITERATIONS_PER_STEP ? budget + 1 : MAX_ITERATIONS_PER_STEP;
  let n: u32 = 0;
  let done = false;
  const fast = bulkAllowed(op);
  while (n < limit) {
    const count = index(ECX);
    if (count == 0) { done = true; break; }
    if (fast) {
      const most = min(count, limit - n);
      const moved = compares ? bulkCompare(op, bytes, most) : bulk(op, bytes, most);
      if (moved != 0) {
        n += moved;
        setIndex(ECX, count - moved);
        if (compares && (repPrefix == 0xf3) != getZF()) { done = true; break; }
        continue;
      }
    }
    iteration(op, bytes, delta);
    if (pending) { done = true; break; }
    n++;
    setIndex(ECX, count - 1);
    // REPE stops on ZF=0, REPNE on ZF=1
    if (compares && (repPrefix == 0xf3) != getZF()) { done = true; break; }
  }
  if (n > 1) budget -= n - 1;
  if (!done && index(ECX) != 0) eip = instrStart; // not finished: execute the instruction again
}
