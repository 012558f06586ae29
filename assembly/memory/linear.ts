// Linear memory: every guest access goes linear -> physical through `translate` here, so the
// shadow MMU (assembly/mmu/) slots in at this one place; physical.ts below does the rest.
import { cr0, CR0_PG, pending, noteModeChange } from "../cpu/state";
import { mmuTranslate, followPagingRules } from "../mmu/mmu";
import { isTracked } from "../mmu/shadow";
import {
  ramBase, ramSize, writeTrapped, trapWrite, physWrite, physRead8, physRead16, physRead32, physWrite8, physWrite16, physWrite32,
} from "./physical";
import { storeTracked } from "../jit/code-pages";

// ---- Linear -> physical ----------------------------------------------------------------------
// With paging off linear addresses are physical. With paging on the shadow MMU (assembly/mmu/)
// translates, and may raise #PF (setting `pending`), in which case the result is meaningless.
export let pagingEnabled: bool = false;

// CR0/CR4 changed (or VM entry): follow paging being switched on or off, and the paging rules.
export function followPagingControls(): void {
  pagingEnabled = (cr0() & CR0_PG) != 0;
  followPagingRules();
  noteModeChange();
}

@inline export function translate(lin: u32, write: bool, user: bool): u32 {
  if (!pagingEnabled) return lin;
  return mmuTranslate(lin, write, user);
}

// Linear accesses. `user` is true for accesses made with CPL 3 privileges.
// An access that crosses a page boundary is split so each half is translated on its own.
export function linRead8(lin: u32, user: bool): u32 {
  const p = translate(lin, false, user);
  if (pending) return 0;
  return physRead8(p);
}
export function linRead16(lin: u32, user: bool): u32 {
  if ((lin & 0xfff) == 0xfff && pagingEnabled) {
    const lo = linRead8(lin, user);
    return lo | (linRead8(lin + 1, user) << 8);
  }
  const p = translate(lin, false, user);
  if (pending) return 0;
  return physRead16(p);
}
export function linRead32(lin: u32, user: bool): u32 {
  if (!pagingEnabled) {
    if (lin <= ramSize - 4) return load<u32>(ramBase + lin);
    return physRead32(lin);
  }
  if ((lin & 0xfff) > 0xffc) {
    const lo = linRead16(lin, user);
    return lo | (linRead16(lin + 2, user) << 16);
  }
  const p = translate(lin, false, user);
  if (pending) return 0;
  return physRead32(p);
}
export function linWrite8(lin: u32, v: u32, user: bool): void {
  const p = translate(lin, true, user);
  if (pending) return;
  physWrite8(p, v);
}
export function linWrite16(lin: u32, v: u32, user: bool): void {
  if ((lin & 0xfff) == 0xfff && pagingEnabled) {
    // probe both pages before writing either, so a fault leaves memory unchanged
    translate(lin + 1, true, user);
    if (pending) return;
    linWrite8(lin, v, user);
    linWrite8(lin + 1, v >> 8, user);
    return;
  }
  const p = translate(lin, true, user);
  if (pending) return;
  physWrite16(p, v);
}
export function linWrite32(lin: u32, v: u32, user: bool): void {
  if (!pagingEnabled) {
    if (lin <= ramSize - 4 && !writeTrapped(lin, 4)) storeTracked(lin, v, 4);
    else physWrite32(lin, v);
    return;
  }
  if ((lin & 0xfff) > 0xffc) {
    translate(lin + 3, true, user);
    if (pending) return;
    linWrite16(lin, v, user);
    linWrite16(lin + 2, v >> 16, user);
    return;
  }
  const p = translate(lin, true, user);
  if (pending) return;
  physWrite32(p, v);
}

// Make sure a later write of `bytes` at `lin` cannot fault or exit: translate it for writing
// (raising #PF now, setting the dirty bit) and check the write trap (exiting now). Read-modify-
// write instructions call this before they read, so a write that would fail changes nothing.
// Answers the write's guest-physical address, for writeProbed(); NO_PHYSICAL when it crosses a
// page with paging on, or faulted or exited (`pending` set).
export const NO_PHYSICAL: u32 = 0xffffffff;
export function probeWrite(lin: u32, bytes: u32, user: bool): u32 {
  const p = translate(lin, true, user);
  if (pending) return NO_PHYSICAL;
  if (writeTrapped(p, bytes)) { trapWrite(p); return NO_PHYSICAL; }
  if (!pagingEnabled) return p;
  if ((lin & 0xfff) + bytes > 0x1000) {
    const q = translate(lin + bytes - 1, true, user);
    if (!pending && writeTrapped(q, 1)) trapWrite(q);
    return NO_PHYSICAL;
  }
  return p;
}

// The write of `bytes` of `v` at `lin` that probeWrite() answered `p` for: with `translated`
// (no translation dropped since the probe: tlb.ts tlbGeneration has not moved) straight to `p`,
// unless `p` is NO_PHYSICAL or lies in a guest page table by now, whose shadows the write must
// invalidate (translate() does); else as any linear write.
@inline export function writeProbed(p: u32, translated: bool, lin: u32, bytes: u32, v: u32, user: bool): void {
  if (translated && p != NO_PHYSICAL && !(pagingEnabled && isTracked(p & 0xfffff000))) physWrite(p, bytes, v);
  else linWrite(lin, bytes, v, user);
}

@inline export function linRead(lin: u32, bytes: u32, user: bool): u32 {
  if (bytes == 4) return linRead32(lin, user);
  if (bytes == 2) return linRead16(lin, user);
  return linRead8(lin, user);
}
@inline export function linWrite(lin: u32, bytes: u32, v: u32, user: bool): void {
  if (bytes == 4) linWrite32(lin, v, user);
  else if (bytes == 2) linWrite16(lin, v, user);
  else linWrite8(lin, v, user);
}
