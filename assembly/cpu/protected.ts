// Protected-mode segmentation and control transfer (docs/design.md: "protected-mode
// segmentation and privilege"): segment-register loads with the SDM's checks and error codes, far JMP/CALL/RETF (direct and through call gates, with the TSS stack
// switch), LLDT/LTR and LAR/LSL/VERR/VERW. Real-address mode gets the simple selector*16 paths.
// Task switching is not supported: task gates and TSS descriptors as transfer targets raise
// #GP(selector); virtual-8086 mode is not supported either.
// Every check and every read that can fault happens before any architectural state is committed.
// Descriptor-table access, the TSS stack and the frame builder are in descriptors.ts.
import { blockEventsAfterThisInstruction, cancelEventBlocking } from "./retirement";
import { INTERRUPTIBILITY_MOV_SS } from "../vmcs-layout";
import {
  cpl, eip, o32, pending, raise, r32, segSel, segLimit, segAr, ESP, ZF, EXC_UD, EXC_NP, EXC_SS, EXC_GP,
} from "./state";
import { AR_UNUSABLE, SR_CS, SR_SS, SR_GS, SR_LDTR, SR_TR } from "../vmcs-layout";
import { linWrite8 } from "../memory/linear";
import { readSeg, setSegment, arDpl, AR_ACCESSED, AR_RW, AR_DC, AR_CODE, AR_S, AR_P } from "./segment";
import { setFlagsEager } from "./flags";
import { peek, setSp, spOffset, addSp } from "./stack";
import { takenSelector, shownSelector, shownAccessRights } from "./ifmode";
import { decodeModrm, modReg, modIsReg, eaOff, eaSeg, writeReg } from "./modrm";
import {
  protectedMode, isNull, isWritableData, selErr, descBase, descLimit, descAr, readDescriptor,
  fetchDescriptor, markAccessed, descLo, descHi, descAddr, takeCode, loadCs, cLimit, cAddr, cHi,
  tssStack, nsSel, nsBase, nsLimit, nsAr, nsAddr, nsHi, frameCurrent, frameNew, framePush,
  frameCommitSp, checkReturnCs, checkReturnSs, commitOuterReturn,
} from "./descriptors";


// ---- Segment-register loads ----------------------------------------------------------------------
// MOV Sreg, POP Sreg, LDS/LES/LFS/LGS/LSS. The caller has read the selector (and offset) already.
export function loadSegment(sreg: u32, sel: u32): void {
  sel = takenSelector(sel & 0xffff);
  if (sreg == <u32>SR_CS || sreg > <u32>SR_GS) { raise(EXC_UD); return; }
  if (!protectedMode()) {
    // Real-address mode: base = selector * 16; the hidden limit and attributes are kept.
    let ar = segAr(sreg), limit = segLimit(sreg);
    if (ar & AR_UNUSABLE) { ar = 0x93; limit = 0xffff; }
    setSegment(sreg, sel, sel << 4, limit, ar);
    if (sreg == SR_SS) blockEventsAfterThisInstruction(INTERRUPTIBILITY_MOV_SS);
    return;
  }
  if (sreg == SR_SS) {
    if (isNull(sel)) { raise(EXC_GP, 0); return; }
    if (!fetchDescriptor(sel, EXC_GP, 0)) return;
    const ar = descAr(descHi);
    if ((sel & 3) != cpl || arDpl(ar) != cpl || !isWritableData(ar)) { raise(EXC_GP, selErr(sel)); return; }
    if (!(ar & AR_P)) { raise(EXC_SS, selErr(sel)); return; }
    markAccessed(descAddr, descHi);
    if (pending) return;
    setSegment(SR_SS, sel, descBase(descLo, descHi), descLimit(descLo, descHi), ar | AR_ACCESSED);
    blockEventsAfterThisInstruction(INTERRUPTIBILITY_MOV_SS);
    return;
  }
  // DS, ES, FS, GS: a null selector loads an unusable segment (any use of it then faults).
  if (isNull(sel)) { setSegment(sreg, sel, 0, 0, AR_UNUSABLE); return; }
  if (!fetchDescriptor(sel, EXC_GP, 0)) return;
  const ar = descAr(descHi);
  const dpl = arDpl(ar);
  const conformingCode = (ar & (AR_CODE | AR_DC)) == (AR_CODE | AR_DC);
  if (!(ar & AR_S) || (ar & (AR_CODE | AR_RW)) == AR_CODE || // system, or execute-only code
      (!conformingCode && ((sel & 3) > dpl || cpl > dpl))) {
    raise(EXC_GP, selErr(sel));
    return;
  }
  if (!(ar & AR_P)) { raise(EXC_NP, selErr(sel)); return; }
  markAccessed(descAddr, descHi);
  if (pending) return;
  setSegment(sreg, sel, descBase(descLo, descHi), descLimit(descLo, descHi), ar | AR_ACCESSED);
}

// POP Sreg: the selector from the top of the stack, which moves only once the load succeeded.
export function popSegment(sreg: u32): void {
  const bytes: u32 = o32 ? 4 : 2;
  const sel = peek(0, bytes);
  if (pending) return;
  loadSegment(sreg, sel & 0xffff);
  if (!pending) addSp(bytes);
}

// MOV r/m <-> Sreg, LDS/LES (C5/C4): load a far pointer into a segment register and a GPR.
export function loadFarPointer(sreg: u32): void {
  decodeModrm();
  if (pending) return;
  if (modIsReg) { raise(EXC_UD); return; }
  const bytes: u32 = o32 ? 4 : 2;
  const off = readSeg(eaSeg, eaOff, bytes);
  if (pending) return;
  const sel = readSeg(eaSeg, eaOff + bytes, 2);
  if (pending) return;
  loadSegment(sreg, sel);
  if (pending) return;
  if (sreg == SR_SS) cancelEventBlocking(); // unlike MOV SS, LSS creates no interrupt shadow
  writeReg(modReg, bytes, off);
}

// ---- Far JMP / CALL ----------------------------------------------------------------------------
// Privilege rule for a direct transfer to a code segment: conforming needs DPL <= CPL,
// non-conforming needs RPL <= CPL and DPL == CPL.
function directCodeOk(ar: u32, sel: u32): bool {
  if (ar & AR_DC) return arDpl(ar) <= cpl;
  return (sel & 3) <= cpl && arDpl(ar) == cpl;
}

// Real-address mode: CS = sel with base sel*16, the hidden limit and attributes kept.
function realModeCs(sel: u32): void {
  setSegment(SR_CS, sel, sel << 4, segLimit(SR_CS), segAr(SR_CS));
}

// The code segment a direct far JMP or CALL names (descriptor in descLo/descHi, access rights
// `ar`): type and privilege checks, then it is taken; false after raising the fault.
function takeDirectCode(ar: u32, sel: u32): bool {
  if (!(ar & AR_CODE) || !directCodeOk(ar, sel)) { raise(EXC_GP, selErr(sel)); return false; }
  if (!(ar & AR_P)) { raise(EXC_NP, selErr(sel)); return false; }
  takeCode();
  return true;
}

export function farJump(sel: u32, off: u32): void {
  sel = takenSelector(sel & 0xffff);
  if (!o32) off &= 0xffff;
  if (!protectedMode()) {
    if (off > segLimit(SR_CS)) { raise(EXC_GP, 0); return; }
    realModeCs(sel);
    eip = off;
    return;
  }
  if (isNull(sel)) { raise(EXC_GP, 0); return; }
  if (!fetchDescriptor(sel, EXC_GP, 0)) return;
  const ar = descAr(descHi);
  if (ar & AR_S) {
    if (!takeDirectCode(ar, sel)) return;
    if (off > cLimit) { raise(EXC_GP, 0); return; }
    markAccessed(cAddr, cHi);
    if (pending) return;
    loadCs(sel, cpl);
    eip = off;
    return;
  }
  const type = ar & 0xf;
  // Task gates (5) and TSS descriptors (1, 9) would switch tasks: not supported, so they fault
  // like any other descriptor type that is not a valid target.
  if (type != 4 && type != 0xc) { raise(EXC_GP, selErr(sel)); return; }
  // JMP through a call gate: no privilege change, no parameters.
  const gdpl = arDpl(ar);
  if (gdpl < cpl || (sel & 3) > gdpl) { raise(EXC_GP, selErr(sel)); return; }
  if (!(ar & AR_P)) { raise(EXC_NP, selErr(sel)); return; }
  let target = (descLo & 0xffff) | (descHi & 0xffff0000);
  if (type == 4) target &= 0xffff;
  const csSel = descLo >>> 16;
  if (isNull(csSel)) { raise(EXC_GP, 0); return; }
  if (!fetchDescriptor(csSel, EXC_GP, 0)) return;
  const car = descAr(descHi);
  if ((car & (AR_S | AR_CODE)) != (AR_S | AR_CODE) ||
      ((car & AR_DC) ? arDpl(car) > cpl : arDpl(car) != cpl)) { raise(EXC_GP, selErr(csSel)); return; }
  if (!(car & AR_P)) { raise(EXC_NP, selErr(csSel)); return; }
  takeCode();
  if (target > cLimit) { raise(EXC_GP, 0); return; }
  markAccessed(cAddr, cHi);
  if (pending) return;
  loadCs(csSel, cpl);
  eip = target;
}

export function farCall(sel: u32, off: u32): void {
  sel = takenSelector(sel & 0xffff);
  const bytes: u32 = o32 ? 4 : 2;
  if (!o32) off &= 0xffff;
  const retCs = shownSelector(SR_CS);
  const retEip = eip;
  if (!protectedMode()) {
    if (off > segLimit(SR_CS)) { raise(EXC_GP, 0); return; }
    frameCurrent(0);
    framePush(bytes, retCs);
    framePush(bytes, retEip);
    if (pending) return;
    frameCommitSp();
    realModeCs(sel);
    eip = off;
    return;
  }
  if (isNull(sel)) { raise(EXC_GP, 0); return; }
  if (!fetchDescriptor(sel, EXC_GP, 0)) return;
  const ar = descAr(descHi);
  if (ar & AR_S) {
    if (takeDirectCode(ar, sel)) callSamePrivilege(sel, off, bytes, retCs, retEip);
    return;
  }
  const type = ar & 0xf;
  // Task gates and TSS descriptors (task switches) are not supported: #GP(selector).
  if (type != 4 && type != 0xc) { raise(EXC_GP, selErr(sel)); return; }
  callGate(sel, ar, retCs, retEip);
}

// CALL through a 32-bit (type 0xC) or 16-bit (type 4) call gate; descLo/descHi hold the gate.
function callGate(sel: u32, ar: u32, retCs: u32, retEip: u32): void {
  const gdpl = arDpl(ar);
  if (gdpl < cpl || (sel & 3) > gdpl) { raise(EXC_GP, selErr(sel)); return; }
  if (!(ar & AR_P)) { raise(EXC_NP, selErr(sel)); return; }
  const gate32 = (ar & 0xf) == 0xc;
  const bytes: u32 = gate32 ? 4 : 2; // the gate's size, not the operand size, sizes the pushes
  let target = (descLo & 0xffff) | (descHi & 0xffff0000);
  if (!gate32) target &= 0xffff;
  const count = descHi & 0x1f;
  const csSel = descLo >>> 16;
  if (isNull(csSel)) { raise(EXC_GP, 0); return; }
  if (!fetchDescriptor(csSel, EXC_GP, 0)) return;
  const car = descAr(descHi);
  const dpl = arDpl(car);
  if ((car & (AR_S | AR_CODE)) != (AR_S | AR_CODE) || dpl > cpl) { raise(EXC_GP, selErr(csSel)); return; }
  if (!(car & AR_P)) { raise(EXC_NP, selErr(csSel)); return; }
  takeCode();
  if (!(car & AR_DC) && dpl < cpl) {
    // More privilege: switch to the TSS stack of ring `dpl`, carry the parameters over.
    if (!tssStack(dpl, 0)) return;
    frameNew(selErr(nsSel));
    framePush(bytes, segSel(SR_SS));
    framePush(bytes, r32(ESP));
    for (let i = <i32>count - 1; i >= 0; i--) {
      const v = peek(<u32>i * bytes, bytes); // the caller's stack, with the caller's privilege
      if (pending) return;
      framePush(bytes, v);
    }
    framePush(bytes, retCs);
    framePush(bytes, retEip);
    if (pending) return;
    if (target > cLimit) { raise(EXC_GP, 0); return; }
    markAccessed(cAddr, cHi);
    if (pending) return;
    markAccessed(nsAddr, nsHi);
    if (pending) return;
    setSegment(SR_SS, nsSel, nsBase, nsLimit, nsAr | AR_ACCESSED);
    frameCommitSp();
    loadCs(csSel, dpl);
    eip = target;
  } else {
    callSamePrivilege(csSel, target, bytes, retCs, retEip);
  }
}

// A far CALL that stays at CPL to the code segment taken (takeCode) as `sel`: the return address
// on the current stack, the offset checked against the new limit, then CS:EIP committed.
function callSamePrivilege(sel: u32, target: u32, bytes: u32, retCs: u32, retEip: u32): void {
  frameCurrent(0);
  framePush(bytes, retCs);
  framePush(bytes, retEip);
  if (pending) return;
  if (target > cLimit) { raise(EXC_GP, 0); return; }
  markAccessed(cAddr, cHi);
  if (pending) return;
  frameCommitSp();
  loadCs(sel, cpl);
  eip = target;
}

// ---- RETF (IRET is in interrupts.ts) ----------------------------------------------------------
// RETF [imm16]: `extra` bytes of parameters are released from the stack (both stacks on a
// return to an outer ring).
export function farReturn(extra: u32): void {
  const bytes: u32 = o32 ? 4 : 2;
  const newEip = peek(0, bytes);
  if (pending) return;
  const csSel = takenSelector(peek(bytes, bytes) & 0xffff);
  if (pending) return;
  if (!protectedMode()) {
    if (newEip > segLimit(SR_CS)) { raise(EXC_GP, 0); return; }
    setSp(spOffset(2 * bytes + extra));
    realModeCs(csSel);
    eip = newEip;
    return;
  }
  if (!checkReturnCs(csSel)) return;
  const rpl = csSel & 3;
  if (rpl > cpl) {
    const newEsp = peek(2 * bytes + extra, bytes);
    if (pending) return;
    const ssSel = peek(3 * bytes + extra, bytes) & 0xffff;
    if (pending) return;
    if (!checkReturnSs(ssSel, rpl)) return;
    if (newEip > cLimit) { raise(EXC_GP, 0); return; }
    markAccessed(cAddr, cHi);
    if (pending) return;
    markAccessed(nsAddr, nsHi);
    if (pending) return;
    commitOuterReturn(csSel, newEsp + extra);
  } else {
    if (newEip > cLimit) { raise(EXC_GP, 0); return; }
    markAccessed(cAddr, cHi);
    if (pending) return;
    setSp(spOffset(2 * bytes + extra));
    loadCs(csSel, cpl);
  }
  eip = newEip;
}

// ---- System-table registers ----------------------------------------------------------------------
export function lldt(sel: u32): void {
  sel &= 0xffff;
  if (!protectedMode()) { raise(EXC_UD); return; }
  if (cpl != 0) { raise(EXC_GP, 0); return; }
  if (isNull(sel)) { setSegment(SR_LDTR, sel, 0, 0, AR_UNUSABLE); return; }
  if (sel & 4) { raise(EXC_GP, selErr(sel)); return; }
  if (!fetchDescriptor(sel, EXC_GP, 0)) return;
  const ar = descAr(descHi);
  if ((ar & 0x1f) != 2) { raise(EXC_GP, selErr(sel)); return; }
  if (!(ar & AR_P)) { raise(EXC_NP, selErr(sel)); return; }
  setSegment(SR_LDTR, sel, descBase(descLo, descHi), descLimit(descLo, descHi), ar);
}

export function ltr(sel: u32): void {
  sel &= 0xffff;
  if (!protectedMode()) { raise(EXC_UD); return; }
  if (cpl != 0) { raise(EXC_GP, 0); return; }
  if (isNull(sel)) { raise(EXC_GP, 0); return; }
  if (sel & 4) { raise(EXC_GP, selErr(sel)); return; }
  if (!fetchDescriptor(sel, EXC_GP, 0)) return;
  const ar = descAr(descHi);
  const type = ar & 0x1f;
  if (type != 1 && type != 9) { raise(EXC_GP, selErr(sel)); return; } // available 16/32-bit TSS
  if (!(ar & AR_P)) { raise(EXC_NP, selErr(sel)); return; }
  linWrite8(descAddr + 5, ((descHi >>> 8) | 2) & 0xff, false); // mark it busy
  if (pending) return;
  setSegment(SR_TR, sel, descBase(descLo, descHi), descLimit(descLo, descHi), ar | 2);
}

// ---- LAR / LSL / VERR / VERW -------------------------------------------------------------------
// System descriptor types each instruction accepts (bit n = type n).
const LAR_SYSTEM_TYPES: u32 = 0x1a3e; // TSS16 avail/busy, LDT, call gate 16, task gate, TSS32, call gate 32
const LSL_SYSTEM_TYPES: u32 = 0x0a0e; // TSS16 avail/busy, LDT, TSS32 avail/busy

// Is the descriptor of `sel` visible to LAR/LSL at the current CPL? Leaves it in descLo/descHi.
function visibleDescriptor(sel: u32, systemTypes: u32): bool {
  sel = takenSelector(sel);
  if (isNull(sel) || !readDescriptor(sel)) return false;
  const ar = descAr(descHi);
  if (!(ar & AR_S) && !((systemTypes >> (ar & 0xf)) & 1)) return false;
  if ((ar & (AR_S | AR_CODE | AR_DC)) == (AR_S | AR_CODE | AR_DC)) return true; // conforming code
  const dpl = arDpl(ar);
  return cpl <= dpl && (sel & 3) <= dpl;
}

// LAR: the access-rights bytes (masked 00F0FF00h; FF00h for 16-bit operands), ZF = 1 when valid.
// When ZF = 0 the caller leaves the destination unchanged. Check `pending` (the read may #PF).
export function lar(sel: u32): u32 {
  const ok = visibleDescriptor(sel & 0xffff, LAR_SYSTEM_TYPES);
  if (pending) return 0;
  setFlagsEager(ZF, ok ? ZF : 0);
  if (!ok) return 0;
  const hi = shownAccessRights(descHi);
  return o32 ? hi & 0x00f0ff00 : hi & 0xff00;
}

// LSL: the segment limit in bytes (scaled by G), ZF = 1 when valid.
export function lsl(sel: u32): u32 {
  const ok = visibleDescriptor(sel & 0xffff, LSL_SYSTEM_TYPES);
  if (pending) return 0;
  setFlagsEager(ZF, ok ? ZF : 0);
  return ok ? descLimit(descLo, descHi) : 0;
}

function verify(sel: u32, write: bool): bool {
  sel = takenSelector(sel & 0xffff);
  let ok = false;
  if (!isNull(sel) && readDescriptor(sel)) {
    const ar = descAr(descHi);
    const dpl = arDpl(ar);
    const conforming = (ar & (AR_CODE | AR_DC)) == (AR_CODE | AR_DC);
    if ((ar & AR_S) && (conforming || (cpl <= dpl && (sel & 3) <= dpl))) {
      ok = write ? (ar & (AR_CODE | AR_RW)) == AR_RW : !(ar & AR_CODE) || (ar & AR_RW) != 0;
    }
  }
  if (pending) return false;
  setFlagsEager(ZF, ok ? ZF : 0);
  return ok;
}
export function verr(sel: u32): bool { return verify(sel, false); }
export function verw(sel: u32): bool { return verify(sel, true); }
