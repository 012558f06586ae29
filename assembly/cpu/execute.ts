// The one-byte opcode map: prefixes, then one dense switch over all 256 opcodes (a br_table in
// WASM; see docs/design.md on why the switch must stay dense). Families of instructions are implemented
// in their own modules; this file decodes operands and dispatches.
import {
  eip, instrStart, o32, a32, csDefault32, ssBig, segOverride, repPrefix, lockPrefix, pending, cpl,
  r32, w32, r16, w16, r8, w8, raise, segSel, segLimit, cr0,
  EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI,
  CF, ZF, DF, IF, IOPL, OF, AF, TF, NT, AC, ID, RF, VM, CR0_EM, CR0_TS,
  EXC_UD, EXC_GP, EXC_NM, EXC_BR, EXC_BP, EXC_OF, noteControlTransfer,
} from "./state";
import {
  SR_ES, SR_CS, SR_SS, SR_DS, SR_FS, SR_GS, INTERRUPTIBILITY_STI,
  EXIT_CLI, EXIT_STI, EXIT_PUSHF, EXIT_POPF,
} from "../vmcs-layout";
import { trapIfSensitive, mayChangeIf, ifPrivilege, shownSelector } from "./ifmode";
import { lengthFromOpcode, probedLength, isPrefix, lockAllowed } from "./length";
import { fetch8, fetch16, fetch32, peekModrm, nearWindowEnd, probeByte, bytesLeftInWindow } from "./fetch";
import {
  decodeModrm, modReg, modRm, modIsReg, eaOff, eaSeg, readReg, writeReg, readRm, writeRm,
  readRmForWrite, writeRmAfterRead,
} from "./modrm";
import { alu, inc, dec, neg, daa, das, aaaOrAas, aam, aad, ALU_CMP, signExtend } from "./alu";
import {
  flagsWord, condition, getEflags, setEflags, getCF, materialize, setFlagsEager, lazyMask,
} from "./flags";
import { shiftRotate } from "./shift";
import { mul, imul1, div, idiv, imulTruncated } from "./muldiv";
import { push, pop, pushV, popV, peek, getSp, setSp, spOffset, addSp } from "./stack";
import { stringInstruction, STR_MOVS, STR_CMPS, STR_STOS, STR_LODS, STR_SCAS } from "./string";
import { portIo, stringIo } from "./io";
import { readSeg, writeSeg, segAddr } from "./segment";
import { probeWrite } from "../memory/linear";
import { hlt } from "./system";
import { execute0f } from "./execute0f";
import { loadSegment, popSegment, loadFarPointer, farJump, farCall, farReturn } from "./protected";
import { softwareInterrupt, interruptReturn, EVENT_SW_EXCEPTION, EVENT_PRIV_SW_EXCEPTION } from "./interrupts";
import { blockEventsAfterThisInstruction } from "./retirement";
import { branchTarget, jumpTo } from "./branch";
import { noteIndirectTarget } from "../jit/indirect-targets";

@inline function osize(): u32 { return o32 ? 4 : 2; }

@inline function imm(bytes: u32): u32 {
  return bytes == 4 ? fetch32() : bytes == 2 ? fetch16() : fetch8();
}

@inline function jccShort(cc: u32): void {
  const rel = <u32>signExtend(fetch8(), 1);
  if (condition(cc)) jumpTo(eip + rel);
  noteControlTransfer();
}

// Execute one instruction. The decode state holds the defaults between instructions; only an
// instruction with prefixes changes it, and restores it when it is done.
@inline export function step(): void {
  instrStart = eip;
  if (nearWindowEnd()) {
    if (!pending) probeInstruction();
    if (pending) return;
  }
  execute(fetch8());
}

// Near the CS limit or a page end, fetch every byte of the instruction before executing it, so
// that a fault in its last bytes comes before any of its effects (SDM 6.5: faults restart).
function probeInstruction(): void {
  let ahead: u32 = 0;
  let b = probeByte(0);
  while (b >= 0 && isPrefix(<u32>b) && ahead < 14) {
    if (b == 0x66) o32 = !o32;
    else if (b == 0x67) a32 = !a32;
    b = probeByte(++ahead);
  }
  if (b >= 0) {
    // The bytes up to here were read in order. Of the rest, the first that can fault is the first
    // past the window (the next page's, or past the CS limit): the address CR2 must report.
    const length = probedLength(<u32>b, ahead);
    if (length > 0) {
      const last = ahead + <u32>length - 1;
      const inWindow = bytesLeftInWindow();
      probeByte(inWindow > ahead && last >= inWindow ? inWindow : last);
    }
  }
  resetDecodeState();
}

function prefixed(first: u32): void {
  let op = first;
  while (true) {
    switch (op) {
      case 0x26: segOverride = SR_ES; break;
      case 0x2e: segOverride = SR_CS; break;
      case 0x36: segOverride = SR_SS; break;
      case 0x3e: segOverride = SR_DS; break;
      case 0x64: segOverride = SR_FS; break;
      case 0x65: segOverride = SR_GS; break;
      case 0x66: o32 = !csDefault32; break;
      case 0x67: a32 = !csDefault32; break;
      case 0xf0: lockPrefix = true; break;
      case 0xf2: case 0xf3: repPrefix = op; break;
      default: {
        const length = lengthFromOpcode(op);
        if (length >= 0 && eip - 1 - instrStart + <u32>length > 15) raise(EXC_GP, 0); // too long
        else if (lockPrefix && !lockAllowed(op)) { if (!pending) raise(EXC_UD); }
        else execute(op);
        resetDecodeState();
        return;
      }
    }
    if (eip - instrStart >= 15) { raise(EXC_GP, 0); break; } // prefixes alone exceed 15 bytes
    op = fetch8();
  }
  resetDecodeState();
}

// The decode state with no prefixes (also set at VM entry, since CS.D may have changed).
export function resetDecodeState(): void {
  o32 = csDefault32;
  a32 = csDefault32;
  segOverride = -1;
  repPrefix = 0;
  lockPrefix = false;
}

// CLI (false) or STI (true) once allowed: also the binary translator's inline rewrite of them.
export function writeInterruptFlag(enable: bool): void {
  materialize();
  if (enable && !(flagsWord & IF)) blockEventsAfterThisInstruction(INTERRUPTIBILITY_STI);
  setEflags(enable ? flagsWord | IF : flagsWord & ~IF);
}

// Register-to-register ALU forms with 32-bit operands, the commonest instructions in compiled
// code, skip the generic operand helpers. `m` is a ModR/M byte >= 0xC0.
@inline function aluRegReg32(kind: u32, m: u32, toReg: bool): void {
  const rm = m & 7;
  const reg = (m >> 3) & 7;
  const dst = toReg ? reg : rm;
  const src = toReg ? rm : reg;
  const r = alu(kind, r32(dst), r32(src), 4);
  if (kind != ALU_CMP) w32(dst, r);
}

// ALU ops 00-3F: op & 7 selects the operand form, op >> 3 the operation.
@inline function aluForm(op: u32): void {
  const kind = op >> 3;
  switch (op & 7) {
    case 0: case 1: { // Eb,Gb / Ev,Gv
      const bytes: u32 = (op & 1) ? osize() : 1;
      if (bytes == 4 && peekModrm() >= 0xc0) { aluRegReg32(kind, fetch8(), false); return; }
      decodeModrm();
      if (pending) return;
      const a = kind == ALU_CMP ? readRm(bytes) : readRmForWrite(bytes);
      if (pending) return;
      const r = alu(kind, a, readReg(modReg, bytes), bytes);
      if (kind != ALU_CMP) writeRmAfterRead(bytes, r);
      return;
    }
    case 2: case 3: { // Gb,Eb / Gv,Ev
      const bytes: u32 = (op & 1) ? osize() : 1;
      if (bytes == 4 && peekModrm() >= 0xc0) { aluRegReg32(kind, fetch8(), true); return; }
      decodeModrm();
      if (pending) return;
      const b = readRm(bytes);
      if (pending) return;
      const r = alu(kind, readReg(modReg, bytes), b, bytes);
      if (kind != ALU_CMP) writeReg(modReg, bytes, r);
      return;
    }
    default: { // AL,Ib / eAX,Iv
      const bytes: u32 = (op & 1) ? osize() : 1;
      const r = alu(kind, readReg(EAX, bytes), imm(bytes), bytes);
      if (kind != ALU_CMP) writeReg(EAX, bytes, r);
    }
  }
}

// Group 1 (80 81 83): ALU op on r/m with an immediate.
function group1(bytes: u32, immBytes: u32): void {
  if (bytes == 4 && peekModrm() >= 0xc0) { // register destination, 32-bit
    const m = fetch8();
    const kind = (m >> 3) & 7;
    const b = immBytes == 1 ? <u32>signExtend(fetch8(), 1) : fetch32();
    const r = alu(kind, r32(m & 7), b, 4);
    if (kind != ALU_CMP) w32(m & 7, r);
    return;
  }
  decodeModrm();
  if (pending) return;
  const kind = modReg;
  const a = kind == ALU_CMP ? readRm(bytes) : readRmForWrite(bytes);
  if (pending) return;
  const b = immBytes == 1 ? <u32>signExtend(fetch8(), 1) : imm(immBytes);
  const r = alu(kind, a, b, bytes);
  if (kind != ALU_CMP) writeRmAfterRead(bytes, r);
}

// Group 2 (C0 C1 D0-D3): shifts and rotates; `countKind` 0 = imm8, 1 = one, 2 = CL.
function group2(bytes: u32, countKind: u32): void {
  decodeModrm();
  if (pending) return;
  let count: u32;
  if (countKind == 0) count = fetch8();
  else if (countKind == 1) count = 1;
  else count = r8(ECX);
  count &= 31;
  const v = readRmForWrite(bytes);
  if (pending || count == 0) return;
  writeRmAfterRead(bytes, shiftRotate(modReg, v, count, bytes));
}

// Group 3 (F6 F7): TEST NOT NEG MUL IMUL DIV IDIV.
function group3(bytes: u32): void {
  decodeModrm();
  if (pending) return;
  const kind = modReg;
  if (kind == 0 || kind == 1) { // TEST r/m, imm
    const a = readRm(bytes);
    if (pending) return;
    alu(4, a, imm(bytes), bytes);
    return;
  }
  if (kind == 2 || kind == 3) { // NOT / NEG
    const a = readRmForWrite(bytes);
    if (pending) return;
    writeRmAfterRead(bytes, kind == 2 ? ~a : neg(a, bytes));
    return;
  }
  const src = readRm(bytes);
  if (pending) return;
  if (kind == 4) mul(src, bytes);
  else if (kind == 5) imul1(src, bytes);
  else if (kind == 6) div(src, bytes);
  else idiv(src, bytes);
}

// Group 5 (FF): INC DEC CALL CALLF JMP JMPF PUSH.
function group5(): void {
  decodeModrm();
  if (pending) return;
  const bytes = osize();
  switch (modReg) {
    case 0: case 1: {
      const a = readRmForWrite(bytes);
      if (pending) return;
      writeRmAfterRead(bytes, modReg == 0 ? inc(a, bytes) : dec(a, bytes));
      return;
    }
    case 2: { // CALL near indirect
      const target = readRm(bytes);
      if (pending || !branchTarget(target)) return;
      pushV(eip);
      if (pending) return;
      jumpTo(target);
      noteIndirectTarget(instrStart, eip);
      noteControlTransfer();
      return;
    }
    case 4: { // JMP near indirect
      const target = readRm(bytes);
      if (pending) return;
      jumpTo(target);
      noteIndirectTarget(instrStart, eip);
      noteControlTransfer();
      return;
    }
    case 3: case 5: { // CALL/JMP far through memory m16:16/32
      if (modIsReg) { raise(EXC_UD); return; }
      const off = readSeg(eaSeg, eaOff, bytes);
      if (pending) return;
      const sel = readSeg(eaSeg, eaOff + bytes, 2);
      if (pending) return;
      if (modReg == 3) farCall(sel, off); else farJump(sel, off);
      noteControlTransfer();
      return;
    }
    case 6: { // PUSH r/m
      const v = readRm(bytes);
      if (pending) return;
      pushV(v);
      return;
    }
    default: raise(EXC_UD);
  }
}

function pushAll(): void {
  const bytes = osize();
  // check the lowest address first so that a fault leaves ESP and memory untouched
  const sp = getSp();
  const lin = segAddr(SR_SS, spOffset(0 - 8 * bytes), bytes * 8, true);
  if (pending) return;
  probeWrite(lin, 1, cpl == 3); // both ends: the eight pushes may span two pages
  if (!pending) probeWrite(lin + 8 * bytes - 1, 1, cpl == 3);
  if (pending) return;
  for (let r: u32 = 0; r < 8; r++) {
    push(bytes, r == ESP ? (bytes == 4 ? sp : sp & 0xffff) : readReg(r, bytes));
    if (pending) return;
  }
}

function popAll(): void {
  const bytes = osize();
  segAddr(SR_SS, spOffset(0), bytes * 8, false);
  if (pending) return;
  for (let i: u32 = 0; i < 8; i++) {
    const r = 7 - i;
    const v = peek(i * bytes, bytes);
    if (pending) return;
    if (r != ESP) writeReg(r, bytes, v);
  }
  addSp(8 * bytes);
}

// PUSHF/POPF honour IOPL (and keep VM/RF clear in the pushed image); POPF changes IOPL only at
// CPL 0 and IF only when CPL <= IOPL.
function pushf(): void {
  if (trapIfSensitive(EXIT_PUSHF)) return;
  pushV(getEflags() & ~(VM | RF));
}

function popf(): void {
  if (trapIfSensitive(EXIT_POPF)) return;
  const bytes = osize();
  const v = pop(bytes);
  if (pending) return;
  const old = getEflags();
  let writable: u32 = CF | 4 | AF | 0x40 | 0x80 | TF | DF | OF | NT | (bytes == 4 ? AC | ID : 0);
  if (ifPrivilege(cpl) == 0) writable |= IOPL;
  if (mayChangeIf(cpl, old)) writable |= IF;
  if (bytes == 2) writable &= 0xffff;
  setEflags((old & ~writable) | (v & writable));
}

function enter(): void {
  const size = fetch16();
  const level = fetch8() & 31;
  const bytes = osize();
  // Fault before changing anything: read the enclosing frame pointers once, and check that the
  // whole area ENTER pushes is writable; the pushes below can then not fault.
  let bp = ssBig ? r32(EBP) : r16(EBP);
  for (let i: u32 = 1; i < level; i++) {
    bp = ssBig ? bp - bytes : (bp - bytes) & 0xffff;
    readSeg(SR_SS, bp, bytes);
    if (pending) return;
  }
  const pushed = (level == 0 ? 1 : level + 1) * bytes;
  const lowest = spOffset(0 - pushed);
  const lin = segAddr(SR_SS, lowest, pushed, true);
  if (pending) return;
  probeWrite(lin, 1, cpl == 3);
  if (!pending) probeWrite(lin + pushed - 1, 1, cpl == 3);
  if (pending) return;
  push(bytes, readReg(EBP, bytes));
  if (pending) return;
  const frame = getSp();
  bp = ssBig ? r32(EBP) : r16(EBP);
  for (let i: u32 = 1; i < level; i++) {
    bp = ssBig ? bp - bytes : (bp - bytes) & 0xffff;
    const v = readSeg(SR_SS, bp, bytes);
    if (pending) return;
    push(bytes, v);
    if (pending) return;
  }
  if (level > 0) { push(bytes, frame); if (pending) return; }
  writeReg(EBP, bytes, frame);
  setSp(getSp() - size);
}

function leave(): void {
  const bytes = osize();
  const frame = ssBig ? r32(EBP) : r16(EBP);
  const v = readSeg(SR_SS, frame, bytes);
  if (pending) return;
  setSp(frame + bytes);
  writeReg(EBP, bytes, v);
}

function bound(): void {
  decodeModrm();
  if (pending) return;
  if (modIsReg) { raise(EXC_UD); return; }
  const bytes = osize();
  const lower = signExtend(readSeg(eaSeg, eaOff, bytes), bytes);
  if (pending) return;
  const upper = signExtend(readSeg(eaSeg, eaOff + bytes, bytes), bytes);
  if (pending) return;
  const index = signExtend(readReg(modReg, bytes), bytes);
  if (index < lower || index > upper) raise(EXC_BR);
}

// x87 escape (D8-DF) and WAIT on a CPU without a floating-point unit.
function noFpu(wait: bool): void {
  const c = cr0();
  if (wait) { if ((c & CR0_TS) && (c & 2)) raise(EXC_NM); return; }
  if (c & (CR0_EM | CR0_TS)) { raise(EXC_NM); return; }
  raise(EXC_UD);
}

export function execute(op: u32): void {
  switch (op) {
    // ALU ops: each opcode expands its own copy of aluForm, so the operation folds to a constant
    case 0x00: aluForm(0x00); return; case 0x01: aluForm(0x01); return; case 0x02: aluForm(0x02); return;
    case 0x03: aluForm(0x03); return; case 0x04: aluForm(0x04); return; case 0x05: aluForm(0x05); return;
    case 0x08: aluForm(0x08); return; case 0x09: aluForm(0x09); return; case 0x0a: aluForm(0x0a); return;
    case 0x0b: aluForm(0x0b); return; case 0x0c: aluForm(0x0c); return; case 0x0d: aluForm(0x0d); return;
    case 0x10: aluForm(0x10); return; case 0x11: aluForm(0x11); return; case 0x12: aluForm(0x12); return;
    case 0x13: aluForm(0x13); return; case 0x14: aluForm(0x14); return; case 0x15: aluForm(0x15); return;
    case 0x18: aluForm(0x18); return; case 0x19: aluForm(0x19); return; case 0x1a: aluForm(0x1a); return;
    case 0x1b: aluForm(0x1b); return; case 0x1c: aluForm(0x1c); return; case 0x1d: aluForm(0x1d); return;
    case 0x20: aluForm(0x20); return; case 0x21: aluForm(0x21); return; case 0x22: aluForm(0x22); return;
    case 0x23: aluForm(0x23); return; case 0x24: aluForm(0x24); return; case 0x25: aluForm(0x25); return;
    case 0x28: aluForm(0x28); return; case 0x29: aluForm(0x29); return; case 0x2a: aluForm(0x2a); return;
    case 0x2b: aluForm(0x2b); return; case 0x2c: aluForm(0x2c); return; case 0x2d: aluForm(0x2d); return;
    case 0x30: aluForm(0x30); return; case 0x31: aluForm(0x31); return; case 0x32: aluForm(0x32); return;
    case 0x33: aluForm(0x33); return; case 0x34: aluForm(0x34); return; case 0x35: aluForm(0x35); return;
    case 0x38: aluForm(0x38); return; case 0x39: aluForm(0x39); return; case 0x3a: aluForm(0x3a); return;
    case 0x3b: aluForm(0x3b); return; case 0x3c: aluForm(0x3c); return; case 0x3d: aluForm(0x3d); return;
    case 0x06: pushV(segSel(SR_ES)); return;
    case 0x07: popSegment(SR_ES); return;
    case 0x0e: pushV(shownSelector(SR_CS)); return;
    case 0x0f: execute0f(fetch8()); return;
    case 0x16: pushV(shownSelector(SR_SS)); return;
    case 0x17: popSegment(SR_SS); return;
    case 0x1e: pushV(segSel(SR_DS)); return;
    case 0x1f: popSegment(SR_DS); return;
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65: case 0x66: case 0x67:
    case 0xf0: case 0xf2: case 0xf3:
      prefixed(op); return;
    case 0x27: daa(); return;
    case 0x2f: das(); return;
    case 0x37: aaaOrAas(true); return;
    case 0x3f: aaaOrAas(false); return;
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47: {
      const r = op & 7;
      if (o32) w32(r, inc(r32(r), 4)); else w16(r, inc(r16(r), 2));
      return;
    }
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: {
      const r = op & 7;
      if (o32) w32(r, dec(r32(r), 4)); else w16(r, dec(r16(r), 2));
      return;
    }
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
      pushV(readReg(op & 7, osize())); return;
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: {
      const bytes = osize();
      const v = pop(bytes);
      if (!pending) writeReg(op & 7, bytes, v);
      return;
    }
    case 0x60: pushAll(); return;
    case 0x61: popAll(); return;
    case 0x62: bound(); return;
    case 0x63: { // ARPL
      decodeModrm();
      if (pending) return;
      const dst = readRmForWrite(2);
      if (pending) return;
      const src = r16(modReg);
      if ((dst & 3) < (src & 3)) { writeRmAfterRead(2, (dst & ~3) | (src & 3)); setFlagsEager(ZF, ZF); }
      else setFlagsEager(ZF, 0);
      return;
    }
    case 0x68: pushV(imm(osize())); return;
    case 0x69: case 0x6b: {
      decodeModrm();
      if (pending) return;
      const bytes = osize();
      const a = readRm(bytes);
      if (pending) return;
      const b = op == 0x6b ? <u32>signExtend(fetch8(), 1) : imm(bytes);
      writeReg(modReg, bytes, imulTruncated(a, b, bytes));
      return;
    }
    case 0x6a: pushV(<u32>signExtend(fetch8(), 1)); return;
    case 0x6c: stringIo(true, r16(EDX), 1); return;
    case 0x6d: stringIo(true, r16(EDX), osize()); return;
    case 0x6e: stringIo(false, r16(EDX), 1); return;
    case 0x6f: stringIo(false, r16(EDX), osize()); return;
    // Jcc rel8: one case per condition so that each evaluates only the flags it needs
    case 0x70: jccShort(0); return;
    case 0x71: jccShort(1); return;
    case 0x72: jccShort(2); return;
    case 0x73: jccShort(3); return;
    case 0x74: jccShort(4); return;
    case 0x75: jccShort(5); return;
    case 0x76: jccShort(6); return;
    case 0x77: jccShort(7); return;
    case 0x78: jccShort(8); return;
    case 0x79: jccShort(9); return;
    case 0x7a: jccShort(10); return;
    case 0x7b: jccShort(11); return;
    case 0x7c: jccShort(12); return;
    case 0x7d: jccShort(13); return;
    case 0x7e: jccShort(14); return;
    case 0x7f: jccShort(15); return;
    case 0x80: case 0x82: group1(1, 1); return;
    case 0x81: group1(osize(), osize()); return;
    case 0x83: group1(osize(), 1); return;
    case 0x84: case 0x85: {
      const bytes: u32 = op == 0x84 ? 1 : osize();
      decodeModrm();
      if (pending) return;
      const a = readRm(bytes);
      if (pending) return;
      alu(4, a, readReg(modReg, bytes), bytes);
      return;
    }
    case 0x86: case 0x87: {
      const bytes: u32 = op == 0x86 ? 1 : osize();
      decodeModrm();
      if (pending) return;
      const a = readRmForWrite(bytes);
      if (pending) return;
      writeRmAfterRead(bytes, readReg(modReg, bytes));
      if (pending) return;
      writeReg(modReg, bytes, a);
      return;
    }
    case 0x88: case 0x89: {
      const bytes: u32 = op == 0x88 ? 1 : osize();
      decodeModrm();
      if (pending) return;
      writeRm(bytes, readReg(modReg, bytes));
      return;
    }
    case 0x8a: case 0x8b: {
      const bytes: u32 = op == 0x8a ? 1 : osize();
      decodeModrm();
      if (pending) return;
      const v = readRm(bytes);
      if (!pending) writeReg(modReg, bytes, v);
      return;
    }
    case 0x8c: { // MOV r/m16, Sreg (a register destination gets the zero-extended selector)
      decodeModrm();
      if (pending) return;
      if (modReg > 5) { raise(EXC_UD); return; }
      if (modIsReg) writeReg(modRm, osize(), shownSelector(modReg)); else writeRm(2, shownSelector(modReg));
      return;
    }
    case 0x8d: { // LEA
      decodeModrm();
      if (pending) return;
      if (modIsReg) { raise(EXC_UD); return; }
      writeReg(modReg, osize(), eaOff);
      return;
    }
    case 0x8e: { // MOV Sreg, r/m16
      decodeModrm();
      if (pending) return;
      if (modReg > 5 || modReg == SR_CS) { raise(EXC_UD); return; }
      const sel = readRm(2);
      if (!pending) loadSegment(modReg, sel);
      return;
    }
    case 0x8f: { // POP r/m: ESP is incremented before the effective address is used
      const bytes = osize();
      const v = peek(0, bytes);
      if (pending) return;
      const oldSp = getSp();
      addSp(bytes);
      decodeModrm();
      if (!pending) writeRm(bytes, v);
      if (pending) setSp(oldSp);
      return;
    }
    case 0x90: return; // NOP, PAUSE
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: {
      const bytes = osize();
      const r = op & 7;
      const t = readReg(r, bytes);
      writeReg(r, bytes, readReg(EAX, bytes));
      writeReg(EAX, bytes, t);
      return;
    }
    case 0x98: if (o32) w32(EAX, <u32><i32><i16>r16(EAX)); else w16(EAX, <u32><i32><i8>r8(EAX)); return;
    case 0x99:
      if (o32) w32(EDX, <u32>(<i32>r32(EAX) >> 31)); else w16(EDX, <u32>(<i32><i16>r16(EAX) >> 15));
      return;
    case 0x9a: { // CALL far ptr16:16/32
      const off = imm(osize());
      const sel = fetch16();
      farCall(sel, off);
      noteControlTransfer();
      return;
    }
    case 0x9b: noFpu(true); return;
    case 0x9c: pushf(); return;
    case 0x9d: popf(); return;
    case 0x9e: setFlagsEager(0xd5, r8(EAX + 4)); return; // SAHF: SF ZF AF PF CF from AH
    case 0x9f: w8(EAX + 4, getEflags() & 0xff); return; // LAHF
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: { // MOV AL/eAX <-> moffs
      const bytes: u32 = (op & 1) ? osize() : 1;
      const off = a32 ? fetch32() : fetch16();
      const seg: u32 = segOverride >= 0 ? <u32>segOverride : SR_DS;
      if (op < 0xa2) { const v = readSeg(seg, off, bytes); if (!pending) writeReg(EAX, bytes, v); }
      else writeSeg(seg, off, bytes, readReg(EAX, bytes));
      return;
    }
    case 0xa4: stringInstruction(STR_MOVS, 1); return;
    case 0xa5: stringInstruction(STR_MOVS, osize()); return;
    case 0xa6: stringInstruction(STR_CMPS, 1); return;
    case 0xa7: stringInstruction(STR_CMPS, osize()); return;
    case 0xa8: alu(4, r8(EAX), fetch8(), 1); return;
    case 0xa9: { const bytes = osize(); alu(4, readReg(EAX, bytes), imm(bytes), bytes); return; }
    case 0xaa: stringInstruction(STR_STOS, 1); return;
    case 0xab: stringInstruction(STR_STOS, osize()); return;
    case 0xac: stringInstruction(STR_LODS, 1); return;
    case 0xad: stringInstruction(STR_LODS, osize()); return;
    case 0xae: stringInstruction(STR_SCAS, 1); return;
    case 0xaf: stringInstruction(STR_SCAS, osize()); return;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      w8(op & 7, fetch8()); return;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
      if (o32) w32(op & 7, fetch32()); else w16(op & 7, fetch16());
      return;
    case 0xc0: group2(1, 0); return;
    case 0xc1: group2(osize(), 0); return;
    case 0xc2: case 0xc3: { // RET near (imm16)
      const extra: u32 = op == 0xc2 ? fetch16() : 0;
      const target = peek(0, osize());
      if (pending || !branchTarget(target)) return;
      addSp(osize() + extra);
      jumpTo(target);
      noteControlTransfer();
      return;
    }
    case 0xc4: loadFarPointer(SR_ES); return;
    case 0xc5: loadFarPointer(SR_DS); return;
    case 0xc6: case 0xc7: {
      const bytes: u32 = op == 0xc6 ? 1 : osize();
      decodeModrm();
      if (pending) return;
      if (modReg != 0) { raise(EXC_UD); return; }
      writeRm(bytes, imm(bytes));
      return;
    }
    case 0xc8: enter(); return;
    case 0xc9: leave(); return;
    case 0xca: farReturn(fetch16()); noteControlTransfer(); return;
    case 0xcb: farReturn(0); noteControlTransfer(); return;
    case 0xcc: softwareInterrupt(EXC_BP, EVENT_SW_EXCEPTION); return;
    case 0xcd: softwareInterrupt(fetch8()); noteControlTransfer(); return;
    case 0xce: if (condition(0)) softwareInterrupt(EXC_OF, EVENT_SW_EXCEPTION); return; // INTO
    case 0xcf: interruptReturn(); noteControlTransfer(); return;
    case 0xd0: group2(1, 1); return;
    case 0xd1: group2(osize(), 1); return;
    case 0xd2: group2(1, 2); return;
    case 0xd3: group2(osize(), 2); return;
    case 0xd4: aam(fetch8()); return;
    case 0xd5: aad(fetch8()); return;
    case 0xd6: w8(EAX, getCF() ? 0xff : 0); return; // SALC
    case 0xd7: { // XLAT
      const seg: u32 = segOverride >= 0 ? <u32>segOverride : SR_DS;
      const off = (a32 ? r32(EBX) : r16(EBX)) + r8(EAX);
      const v = readSeg(seg, a32 ? off : off & 0xffff, 1);
      if (!pending) w8(EAX, v);
      return;
    }
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
      decodeModrm(); // the whole instruction is decoded before the fault
      if (!pending) noFpu(false);
      return;
    case 0xe0: case 0xe1: case 0xe2: { // LOOPNE LOOPE LOOP
      const rel = <u32>signExtend(fetch8(), 1);
      const count = (a32 ? r32(ECX) : r16(ECX)) - 1;
      const nonzero = (a32 ? count : count & 0xffff) != 0;
      let taken = nonzero;
      if (op == 0xe0) taken = nonzero && !condition(4);
      else if (op == 0xe1) taken = nonzero && condition(4);
      if (taken && !branchTarget(eip + rel)) return; // ECX unchanged by the faulting LOOP
      if (a32) w32(ECX, count); else w16(ECX, count);
      if (taken) jumpTo(eip + rel);
      noteControlTransfer();
      return;
    }
    case 0xe3: { // JCXZ / JECXZ
      const rel = <u32>signExtend(fetch8(), 1);
      if ((a32 ? r32(ECX) : r16(ECX)) == 0) jumpTo(eip + rel);
      return;
    }
    case 0xe4: portIo(true, fetch8(), 1, true); return;
    case 0xe5: portIo(true, fetch8(), osize(), true); return;
    case 0xe6: portIo(false, fetch8(), 1, true); return;
    case 0xe7: portIo(false, fetch8(), osize(), true); return;
    case 0xe8: { // CALL rel
      const rel = imm(osize());
      if (pending || !branchTarget(eip + rel)) return;
      pushV(eip);
      if (pending) return;
      jumpTo(eip + rel);
      noteControlTransfer();
      return;
    }
    case 0xe9: { const rel = imm(osize()); jumpTo(eip + rel); noteControlTransfer(); return; }
    case 0xea: { // JMP far ptr16:16/32
      const off = imm(osize());
      const sel = fetch16();
      farJump(sel, off);
      noteControlTransfer();
      return;
    }
    case 0xeb: { const rel = <u32>signExtend(fetch8(), 1); jumpTo(eip + rel); noteControlTransfer(); return; }
    case 0xec: portIo(true, r16(EDX), 1, false); return;
    case 0xed: portIo(true, r16(EDX), osize(), false); return;
    case 0xee: portIo(false, r16(EDX), 1, false); return;
    case 0xef: portIo(false, r16(EDX), osize(), false); return;
    case 0xf1: softwareInterrupt(1, EVENT_PRIV_SW_EXCEPTION); return; // INT1 / ICEBP
    case 0xf4: hlt(); return;
    case 0xf5: setFlagsEager(CF, getCF() ^ 1); return; // CMC
    case 0xf6: group3(1); return;
    case 0xf7: group3(osize()); return;
    case 0xf8: setFlagsEager(CF, 0); return;
    case 0xf9: setFlagsEager(CF, CF); return;
    case 0xfa: case 0xfb: // CLI / STI (STI with IF clear holds off interrupts for one instruction)
      if (trapIfSensitive(op == 0xfa ? EXIT_CLI : EXIT_STI)) return;
      if (!mayChangeIf(cpl, flagsWord)) { raise(EXC_GP, 0); return; }
      writeInterruptFlag(op == 0xfb);
      return;
    case 0xfc: setEflags(getEflags() & ~DF); return;
    case 0xfd: setEflags(getEflags() | DF); return;
    case 0xfe: { // group 4: INC/DEC r/m8
      decodeModrm();
      if (pending) return;
      if (modReg > 1) { raise(EXC_UD); return; }
      const a = readRmForWrite(1);
      if (pending) return;
      writeRmAfterRead(1, modReg == 0 ? inc(a, 1) : dec(a, 1));
      return;
    }
    case 0xff: group5(); return;
    default: raise(EXC_UD); return; // 0xd6-like holes and prefixes handled by step()
  }
}
