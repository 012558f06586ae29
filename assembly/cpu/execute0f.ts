// The two-byte opcode map (0F xx): system instructions, Jcc rel32, SETcc, CMOVcc, bit
// instructions, MOVZX/MOVSX, SHLD/SHRD, CMPXCHG/XADD, BSWAP. x87/MMX/SSE opcodes and anything
// the CPU does not implement raise #UD, as a processor without those units does.
import {
  eip, o32, pending, cpl, r32, w32, segSel, segBase, raise, EAX, ECX, EDX, EBX, ZF, EXC_UD, noteControlTransfer,
} from "./state";
import { SR_FS, SR_GS, SR_SS, SR_LDTR, SR_TR } from "../vmcs-layout";
import { fetch8, fetch16, fetch32 } from "./fetch";
import {
  decodeModrm, modReg, modRm, modIsReg, eaOff, eaSeg, readReg, writeReg, readRm, writeRm,
  readRmForWrite, writeRmAfterRead,
} from "./modrm";
import { condition, setFlagsEager, getZF } from "./flags";
import { alu, ALU_ADD, ALU_CMP, signExtend } from "./alu";
import { doubleShift } from "./shift";
import { imulTruncated } from "./muldiv";
import { bitTest, bitScan, byteSwap } from "./bits";
import { pushV } from "./stack";
import { readSeg, writeSeg, segAddr } from "./segment";
import { linRead32, linWrite32, probeWrite } from "../memory/linear";
import {
  movToCr, movFromCr, movToDr, movFromDr, clts, lmsw, readCr0ForGuest, loadDescriptorTable,
  tableBase, tableLimit, cpuid, vmcall, rdmsr, wrmsr, rdtsc, invlpg, requireCpl0,
} from "./system";
import { popSegment, loadFarPointer, lldt, ltr, lar, lsl, verr, verw } from "./protected";
import { branchTarget } from "./branch";
import { sysenter, sysexit } from "./sysenter";
import { vmxNoOperand, vmxGroup9, vmreadVmwrite } from "./vmx-instructions";
import { svmInstruction } from "./svm-instructions";
import { leaksVmm, vmmTableBase, vmmTableLimit, vmmCr0, vmmSystemSelector } from "./ifmode";

@inline function osize(): u32 { return o32 ? 4 : 2; }

// 0F 00: SLDT STR LLDT LTR VERR VERW (SLDT and STR show the VMM's selectors in classic mode)
function group6(): void {
  decodeModrm();
  if (pending) return;
  switch (modReg) {
    case 0: case 1: {
      const sel = leaksVmm() ? vmmSystemSelector(modReg == 1) : segSel(modReg == 0 ? SR_LDTR : SR_TR);
      if (modIsReg) writeReg(modRm, osize(), sel); else writeRm(2, sel);
      return;
    }
    case 2: case 3: {
      if (!requireCpl0()) return;
      const sel = readRm(2);
      if (pending) return;
      if (modReg == 2) lldt(sel); else ltr(sel);
      return;
    }
    case 4: case 5: {
      const sel = readRm(2);
      if (pending) return;
      if (modReg == 4) verr(sel); else verw(sel);
      return;
    }
    default: raise(EXC_UD);
  }
}

// 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG, VMCALL (0F 01 C1), and the SVM instructions (0F 01 D8-DF)
function group7(): void {
  decodeModrm();
  if (pending) return;
  if (modIsReg) {
    if (modReg == 0 && modRm == 1) { vmcall(); return; }
    if (modReg == 0 && modRm >= 2 && modRm <= 4) { vmxNoOperand(modRm); return; } // VMLAUNCH VMRESUME VMXOFF
    if (modReg == 3) { svmInstruction(modRm); return; } // VMRUN VMMCALL VMLOAD VMSAVE STGI CLGI SKINIT INVLPGA
    if (modReg == 4) { writeReg(modRm, osize(), guestVisibleCr0()); return; }
    if (modReg == 6) { lmsw(readReg(modRm, 2), false); return; }
    raise(EXC_UD); // VMFUNC, MONITOR/MWAIT, XGETBV...: not offered to the guest
    return;
  }
  switch (modReg) {
    case 0: case 1: { // SGDT / SIDT (classic mode reveals the VMM's tables)
      const idt = modReg == 1;
      const base = leaksVmm() ? vmmTableBase(idt) : tableBase(idt);
      // all six bytes are checked before the first is stored
      const lin = segAddr(eaSeg, eaOff, 6, true);
      if (pending) return;
      probeWrite(lin, 1, cpl == 3);
      if (!pending) probeWrite(lin + 5, 1, cpl == 3);
      if (pending) return;
      writeSeg(eaSeg, eaOff, 2, leaksVmm() ? vmmTableLimit(idt) : tableLimit(idt));
      if (pending) return;
      writeSeg(eaSeg, eaOff + 2, 4, o32 ? base : base & 0xffffff);
      return;
    }
    case 2: case 3: { // LGDT / LIDT
      if (!requireCpl0()) return;
      const limit = readSeg(eaSeg, eaOff, 2);
      if (pending) return;
      const base = readSeg(eaSeg, eaOff + 2, 4);
      if (pending) return;
      loadDescriptorTable(modReg == 3, limit, o32 ? base : base & 0xffffff);
      return;
    }
    case 4: writeRm(2, guestVisibleCr0()); return; // SMSW m16
    case 6: { const v = readRm(2); if (!pending) lmsw(v, true); return; }
    case 7: invlpg(segBase(eaSeg) + eaOff); return; // the linear address, no memory access
    default: raise(EXC_UD);
  }
}


// SMSW: CR0 through the read shadow, or the VMM's own CR0 in classic mode.
function guestVisibleCr0(): u32 { return leaksVmm() ? vmmCr0() : readCr0ForGuest(); }

function cmpxchg(bytes: u32): void {
  decodeModrm();
  if (pending) return;
  const dst = readRmForWrite(bytes);
  if (pending) return;
  const acc = readReg(EAX, bytes);
  alu(ALU_CMP, acc, dst, bytes);
  if (getZF()) writeRmAfterRead(bytes, readReg(modReg, bytes));
  else {
    writeRmAfterRead(bytes, dst); // the destination is always written back
    if (!pending) writeReg(EAX, bytes, dst);
  }
}

// 0F C7 /1 with a memory operand; the ModR/M byte is decoded.
function cmpxchg8b(): void {
  if (modIsReg) { raise(EXC_UD); return; }
  const lin = segAddr(eaSeg, eaOff, 8, true);
  if (pending) return;
  probeWrite(lin, 4, cpl == 3);
  if (!pending) probeWrite(lin + 4, 4, cpl == 3);
  if (pending) return;
  const lo = linRead32(lin, cpl == 3);
  if (pending) return;
  const hi = linRead32(lin + 4, cpl == 3);
  if (pending) return;
  if (lo == r32(EAX) && hi == r32(EDX)) {
    linWrite32(lin, r32(EBX), cpl == 3);
    if (pending) return;
    linWrite32(lin + 4, r32(ECX), cpl == 3);
    if (pending) return;
    setFlagsEager(ZF, ZF);
  } else {
    w32(EAX, lo);
    w32(EDX, hi);
    setFlagsEager(ZF, 0);
  }
}

function xadd(bytes: u32): void {
  decodeModrm();
  if (pending) return;
  const dst = readRmForWrite(bytes);
  if (pending) return;
  const src = readReg(modReg, bytes);
  const sum = alu(ALU_ADD, dst, src, bytes);
  if (modIsReg) { // SRC <- DEST, then DEST <- sum (so XADD r, r leaves the sum)
    writeReg(modReg, bytes, dst);
    writeReg(modRm, bytes, sum);
    return;
  }
  writeRmAfterRead(bytes, sum);
  if (!pending) writeReg(modReg, bytes, dst);
}

function shiftDouble(left: bool, countFromCl: bool): void {
  decodeModrm();
  if (pending) return;
  const bytes = osize();
  const count = (countFromCl ? readReg(ECX, 1) : fetch8()) & 31;
  const dst = readRmForWrite(bytes);
  if (pending || count == 0) return;
  writeRmAfterRead(bytes, doubleShift(left, dst, readReg(modReg, bytes), count, bytes));
}

export function execute0f(op: u32): void {
  switch (op) {
    case 0x00: group6(); return;
    case 0x01: group7(); return;
    case 0x02: case 0x03: { // LAR / LSL
      decodeModrm();
      if (pending) return;
      const sel = readRm(2);
      if (pending) return;
      const ok = op == 0x02 ? lar(sel) : lsl(sel);
      if (getZF()) writeReg(modReg, osize(), ok);
      return;
    }
    case 0x06: clts(); return;
    case 0x08: case 0x09: requireCpl0(); return; // INVD / WBINVD: no caches to flush
    case 0x0b: raise(EXC_UD); return; // UD2
    case 0x0d: case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
      decodeModrm(); // prefetch hints and multi-byte NOPs
      return;
    case 0x20: case 0x21: case 0x22: case 0x23: {
      // Always registers: mod is ignored and no SIB or displacement follows (SDM Vol. 2, "MOV").
      const m = fetch8();
      if (pending) return;
      const reg = (m >> 3) & 7;
      const rm = m & 7;
      if (op == 0x20) movFromCr(reg, rm);
      else if (op == 0x21) movFromDr(reg, rm);
      else if (op == 0x22) movToCr(reg, rm);
      else movToDr(reg, rm);
      return;
    }
    case 0x30: wrmsr(); return;
    case 0x31: rdtsc(); return;
    case 0x32: rdmsr(); return;
    case 0x34: sysenter(); noteControlTransfer(); return;
    case 0x35: sysexit(); noteControlTransfer(); return;
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: {
      decodeModrm();
      if (pending) return;
      const bytes = osize();
      const v = readRm(bytes); // the source is read whatever the condition
      if (pending) return;
      if (condition(op & 15)) writeReg(modReg, bytes, v);
      return;
    }
    case 0x80: case 0x81: case 0x82: case 0x83: case 0x84: case 0x85: case 0x86: case 0x87:
    case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8c: case 0x8d: case 0x8e: case 0x8f: {
      const rel = o32 ? fetch32() : <u32>signExtend(fetch16(), 2);
      if (condition(op & 15) && branchTarget(eip + rel)) eip = o32 ? eip + rel : (eip + rel) & 0xffff;
      noteControlTransfer();
      return;
    }
    case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
    case 0x98: case 0x99: case 0x9a: case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f:
      decodeModrm();
      if (!pending) writeRm(1, condition(op & 15) ? 1 : 0);
      return;
    case 0xa0: pushV(segSel(SR_FS)); return;
    case 0xa1: popSegment(SR_FS); return;
    case 0xa2: cpuid(); return;
    case 0xa3: decodeModrm(); if (!pending) bitTest(0, readReg(modReg, osize()), true, osize()); return;
    case 0xa4: shiftDouble(true, false); return;
    case 0xa5: shiftDouble(true, true); return;
    case 0xa8: pushV(segSel(SR_GS)); return;
    case 0xa9: popSegment(SR_GS); return;
    case 0xab: decodeModrm(); if (!pending) bitTest(1, readReg(modReg, osize()), true, osize()); return;
    case 0xac: shiftDouble(false, false); return;
    case 0xad: shiftDouble(false, true); return;
    case 0xaf: {
      decodeModrm();
      if (pending) return;
      const bytes = osize();
      const b = readRm(bytes);
      if (!pending) writeReg(modReg, bytes, imulTruncated(readReg(modReg, bytes), b, bytes));
      return;
    }
    case 0xb0: cmpxchg(1); return;
    case 0xb1: cmpxchg(osize()); return;
    case 0xb2: loadFarPointer(SR_SS); return;
    case 0xb3: decodeModrm(); if (!pending) bitTest(2, readReg(modReg, osize()), true, osize()); return;
    case 0xb4: loadFarPointer(SR_FS); return;
    case 0xb5: loadFarPointer(SR_GS); return;
    case 0xb6: case 0xb7: case 0xbe: case 0xbf: { // MOVZX / MOVSX
      decodeModrm();
      if (pending) return;
      const srcBytes: u32 = (op & 1) ? 2 : 1;
      const v = readRm(srcBytes);
      if (pending) return;
      writeReg(modReg, osize(), op >= 0xbe ? <u32>signExtend(v, srcBytes) : v);
      return;
    }
    case 0xba: { // group 8: BT BTS BTR BTC r/m, imm8
      decodeModrm();
      if (pending) return;
      if (modReg < 4) { raise(EXC_UD); return; }
      bitTest(modReg - 4, fetch8(), false, osize());
      return;
    }
    case 0xbb: decodeModrm(); if (!pending) bitTest(3, readReg(modReg, osize()), true, osize()); return;
    case 0xbc: case 0xbd: {
      decodeModrm();
      if (pending) return;
      const bytes = osize();
      const v = readRm(bytes);
      if (!pending) bitScan(op == 0xbd, v, modReg, bytes);
      return;
    }
    case 0xc0: xadd(1); return;
    case 0xc1: xadd(osize()); return;
    case 0xc7: { // group 9: CMPXCHG8B, and the VMX pointer instructions
      const modrmAt = eip;
      decodeModrm();
      if (pending) return;
      if (modReg == 1) cmpxchg8b(); else if (modReg >= 6) vmxGroup9(modrmAt); else raise(EXC_UD);
      return;
    }
    case 0x78: vmreadVmwrite(false); return;
    case 0x79: vmreadVmwrite(true); return;
    case 0xc8: case 0xc9: case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf:
      byteSwap(op & 7); return;
    default: raise(EXC_UD); return;
  }
}

