// String instructions MOVS CMPS STOS LODS SCAS with REP/REPE/REPNE. Each iteration commits its
// index-register updates only after its memory accesses succeed, so a fault mid-string restarts
// the instruction with ECX/ESI/EDI showing the progress made, as on hardware. A long REP yields
// after a bounded number of iterations (the instruction restarts) so that one instruction can
// never hold the host for long.
import {
  a32, r32, w32, r16, w16, segOverride, repPrefix, pending, eip, instrStart,
  ECX, ESI, EDI, EAX, DF,
} from "./state";
import { SR_DS, SR_ES } from "../vmcs-layout";
import { flagsWord, getZF } from "./flags";
import { readSeg, writeSeg } from "./segment";
import { readReg, writeReg } from "./modrm";
import { alu, ALU_CMP } from "./alu";
import { budget } from "./run";

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

export function stringInstruction(op: u32, bytes: u32): void {
  const delta: u32 = (flagsWord & DF) ? 0 - bytes : bytes;
  if (repPrefix == 0) { iteration(op, bytes, delta); return; }
  const compares = op == STR_CMPS || op == STR_SCAS;
  // Each iteration costs one unit of the instruction budget (the instruction itself paid for the
  // first), so a REP with a huge count cannot hold the host past its budget.
  const limit: u32 = budget < MAX_ITERATIONS_PER_STEP ? budget + 1 : MAX_ITERATIONS_PER_STEP;
  let n: u32 = 0;
  let done = false;
  while (n < limit) {
    const count = index(ECX);
    if (count == 0) { done = true; break; }
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
