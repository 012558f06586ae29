// Descriptor-table plumbing shared by protected.ts (segment loads, far JMP/CALL/RETF) and
// interrupts.ts (IDT delivery, IRET) — part of the core's "protected-mode segmentation and
// privilege" (docs/design.md): reading GDT/LDT descriptors with the table-limit check, converting them to
// the VMCS base/limit/access-rights format, setting accessed bits, the checks on code and stack
// selectors popped by RETF/IRET, the inner stack from the TSS, and a stack-frame builder that
// writes a whole frame before ESP or SS is committed (so a fault part-way changes no register).
import {
  cpl, pending, raise, cr0, r32, w32, w16, segSel, segBase, segLimit, segAr,
  CR0_PE, ESP, EXC_TS, EXC_NP, EXC_SS, EXC_GP,
} from "./state";
import {
  VMCS_BASE, G_GDTR_BASE, G_GDTR_LIMIT, AR_UNUSABLE,
  SR_ES, SR_CS, SR_SS, SR_GS, SR_LDTR, SR_TR,
} from "../vmcs-layout";
import { linRead16, linRead32, linWrite8, probeWrite, writeProbed, translate } from "../memory/linear";
import { physRead32 } from "../memory/physical";
import { tlbGeneration } from "../mmu/tlb";
import { setSegment, arDpl, AR_ACCESSED, AR_RW, AR_DC, AR_CODE, AR_S, AR_P, AR_DB } from "./segment";

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

@inline export function protectedMode(): bool { return (cr0() & CR0_PE) != 0; }
@inline export function isNull(sel: u32): bool { return (sel & 0xfffc) == 0; }
// Selector error code (SDM 6.13): index and TI, RPL replaced by IDT=0 and EXT.
@inline export function selErr(sel: u32, ext: u32 = 0): i32 { return <i32>((sel & 0xfffc) | ext); }

// Read the descriptor `sel` selects (GDT, or the LDT when TI is set) into descLo/descHi.
// Returns false when the entry lies beyond the table limit or the LDT is unusable (nothing raised),
// or when the read itself faulted (`pending` set). System-table reads are supervisor accesses.
@inline export function readDescriptor(sel: u32): bool {
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
  if (!readSystemEntry(descAddr)) return false;
  descLo = entryLo;
  descHi = entryHi;
  return true;
}

// The 8-byte entry of a system table (GDT, LDT, IDT) at linear `addr`, a supervisor read, into
// entryLo/entryHi; false if the read faulted (`pending` set). One translation for both dwords
// unless the entry crosses a page (each half is then translated on its own, as two reads would).
export let entryLo: u32 = 0;
export let entryHi: u32 = 0;
@inline export function readSystemEntry(addr: u32): bool {
  if ((addr & 0xfff) > 0xff8) {
    entryLo = linRead32(addr, false);
    if (pending) return false;
    entryHi = linRead32(addr + 4, false);
    return pending == 0;
  }
  const p = translate(addr, false, false);
  if (pending) return false;
  entryLo = physRead32(p);
  entryHi = physRead32(p + 4);
  return true;
}

// readDescriptor, raising `vector` with the selector error code when the entry is outside its table.
export function fetchDescriptor(sel: u32, vector: i32, ext: u32): bool {
  if (readDescriptor(sel)) return true;
  if (!pending) raise(vector, selErr(sel, ext));
  return false;
}

// Set the accessed bit of the descriptor at `addr` (high dword `hi`) as hardware does on a load
// (inline: the bit is almost always set already, and every segment load asks).
@inline export function markAccessed(addr: u32, hi: u32): void {
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
@inline export function isWritableData(ar: u32): bool { return (ar & (AR_S | AR_CODE | AR_RW)) == (AR_S | AR_RW); }

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
// Pushes are checked (limits of the target stack segment, a write probe through paging and the
// write trap) and recorded at a private stack pointer; the caller commits them with
// frameCommitSp() only once every push and every later check of the instruction has succeeded,
// so a fault anywhere leaves both memory and ESP as they were (SDM 6.5: faults restart).
let fBase: u32 = 0;
let fLimit: u32 = 0;
let fAr: u32 = 0;
let fSp: u32 = 0;
let fErr: i32 = 0;
let fUser: bool = false;

// The recorded pushes: a call-gate frame is the largest (SS, ESP, 31 parameters, CS, EIP). Each
// keeps the physical address its probe answered, so that the commit need not translate again
// while no translation was dropped since the frame began (probeWrite, tlb.ts tlbGeneration).
const MAX_PUSHES: u32 = 40;
const pushAddress = memory.data(MAX_PUSHES * 4);
const pushPhysical = memory.data(MAX_PUSHES * 4);
const pushValue = memory.data(MAX_PUSHES * 4);
const pushBytes = memory.data(MAX_PUSHES);
let pushes: u32 = 0;
let frameGeneration: u64 = 0;

function frameInit(base: u32, limit: u32, ar: u32, sp: u32, user: bool, err: i32): void {
  fBase = base; fLimit = limit; fAr = ar; fUser = user; fErr = err;
  fSp = (ar & AR_DB) ? sp : sp & 0xffff;
  pushes = 0;
  frameGeneration = tlbGeneration;
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
  const p = probeWrite(fBase + sp, bytes, fUser);
  if (pending || pushes == MAX_PUSHES) return;
  store<u32>(pushAddress + (pushes << 2), fBase + sp);
  store<u32>(pushPhysical + (pushes << 2), p);
  store<u32>(pushValue + (pushes << 2), v);
  store<u8>(pushBytes + pushes, <u8>bytes);
  pushes++;
  fSp = sp;
}
// Write the frame and make its stack pointer the new ESP (SP for a 16-bit stack).
export function frameCommitSp(): void {
  for (let i: u32 = 0; i < pushes; i++) {
    writeProbed(load<u32>(pushPhysical + (i << 2)), frameGeneration == tlbGeneration, load<u32>(pushAddress + (i << 2)),
      <u32>load<u8>(pushBytes + i), load<u32>(pushValue + (i << 2)), fUser);
  }
  pushes = 0;
  if (fAr & AR_DB) w32(ESP, fSp); else w16(ESP, fSp);
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

// ---- Returns: checks shared by RETF (protected.ts) and IRET (interrupts.ts) --------------------
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
