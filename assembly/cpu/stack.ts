// The guest stack: SS:ESP (or SS:SP when SS.B is clear). Pushes and pops check the access before
// moving the stack pointer, so a faulting push or pop leaves ESP unchanged as x86 requires.
import { r32, w32, r16, w16, ssBig, pending, o32, cpl, ESP, flatMask } from "./state";
import { ramBase, ramSize, writeTrapped } from "../memory/physical";
import { storeTracked } from "../jit/code-pages";
import { pagingEnabled } from "../memory/linear";
import { tlbLookup } from "../mmu/tlb";
import { SR_SS } from "../vmcs-layout";
import { readSeg, writeSeg } from "./segment";

@inline export function getSp(): u32 { return ssBig ? r32(ESP) : r16(ESP); }
@inline export function setSp(v: u32): void { if (ssBig) w32(ESP, v); else w16(ESP, v); }
@inline export function addSp(delta: u32): void { setSp(getSp() + delta); }

// Offset `delta` bytes from the current stack pointer, wrapped to the stack's address size.
@inline export function spOffset(delta: u32): u32 {
  const v = getSp() + delta;
  return ssBig ? v : v & 0xffff;
}

// The common stack (flat 32-bit SS, paging off, inside RAM) is accessed directly.
@inline function directStack(): bool { return ((flatMask >> SR_SS) & 1) != 0 && ssBig && !pagingEnabled; }

export function push(bytes: u32, v: u32): void {
  if (directStack()) {
    const top = r32(ESP) - bytes;
    if (top <= ramSize - bytes && !writeTrapped(top, bytes)) {
      storeTracked(top, v, bytes);
      w32(ESP, top);
      return;
    }
  }
  const sp = spOffset(-bytes);
  writeSeg(SR_SS, sp, bytes, v);
  if (pending) return;
  setSp(sp);
}

export function pop(bytes: u32): u32 {
  if (directStack()) {
    const top = r32(ESP);
    if (top <= ramSize - bytes) {
      w32(ESP, top + bytes);
      return bytes == 4 ? load<u32>(ramBase + top) : <u32>load<u16>(ramBase + top);
    }
  }
  const v = readSeg(SR_SS, getSp(), bytes);
  if (pending) return 0;
  addSp(bytes);
  return v;
}

// Read the stack `delta` bytes above ESP without popping (for instructions that pop several
// values and must not change ESP when one of the reads faults).
@inline export function peek(delta: u32, bytes: u32): u32 {
  return readSeg(SR_SS, spOffset(delta), bytes);
}

// The host address of the `bytes` above ESP, when reading them can neither fail nor act on
// anything: a flat 32-bit stack, the bytes within one page that is in RAM and that the TLB already
// maps readable (or paging off); else 0. Reading there is what peek() would read at each offset (it
// would find the same TLB entry); where this answers 0, peek() does the reads with all its checks.
// IRET reads its whole frame so, with one lookup instead of five.
export function stackWindow(bytes: u32): u32 {
  if (!ssBig || !(flatMask & (1 << SR_SS))) return 0;
  const sp = r32(ESP);
  if ((sp & 0xfff) + bytes > 0x1000) return 0;
  let p = sp;
  if (pagingEnabled) {
    const hit = tlbLookup(sp, false, cpl == 3);
    if (hit < 0) return 0;
    p = <u32>hit;
  }
  return p <= ramSize - bytes ? ramBase + p : 0;
}

@inline export function pushV(v: u32): void { push(o32 ? 4 : 2, v); }
@inline export function popV(): u32 { return pop(o32 ? 4 : 2); }
