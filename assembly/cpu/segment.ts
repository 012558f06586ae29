// Segmented addressing: offset -> linear address with the limit and type checks protected mode
// makes on every access, and the segment-derived globals (CPL, CS.D, SS.B, the flat mask) that
// let the hot path skip those checks for flat segments.
import {
  userLevelSeen, segBase, segLimit, segAr, cpl, csDefault32, ssBig, flatMask, raise, pending, o32, a32,
  EXC_GP, EXC_SS, segField, noteModeChange,
} from "./state";
import { SR_ES, SR_CS, SR_SS, SR_DS, SR_FS, SR_GS, AR_UNUSABLE, SEG_SEL, SEG_BASE, SEG_LIMIT, SEG_AR } from "../vmcs-layout";
import { linRead, linWrite } from "../memory/linear";
import { noteCodeSegment } from "./fetch";

// Access-rights bits (VMCS format)
export const AR_ACCESSED: u32 = 1;
export const AR_RW: u32 = 2; // writable data / readable code
export const AR_DC: u32 = 4; // expand-down data / conforming code
export const AR_CODE: u32 = 8;
export const AR_S: u32 = 0x10; // code or data (not system)
export const AR_P: u32 = 0x80;
export const AR_DB: u32 = 0x4000;
export const AR_G: u32 = 0x8000;

@inline export function arDpl(ar: u32): u32 { return (ar >> 5) & 3; }

// Linear address of seg:off for an access of `bytes` bytes; raises #GP(0) (#SS(0) for SS) when the
// segment is unusable, the offset is beyond the limit or the type forbids the access.
@inline export function segAddr(seg: u32, off: u32, bytes: u32, write: bool): u32 {
  if (flatMask & (1 << seg)) return off;
  return segAddrChecked(seg, off, bytes, write);
}

function segAddrChecked(seg: u32, off: u32, bytes: u32, write: bool): u32 {
  const ar = segAr(seg);
  const vector = seg == SR_SS ? EXC_SS : EXC_GP;
  if (ar & AR_UNUSABLE) { raise(vector, 0); return 0; }
  if (ar & AR_CODE) {
    if (write || !(ar & AR_RW)) { raise(EXC_GP, 0); return 0; }
  } else if (write && !(ar & AR_RW)) { raise(vector, 0); return 0; }
  const limit = segLimit(seg);
  const last = off + bytes - 1;
  if (!(ar & AR_CODE) && (ar & AR_DC)) {
    // expand-down: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF
    const top: u32 = (ar & AR_DB) ? 0xffffffff : 0xffff;
    if (off <= limit || last > top || last < off) { raise(vector, 0); return 0; }
  } else if (last > limit || last < off) { raise(vector, 0); return 0; }
  return segBase(seg) + off;
}

// Data accesses through a segment with the current privilege (CPL 3 accesses are user accesses).
export function readSeg(seg: u32, off: u32, bytes: u32): u32 {
  const lin = segAddr(seg, off, bytes, false);
  if (pending) return 0;
  return linRead(lin, bytes, cpl == 3);
}
export function writeSeg(seg: u32, off: u32, bytes: u32, v: u32): void {
  const lin = segAddr(seg, off, bytes, true);
  if (pending) return;
  linWrite(lin, bytes, v, cpl == 3);
}

// Load a segment register's visible and hidden parts (no checks: callers have made them).
// Of what refreshSegmentCache() derives, a data segment (ES, DS, FS, GS) moves only its own flat
// bit, and the mode changes for compiled code only if that bit did: a kernel reloading the same
// flat selectors at every system call then costs no recomputation. CS and SS refresh only what
// derives from them (a process switch loads both twice, at INT and at IRET).
export function setSegment(seg: u32, sel: u32, base: u32, limit: u32, ar: u32): void {
  store<u32>(segField(seg, SEG_SEL), sel & 0xffff);
  store<u32>(segField(seg, SEG_BASE), base);
  store<u32>(segField(seg, SEG_LIMIT), limit);
  store<u32>(segField(seg, SEG_AR), ar);
  if (seg == SR_ES || seg == SR_DS || seg == SR_FS || seg == SR_GS) {
    const flat = (flatMask & ~(<u32>1 << seg)) | flatBitOf(seg, base, limit, ar);
    if (flat == flatMask) return;
    flatMask = flat;
  } else if (seg == SR_SS) {
    flatMask = (flatMask & ~(<u32>1 << SR_SS)) | flatBitOf(SR_SS, base, limit, ar);
    refreshStackSegment();
  } else if (seg == SR_CS) {
    refreshCodeSegment();
  } else {
    refreshSegmentCache(); // LDTR, TR: nothing derives from them, as before
  }
  noteModeChange();
}

// 1 << s when data segment register s, with these hidden parts, is flat, readable and writable
// (branch-free: this runs at every segment load).
@inline function flatBitOf(s: u32, base: u32, limit: u32, ar: u32): u32 {
  const usable = (ar & (AR_UNUSABLE | AR_P | AR_S | AR_CODE | AR_DC | AR_RW)) == (AR_P | AR_S | AR_RW);
  return <u32>(usable & (base == 0) & (limit == 0xffffffff)) << s;
}
@inline function flatBit(s: u32): u32 { return flatBitOf(s, segBase(s), segLimit(s), segAr(s)); }

// What derives from CS: the default operand and address size, and the fetch window's segment.
function refreshCodeSegment(): void {
  const default32 = (segAr(SR_CS) & AR_DB) != 0;
  if (default32 != csDefault32) {
    // a transfer to code of the other default size: later instructions decode with new defaults
    csDefault32 = default32;
    o32 = default32;
    a32 = default32;
  }
  noteCodeSegment(segBase(SR_CS), segLimit(SR_CS), cpl);
}

// What derives from SS besides its flat bit: the stack size and the CPL (which the fetch window
// keeps too).
function refreshStackSegment(): void {
  ssBig = (segAr(SR_SS) & AR_DB) != 0;
  // as in VMX guest state, CPL is the DPL of SS
  cpl = arDpl(segAr(SR_SS));
  if (cpl == 3) userLevelSeen = true;
  noteCodeSegment(segBase(SR_CS), segLimit(SR_CS), cpl);
}

// Recompute everything derived from the segment registers (after any load, and at a VM entry
// after the VMM wrote a segment).
export function refreshSegmentCache(): void {
  flatMask = flatBit(SR_ES) | flatBit(SR_SS) | flatBit(SR_DS) | flatBit(SR_FS) | flatBit(SR_GS);
  refreshStackSegment();
  refreshCodeSegment();
}
