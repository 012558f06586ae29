// Protected-mode segmentation and control transfer (DESIGN.md, assembly/: "protected-mode
// segmentation and privilege"): descriptor-table access, segment-register loads with the SDM's
// checks and error codes, far JMP/CALL/RETF (direct and through call gates, with the TSS stack
// switch), LLDT/LTR and LAR/LSL/VERR/VERW. Real-address mode gets the simple selector*16 paths.
// Task switching is not supported: task gates and TSS descriptors as transfer targets raise
// #GP(selector); virtual-8086 mode is not supported either.
// Every check and every read that can fault happens before any architectural state is committed.
import {
  cpl, eip, o32, pending, raise, cr0, r32, w32, w16, segSel, segBase, segLimit, segAr,
  CR0_PE, ESP, ZF, EXC_UD, EXC_TS, EXC_NP, EXC_SS, EXC_GP,
} from "./state";
import {
  VMCS_BASE, G_GDTR_BASE, G_GDTR_LIMIT, AR_UNUSABLE,
  SR_ES, SR_CS, SR_SS, SR_DS, SR_FS, SR_GS, SR_LDTR, SR_TR,
} from "../vmcs-layout";
import { linRead16, linRead32, linWrite, linWrite8 } from "./memory";
import { setSegment, arDpl, AR_ACCESSED, AR_RW, AR_DC, AR_CODE, AR_S, AR_P, AR_DB } from "./segment";
import { setFlagsEager } from "./flags";
import { peek, setSp, spOffset } from "./stack";

// Set by a load of SS (MOV SS, POP SS, LSS): the run loop blocks interrupts and debug traps for
// one instruction. (The SDM gives LSS no such shadow; an LSS handler may clear it again.)
export let movSsShadow: bool = false;

// ---- Descriptors -------------------------------------------------------------------------------
// The last descriptor read: its two dwords and its linear address (to set the accessed bit).
export let descLo: u32 = 0;
export let descHi: u32 = 0;
export let descAddr: u32 = 0;

@inline export function descBase(lo: u32, hi: u32): u32 {
  return (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
}
// Limit in bytes, scaled by the granularity bit.
@inline export function descLimit(lo: u32, hi: u32): u32 {
  const l = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & 0x800000) ? (l << 12) | 0xfff : l;
}
// Access rights in the VMCS format: type 0-3, S 4, DPL 5-6, P 7, AVL 12, L 13, D/B 14, G 15.
@inline export function descAr(hi: u32): u32 { return (hi >>> 8) & 0xf0ff; }

@inline function protectedMode(): bool { return (cr0() & CR0_PE) != 0; }
@inline function isNull(sel: u32): bool { return (sel & 0xfffc) == 0; }
// Selector error code (SDM 6.13): index and TI, RPL replaced by IDT=0 and EXT.
@inline export function selErr(sel: u32, ext: u32 = 0): i32 { return <i32>((sel & 0xfffc) | ext); }

// Read the descriptor `sel` selects (GDT, or the LDT when TI is set) into descLo/descHi.
// Returns false when the entry lies beyond the table limit or the LDT is unusable (nothing raised),
// or when the read itself faulted (`pending` set). System-table reads are supervisor accesses.
export function readDescriptor(sel: u32): bool {
  let base: u32, limit: u32;
  if (sel & 4) {
    if (segAr(SR_LDTR) & AR_UNUSABLE) return false;
    base = segBase(SR_LDTR);
    limit = segLimit(SR_LDTR);
  } else {
    base = load<u32>(VMCS_BASE + G_GDTR_BASE);
    limit = load<u32>(VMCS_BASE + G_GDTR_LIMIT);
  }
  const index = sel & 0xfff8;
  if (index + 7 > limit) return false;
  descAddr = base + index;
  descLo = linRead32(descAddr, false);
  if (pending) return false;
  descHi = linRead32(descAddr + 4, false);
  return pending == 0;
}

// readDescriptor, raising `vector` with the selector error code when the entry is outside its table.
export function fetchDescriptor(sel: u32, vector: i32, ext: u32): bool {
  if (readDescriptor(sel)) return true;
  if (!pending) raise(vector, selErr(sel, ext));
  return false;
}

// Set the accessed bit of the descriptor at `addr` (high dword `hi`) as hardware does on a load.
export function markAccessed(addr: u32, hi: u32): void {
  if (!(hi & 0x100)) linWrite8(addr + 5, ((hi >>> 8) | 1) & 0xff, false);
}

// ---- The code segment a transfer goes to (filled by takeCode) ----------------------------------
export let cBase: u32 = 0;
export let cLimit: u32 = 0;
export let cAr: u32 = 0;
export let cAddr: u32 = 0;
export let cHi: u32 = 0;

export function takeCode(): void {
  cBase = descBase(descLo, descHi);
  cLimit = descLimit(descLo, descHi);
  cAr = descAr(descHi);
  cAddr = descAddr;
  cHi = descHi;
}
// Commit CS from the taken descriptor with RPL `rpl` (the new CPL). The caller has marked it
// accessed. CPL itself follows SS.DPL (as VMX defines it), so privilege changes also load SS.
export function loadCs(sel: u32, rpl: u32): void {
  setSegment(SR_CS, (sel & 0xfffc) | rpl, cBase, cLimit, cAr | AR_ACCESSED);
}

// ---- A new stack segment (filled by tssStack / checkReturnSs) ---------------------------------
export let nsSel: u32 = 0;
export let nsEsp: u32 = 0;
export let nsBase: u32 = 0;
export let nsLimit: u32 = 0;
export let nsAr: u32 = 0;
export let nsAddr: u32 = 0;
export let nsHi: u32 = 0;

function takeStack(sel: u32): void {
  nsSel = sel;
  nsBase = descBase(descLo, descHi);
  nsLimit = descLimit(descLo, descHi);
  nsAr = descAr(descHi);
  nsAddr = descAddr;
  nsHi = descHi;
}
@inline function isWritableData(ar: u32): bool { return (ar & (AR_S | AR_CODE | AR_RW)) == (AR_S | AR_RW); }

// The inner stack for privilege level `dpl` from the current TSS (32-bit TSS: ESPn at 4+8n, SSn at
// 8+8n; 16-bit TSS: SPn at 2+4n, SSn at 4+4n) with the checks of CALL through a gate and of
// interrupt delivery: #TS(TR) for a TSS too short, #TS(EXT) for a null SS, #TS(SS) for a bad one,
// #SS(SS) when not present. `ext` is the EXT bit for the error codes.
export function tssStack(dpl: u32, ext: u32): bool {
  const trAr = segAr(SR_TR);
  const trErr = selErr(segSel(SR_TR), ext);
  const type = trAr & 0xf;
  if ((trAr & (AR_UNUSABLE | AR_S)) || (type & 5) != 1) { raise(EXC_TS, trErr); return false; }
  const base = segBase(SR_TR);
  let esp: u32, ss: u32;
  if (type & 8) {
    const a = (dpl << 3) + 4;
    if (a + 5 > segLimit(SR_TR)) { raise(EXC_TS, trErr); return false; }
    esp = linRead32(base + a, false);
    if (pending) return false;
    ss = linRead16(base + a + 4, false);
  } else {
    const a = (dpl << 2) + 2;
    if (a + 3 > segLimit(SR_TR)) { raise(EXC_TS, trErr); return false; }
    esp = linRead16(base + a, false);
    if (pending) return false;
    ss = linRead16(base + a + 2, false);
  }
  if (pending) return false;
  if (isNull(ss)) { raise(EXC_TS, <i32>ext); return false; }
  if (!fetchDescriptor(ss, EXC_TS, ext)) return false;
  const ar = descAr(descHi);
  if ((ss & 3) != dpl || arDpl(ar) != dpl || !isWritableData(ar)) { raise(EXC_TS, selErr(ss, ext)); return false; }
  if (!(ar & AR_P)) { raise(EXC_SS, selErr(ss, ext)); return false; }
  takeStack(ss);
  nsEsp = esp;
  return true;
}

// ---- Building a stack frame before committing anything -----------------------------------------
// Pushes go to memory at a private stack pointer with the limit checks of the target stack
// segment; ESP (and SS) are committed by the caller only once every push has succeeded.
let fBase: u32 = 0;
let fLimit: u32 = 0;
let fAr: u32 = 0;
let fSp: u32 = 0;
let fErr: i32 = 0;
let fUser: bool = false;

function frameInit(base: u32, limit: u32, ar: u32, sp: u32, user: bool, err: i32): void {
  fBase = base; fLimit = limit; fAr = ar; fUser = user; fErr = err;
  fSp = (ar & AR_DB) ? sp : sp & 0xffff;
}
// A frame on the current stack; a stack fault raises #SS(err).
export function frameCurrent(err: i32): void {
  frameInit(segBase(SR_SS), segLimit(SR_SS), segAr(SR_SS), r32(ESP), cpl == 3, err);
}
// A frame on the stack found by tssStack (always a supervisor stack); faults raise #SS(err).
export function frameNew(err: i32): void {
  frameInit(nsBase, nsLimit, nsAr, nsEsp, false, err);
}
export function framePush(bytes: u32, v: u32): void {
  if (pending) return;
  let sp = fSp - bytes;
  if (!(fAr & AR_DB)) sp &= 0xffff;
  const last = sp + bytes - 1;
  let ok: bool;
  if (fAr & AR_UNUSABLE) ok = false;
  else if ((fAr & (AR_CODE | AR_DC)) == AR_DC) { // expand-down
    const top: u32 = (fAr & AR_DB) ? 0xffffffff : 0xffff;
    ok = sp > fLimit && last <= top && last >= sp;
  } else ok = last <= fLimit && last >= sp;
  if (!ok) { raise(EXC_SS, fErr); return; }
  linWrite(fBase + sp, bytes, v, fUser);
  if (pending) return;
  fSp = sp;
}
// Make the frame's stack pointer the new ESP (SP for a 16-bit stack). SS must already be loaded.
export function frameCommitSp(): void {
  if (fAr & AR_DB) w32(ESP, fSp); else w16(ESP, fSp);
}

// ---- Segment-register loads ----------------------------------------------------------------------
// MOV Sreg, POP Sreg, LDS/LES/LFS/LGS/LSS. The caller has read the selector (and offset) already.
export function loadSegment(sreg: u32, sel: u32): void {
  sel &= 0xffff;
  if (sreg == <u32>SR_CS || sreg > <u32>SR_GS) { raise(EXC_UD); return; }
  if (!protectedMode()) {
    // Real-address mode: base = selector * 16; the hidden limit and attributes are kept.
    let ar = segAr(sreg), limit = segLimit(sreg);
    if (ar & AR_UNUSABLE) { ar = 0x93; limit = 0xffff; }
    setSegment(sreg, sel, sel << 4, limit, ar);
    if (sreg == SR_SS) movSsShadow = true;
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
    movSsShadow = true;
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

// After a return to an outer ring: ES, DS, FS, GS that the new CPL may not use become null.
export function nullifyDataSegments(): void {
  for (let s: u32 = <u32>SR_ES; s <= <u32>SR_GS; s++) {
    if (s == <u32>SR_CS || s == <u32>SR_SS) continue;
    const ar = segAr(s);
    if (ar & AR_UNUSABLE) continue;
    if (arDpl(ar) < cpl && (ar & (AR_CODE | AR_DC)) != (AR_CODE | AR_DC)) setSegment(s, 0, 0, 0, AR_UNUSABLE);
  }
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

export function farJump(sel: u32, off: u32): void {
  sel &= 0xffff;
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
    if (!(ar & AR_CODE) || !directCodeOk(ar, sel)) { raise(EXC_GP, selErr(sel)); return; }
    if (!(ar & AR_P)) { raise(EXC_NP, selErr(sel)); return; }
    takeCode();
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
  sel &= 0xffff;
  const bytes: u32 = o32 ? 4 : 2;
  if (!o32) off &= 0xffff;
  const retCs = segSel(SR_CS);
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
    if (!(ar & AR_CODE) || !directCodeOk(ar, sel)) { raise(EXC_GP, selErr(sel)); return; }
    if (!(ar & AR_P)) { raise(EXC_NP, selErr(sel)); return; }
    takeCode();
    frameCurrent(0);
    framePush(bytes, retCs);
    framePush(bytes, retEip);
    if (pending) return;
    if (off > cLimit) { raise(EXC_GP, 0); return; }
    markAccessed(cAddr, cHi);
    if (pending) return;
    frameCommitSp();
    loadCs(sel, cpl);
    eip = off;
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
  } else {
    frameCurrent(0);
    framePush(bytes, retCs);
    framePush(bytes, retEip);
    if (pending) return;
    if (target > cLimit) { raise(EXC_GP, 0); return; }
    markAccessed(cAddr, cHi);
    if (pending) return;
    frameCommitSp();
    loadCs(csSel, cpl);
  }
  eip = target;
}

// ---- Far returns (RETF here, IRET in interrupts.ts) ------------------------------------------
// Checks of a code-segment selector popped by RETF/IRET; on success the descriptor is taken.
export function checkReturnCs(sel: u32): bool {
  if (isNull(sel)) { raise(EXC_GP, 0); return false; }
  if (!fetchDescriptor(sel, EXC_GP, 0)) return false;
  const ar = descAr(descHi);
  const rpl = sel & 3;
  const dpl = arDpl(ar);
  if ((ar & (AR_S | AR_CODE)) != (AR_S | AR_CODE) || rpl < cpl ||
      ((ar & AR_DC) ? dpl > rpl : dpl != rpl)) { raise(EXC_GP, selErr(sel)); return false; }
  if (!(ar & AR_P)) { raise(EXC_NP, selErr(sel)); return false; }
  takeCode();
  return true;
}

// Checks of the SS selector popped when returning to ring `rpl`; on success the ns* globals hold it.
export function checkReturnSs(sel: u32, rpl: u32): bool {
  if (isNull(sel)) { raise(EXC_GP, 0); return false; }
  if (!fetchDescriptor(sel, EXC_GP, 0)) return false;
  const ar = descAr(descHi);
  if ((sel & 3) != rpl || arDpl(ar) != rpl || !isWritableData(ar)) { raise(EXC_GP, selErr(sel)); return false; }
  if (!(ar & AR_P)) { raise(EXC_SS, selErr(sel)); return false; }
  takeStack(sel);
  return true;
}

// Commit a return to an outer ring: CS (taken) with its RPL, SS (ns*), ESP = newEsp (SP for a
// 16-bit stack), then null the data segments the new CPL may not use. Faultable work is done.
export function commitOuterReturn(csSel: u32, newEsp: u32): void {
  setSegment(SR_CS, csSel, cBase, cLimit, cAr | AR_ACCESSED);
  setSegment(SR_SS, nsSel, nsBase, nsLimit, nsAr | AR_ACCESSED);
  if (nsAr & AR_DB) w32(ESP, newEsp); else w16(ESP, newEsp);
  nullifyDataSegments();
}

// RETF [imm16]: `extra` bytes of parameters are released from the stack (both stacks on a
// return to an outer ring).
export function farReturn(extra: u32): void {
  const bytes: u32 = o32 ? 4 : 2;
  const newEip = peek(0, bytes);
  if (pending) return;
  const csSel = peek(bytes, bytes) & 0xffff;
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
  return o32 ? descHi & 0x00f0ff00 : descHi & 0xff00;
}

// LSL: the segment limit in bytes (scaled by G), ZF = 1 when valid.
export function lsl(sel: u32): u32 {
  const ok = visibleDescriptor(sel & 0xffff, LSL_SYSTEM_TYPES);
  if (pending) return 0;
  setFlagsEager(ZF, ok ? ZF : 0);
  return ok ? descLimit(descLo, descHi) : 0;
}

function verify(sel: u32, write: bool): bool {
  sel &= 0xffff;
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
