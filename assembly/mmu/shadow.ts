// Shadow page tables: for each address space (keyed by its tag, context.ts) a shadow page directory whose
// entries point to shadow page tables, filled lazily from guest walks, holding guest-physical
// frames with the effective permissions of the walk. Shadows survive address-space switches,
// so returning to a known CR3 costs no rebuilding.
//
// Coherence: every guest frame used as a page directory or page table by some shadow is
// tracked (a reference count per frame); shadow entries never grant write access to a tracked
// frame, so each guest write to its own page tables reaches invalidateGuestWrite(), which drops
// exactly the shadow entries derived from the guest entry written. Each root has its own TLB
// bank (tlb.ts) holding copies of its shadow entries; every shadow entry dropped here takes its
// TLB copy with it. While paging is off there is no translation to refuse the write, so a tracked
// frame is also watched through the code-page masks (jit/code-pages.ts), which every writer of
// guest RAM tests: a write into it reaches guestWroteTrackedFrame() and invalidates the same way,
// and the shadows outlive paging being switched off and on (an SVM guest without paging and its
// paging hypervisor switch at every VMRUN and #VMEXIT). Memory is bounded: MAX_ROOTS
// shadow directories and POOL_PAGES shadow tables; when they run out, the least recently used
// address space (or, for tables, every shadow) is reclaimed.
import { STAT_SHADOW_PAGES, STAT_SHADOW_ROOTS_BUILT, STAT_SHADOW_ROOTS_REUSED, STAT_SHADOW_FLUSHES } from "../vmcs-layout";
import { S_LARGE } from "./walker";
import { S_SUPER_WRITE, S_USER_WRITE } from "../jit-abi";
import { addStat } from "./stats";
import { tlbWriteProtect, tlbSelect, tlbFlushPage, tlbFlushLargePage, tlbFlushBank, BANKS } from "./tlb";
import { ramSize } from "../memory/physical";
import { chargeHostWork } from "../cpu/retirement";
import { watchPage, unwatchPage } from "../jit/code-pages";

// Host work (retirement.ts units, about an instruction each) of scanning 1024 entries of a
// table or of clearing one. The scans below cost up to a few hundred microseconds, and a guest
// can make them happen at every instruction.
const TABLE_SCAN_WORK: u32 = 1024;

const MAX_ROOTS: u32 = BANKS;
const POOL_PAGES: u32 = 512;
const NO_ROOT: u32 = 0xffffffff;

let rootDirs: u32 = 0; // MAX_ROOTS x 1024 u16: shadow-table index (1-based) per PDE slot
let pool: u32 = 0; // POOL_PAGES x 1024 u32 shadow entries
let frameRefs: u32 = 0; // u16 per guest frame: shadows derived from it
const rootTag = memory.data(MAX_ROOTS * 8); // u64: the address space's tag (context.ts), 0 = free
const rootDirectory = memory.data(MAX_ROOTS * 4); // its guest page directory's frame
const rootUse = memory.data(MAX_ROOTS * 4); // last-use stamp for LRU
const tableSource = memory.data(POOL_PAGES * 4); // guest PT frame | 1 (0 = free; S_LARGE: from a 4 MiB PDE)
const tableOwner = memory.data(POOL_PAGES * 4); // root << 10 | PDE index: where the table hangs

export let activeRoot: u32 = NO_ROOT;
let useClock: u32 = 0;

export function allocateShadows(): void {
  const frames = ramSize >>> 12;
  const bytes = MAX_ROOTS * 2048 + POOL_PAGES * 4096 + frames * 2;
  const first = memory.grow(<i32>((bytes + 0xffff) >>> 16));
  if (first < 0) unreachable();
  rootDirs = <u32>first << 16;
  pool = rootDirs + MAX_ROOTS * 2048;
  frameRefs = pool + POOL_PAGES * 4096; // freshly grown memory is zero
}

@inline function dirSlot(root: u32, pdeIndex: u32): u32 { return rootDirs + (root << 11) + (pdeIndex << 1); }
@inline export function tableEntry(table: u32, index: u32): u32 { return pool + ((table - 1) << 12) + (index << 2); }

// ---- Frame tracking --------------------------------------------------------------------------
/** Where the tracking counts lie (the fuzzer checks that only tracked frames are watched whole). */
export function trackedFrameCounts(): u32 { return frameRefs; }

@inline export function isTracked(frame: u32): bool {
  const f = frame >>> 12;
  return f < (ramSize >>> 12) && load<u16>(frameRefs + (f << 1)) != 0;
}

function track(frame: u32): void {
  const f = frame >>> 12;
  if (f >= (ramSize >>> 12)) return;
  const refs = load<u16>(frameRefs + (f << 1));
  store<u16>(frameRefs + (f << 1), refs + 1);
  if (refs == 0) {
    writeProtect(frame);
    watchPage(f);
  }
}

function untrack(frame: u32): void {
  const f = frame >>> 12;
  if (f >= (ramSize >>> 12)) return;
  const refs = load<u16>(frameRefs + (f << 1));
  if (refs != 0) store<u16>(frameRefs + (f << 1), refs - 1);
  if (refs == 1) unwatchPage(f);
}

// While paging is off: a write of the guest's changed `bytes` at `p` in a frame the code-page
// masks watch (code-pages.ts codeWritten). With paging on, translation has invalidated already.
export let pagingOff: bool = false;
export function setPagingOff(off: bool): void { pagingOff = off; }
export function guestWroteTrackedFrame(p: u32, bytes: u32): void {
  if (pagingOff && isTracked(p & 0xfffff000)) invalidateGuestWrite(p, bytes);
}

// A frame just became a page table: no shadow or TLB entry may keep writing it directly.
function writeProtect(frame: u32): void {
  tlbWriteProtect(frame);
  chargeHostWork(BANKS * TABLE_SCAN_WORK);
  for (let t: u32 = 1; t <= POOL_PAGES; t++) {
    if (load<u32>(tableSource + ((t - 1) << 2)) == 0) continue;
    chargeHostWork(TABLE_SCAN_WORK);
    for (let i: u32 = 0; i < 1024; i++) {
      const at = tableEntry(t, i);
      const e = load<u32>(at);
      if ((e & 0xfffff000) == frame) store<u32>(at, e & ~(S_SUPER_WRITE | S_USER_WRITE));
    }
  }
}

// ---- Address spaces ---------------------------------------------------------------------------
// Make the shadow of the address space `tag`, whose page directory is at `directory`, active,
// finding it or building an empty one. Returns true when an existing shadow was found.
export function activate(tag: u64, directory: u32): bool {
  for (let r: u32 = 0; r < MAX_ROOTS; r++) {
    if (load<u64>(rootTag + (r << 3)) == tag) {
      makeActive(r);
      store<u32>(rootUse + (r << 2), ++useClock);
      addStat(STAT_SHADOW_ROOTS_REUSED);
      return true;
    }
  }
  // a new address space: take a free root, or the least recently used one
  let victim: u32 = 0;
  for (let r: u32 = 0; r < MAX_ROOTS; r++) {
    if (load<u64>(rootTag + (r << 3)) == 0) { victim = r; break; }
    if (load<u32>(rootUse + (r << 2)) < load<u32>(rootUse + (victim << 2))) victim = r;
  }
  releaseRoot(victim);
  store<u64>(rootTag + (victim << 3), tag);
  store<u32>(rootDirectory + (victim << 2), directory);
  store<u32>(rootUse + (victim << 2), ++useClock);
  track(directory);
  makeActive(victim);
  addStat(STAT_SHADOW_ROOTS_BUILT);
  return false;
}

function makeActive(r: u32): void {
  activeRoot = r;
  tlbSelect(<i32>r);
}

function releaseRoot(r: u32): void {
  if (load<u64>(rootTag + (r << 3)) == 0) return;
  tlbFlushBank(r); // first, so that each dropTable() below finds nothing left to flush
  chargeHostWork(2 * TABLE_SCAN_WORK);
  for (let i: u32 = 0; i < 1024; i++) dropTable(r, i);
  untrack(load<u32>(rootDirectory + (r << 2)));
  store<u64>(rootTag + (r << 3), 0);
  if (activeRoot == r) {
    activeRoot = NO_ROOT;
    tlbSelect(-1);
  }
}

function dropTable(r: u32, pdeIndex: u32): void {
  const t = <u32>load<u16>(dirSlot(r, pdeIndex));
  if (t == 0) return;
  store<u16>(dirSlot(r, pdeIndex), 0);
  tlbFlushLargePage(r, pdeIndex);
  const source = load<u32>(tableSource + ((t - 1) << 2));
  if (!(source & S_LARGE)) untrack(source & 0xfffff000);
  store<u32>(tableSource + ((t - 1) << 2), 0);
  addStat(STAT_SHADOW_PAGES, -1);
}

// Forget every shadow (after CR0.WP/CR4 paging-mode changes, or when the pool is exhausted).
export function flushAllShadows(): void {
  for (let r: u32 = 0; r < MAX_ROOTS; r++) releaseRoot(r);
  addStat(STAT_SHADOW_FLUSHES);
}

// ---- Entries -----------------------------------------------------------------------------------
// The shadow entry for `lin` in the active shadow, or 0.
@inline export function shadowLookup(lin: u32): u32 {
  if (activeRoot == NO_ROOT) return 0;
  const t = <u32>load<u16>(dirSlot(activeRoot, lin >>> 22));
  if (t == 0) return 0;
  return load<u32>(tableEntry(t, (lin >>> 12) & 0x3ff));
}

// Record a walk's result. `ptFrame` is the guest page table it came from (0 for a 4 MiB page).
// Returns false when it could not (every shadow was just reclaimed to make room).
export function shadowFill(lin: u32, entry: u32, ptFrame: u32): bool {
  if (activeRoot == NO_ROOT) return false;
  const slotAt = dirSlot(activeRoot, lin >>> 22);
  let t = <u32>load<u16>(slotAt);
  const source: u32 = (entry & S_LARGE) ? S_LARGE : ptFrame | 1;
  if (t != 0 && load<u32>(tableSource + ((t - 1) << 2)) != source) {
    dropTable(activeRoot, lin >>> 22); // the PDE now points elsewhere
    t = 0;
  }
  if (t == 0) {
    t = allocateTable();
    if (t == 0) return false; // everything was just reclaimed, including this root
    store<u32>(tableSource + ((t - 1) << 2), source);
    store<u32>(tableOwner + ((t - 1) << 2), activeRoot << 10 | lin >>> 22);
    store<u16>(slotAt, <u16>t);
    if (!(source & S_LARGE)) track(ptFrame);
  }
  // never grant direct writes to a page that is itself a page table
  const e = isTracked(entry & 0xfffff000) ? entry & ~(S_SUPER_WRITE | S_USER_WRITE) : entry;
  store<u32>(tableEntry(t, (lin >>> 12) & 0x3ff), e);
  return true;
}

function allocateTable(): u32 {
  for (let t: u32 = 1; t <= POOL_PAGES; t++) {
    if (load<u32>(tableSource + ((t - 1) << 2)) == 0) {
      memory.fill(tableEntry(t, 0), 0, 4096);
      chargeHostWork(TABLE_SCAN_WORK);
      addStat(STAT_SHADOW_PAGES);
      return t;
    }
  }
  const active = activeRoot;
  const tag = active != NO_ROOT ? load<u64>(rootTag + (active << 3)) : 0;
  const directory = active != NO_ROOT ? load<u32>(rootDirectory + (active << 2)) : 0;
  flushAllShadows();
  if (tag != 0) activate(tag, directory); // keep the current address space, now empty
  return 0;
}

export function shadowFlushPage(lin: u32): void {
  if (activeRoot == NO_ROOT) return;
  const t = <u32>load<u16>(dirSlot(activeRoot, lin >>> 22));
  if (t != 0) dropEntry(t, (lin >>> 12) & 0x3ff);
}

// Drop entry `index` of shadow table `t`, and its TLB copy.
function dropEntry(t: u32, index: u32): void {
  store<u32>(tableEntry(t, index), 0);
  const owner = load<u32>(tableOwner + ((t - 1) << 2));
  tlbFlushPage(owner >>> 10, (owner & 0x3ff) << 22 | index << 12);
}

// The guest wrote `bytes` bytes at guest-physical `p` inside a tracked page: drop the shadow
// entries derived from the guest entries written (a PDE in a directory, a PTE in a table).
export function invalidateGuestWrite(p: u32, bytes: u32): void {
  const frame = p & 0xfffff000;
  const first = (p & 0xfff) >>> 2;
  const last = ((p + bytes - 1) & 0xfff) >>> 2;
  chargeHostWork(TABLE_SCAN_WORK);
  for (let r: u32 = 0; r < MAX_ROOTS; r++) {
    if (load<u64>(rootTag + (r << 3)) != 0 && load<u32>(rootDirectory + (r << 2)) == frame) {
      for (let i = first; i <= last; i++) dropTable(r, i);
    }
  }
  for (let t: u32 = 1; t <= POOL_PAGES; t++) {
    if (load<u32>(tableSource + ((t - 1) << 2)) == (frame | 1)) {
      for (let i = first; i <= last; i++) dropEntry(t, i);
    }
  }
}
