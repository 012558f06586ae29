// The MMU as the rest of the core sees it: linear -> guest-physical translation with paging on,
// through the software TLB, then the active shadow, then a guest walk (a "hidden fault" when it
// succeeds, a #PF injected into the guest when the guest's own tables say so). It also keeps the
// shadows coherent with guest writes to page tables and switches shadows on CR3 loads.
import { VMCS_BASE, STAT_TLB_MISSES, STAT_HIDDEN_FAULTS, STAT_PT_WRITE_TRAPS, STAT_SHADOW_PAGES } from "../vmcs-layout";
import { cr0, CR0_PG, pending } from "../cpu/state";
import { loadGuestRoot, loadGuestRules, guestContextCurrent, guestPagingControls, contextTag, contextDirectory } from "./context";
import { tlbLookup, tlbInsert } from "./tlb";
import { walk, pteAddress, S_LARGE } from "./walker";
import { S_SUPER_WRITE, S_USER_WRITE } from "../jit-abi";
import { addStat } from "./stats";
import {
  activate, shadowLookup, shadowFill, shadowFlushPage, isTracked, invalidateGuestWrite, setPagingOff,
} from "./shadow";
import { invalidateFetchWindow } from "./fetch-window";

let haveShadow: bool = false; // the shadow of the loaded context (context.ts) is active

@inline export function mmuTranslate(lin: u32, write: bool, user: bool): u32 {
  const hit = tlbLookup(lin, write, user);
  if (hit >= 0) return <u32>hit;
  return translateSlow(lin, write, user);
}

function translateSlow(lin: u32, write: bool, user: bool): u32 {
  addStat(STAT_TLB_MISSES);
  if (!haveShadow || !guestContextCurrent()) switchAddressSpace();
  let e = shadowLookup(lin);
  let shadowed = true; // a TLB entry must be the copy of a shadow entry (tlb.ts)
  if (!allows(e, write, user)) {
    // shadow miss, or not enough permission in the shadow: ask the guest's tables
    e = walk(lin, write, user);
    if (pending) return 0;
    addStat(STAT_HIDDEN_FAULTS);
    shadowed = shadowFill(lin, e, (e & S_LARGE) ? 0 : pteAddress & 0xfffff000);
  }
  const phys = (e & 0xfffff000) | (lin & 0xfff);
  if (write && isTracked(phys & 0xfffff000)) {
    // a write to one of the guest's page tables: let it through once, forget what it changes
    addStat(STAT_PT_WRITE_TRAPS);
    // the access is at most 4 bytes and never crosses the page (linWrite splits it)
    const room = 0x1000 - (phys & 0xfff);
    invalidateGuestWrite(phys, room < 4 ? room : 4);
    return phys; // no TLB entry: the next write to this page comes back here too
  }
  // a read of a page table must not leave a writable TLB entry behind either
  if (shadowed) tlbInsert(lin, isTracked(e & 0xfffff000) ? e & ~(S_SUPER_WRITE | S_USER_WRITE) : e);
  return phys;
}

@inline function allows(e: u32, write: bool, user: bool): bool {
  if (!(e & 1)) return false;
  const need: u32 = write ? (user ? 8 : 2) : (user ? 4 : 0);
  return (e & need) == need;
}

// CR3 changed (a MOV to CR3 in the guest, or the VMM at VM entry): switch to its shadow and its
// TLB bank. Nothing is flushed: the TLB is tagged by address space and coherent (tlb.ts), so
// what a CR3 load must forget on hardware is already gone.
export function switchAddressSpace(): void {
  loadGuestRoot();
  haveShadow = true;
  activate(contextTag, contextDirectory);
  invalidateFetchWindow();
}

export function invalidatePage(lin: u32): void {
  shadowFlushPage(lin);
  invalidateFetchWindow();
}

// CR0/CR4 were written, or the VMM may have changed them (VM entry). When CR0.WP or CR4.PSE
// change, translation goes on at once in the shadow and TLB bank tagged with the new rules
// (context.ts), found or built, and the shadows of the old rules stay for when they come back: a
// guest hypervisor and its guest paging under different rules keep theirs across level switches.
// Switching paging off and on keeps the shadows too: while it is off, the guest's writes to the
// frames they came from reach the shadows through the code-page masks (shadow.ts, Coherence).
let pagingControls: u32 = 0xffffffff;
export function followPagingRules(): void {
  const controls = guestPagingControls();
  if (controls == pagingControls) return;
  setPagingOff(!(controls & CR0_PG));
  pagingControls = controls;
  loadGuestRules();
  haveShadow = false;
  if (controls & CR0_PG) switchAddressSpace(); // the old rules' TLB bank must not answer any more
  invalidateFetchWindow();
}

// At VM entry: the VMM may have completed a MOV to CR3 by writing G_CR3. (A reload of the same
// value needs nothing: the TLB never holds a translation the guest's tables no longer give.)
export function checkAddressSpace(): void {
  if ((cr0() & CR0_PG) && (!haveShadow || !guestContextCurrent())) switchAddressSpace();
}

// After a saved VMCS was written into a fresh core: its counters (stats.ts) are the saved ones,
// except shadow pages in use: a restored VM starts with no shadows and rebuilds them on demand.
export function adoptMmuStats(): void {
  store<u32>(VMCS_BASE + STAT_SHADOW_PAGES, 0);
}
