// Write tracking of the guest-physical pages that hold compiled blocks, so that a store into a
// block's bytes forgets the block (which is compiled anew when it runs again) without anything
// being compared at block entry. Every writer of guest RAM reports here: the interpreter's stores
// (memory/physical.ts, and the direct paths in cpu/modrm.ts, cpu/stack.ts, memory/linear.ts), its
// bulk string copies (cpu/string.ts), compiled stores (src/jit/translate.ts, through jitCodeWritten)
// and the VMM's own writes into RAM, DMA and emulated string I/O (the export noteHostWrite).
//
// Per page, a mask of its 64-byte chunks that a store of up to 4 bytes may reach a block through
// (a block's bytes and the 3 bytes before it, which a 4-byte store starting there overlaps), and
// the list of cache entries whose blocks lie in the page (a block never crosses a page). An
// entry's function is a region of blocks of at most two pages (src/jit/region.ts: its first
// block's, and with paging off one other, BLOCK_SECOND_PAGE, where a function it calls may lie):
// each of them is tracked, the entry is on both pages' lists, and a store into any of its blocks
// forgets the whole region. A store
// tests its first byte's chunk bit: one load and a shift. Only a store into a marked chunk walks
// the page's list, and forgets just the blocks it overlaps; a loop writing data that shares a page
// with code, but not a chunk, pays the test alone.
//
// A guest chooses how many blocks a page holds (binary translation makes one per branch: thousands
// in a page of kernel code), so nothing may cost a walk of a page's list per block: the lists are
// doubly linked, and an entry leaves them in constant time. Its chunks are not cleared from the
// masks then (which would take the page's other blocks' chunks, a walk): a bit may stay set after
// its blocks are gone, and costs only a walk that finds nothing to forget. The walk a store makes
// sets its page's mask to what the blocks left there reach, and a page whose list empties is
// cleared at once (but for the chunk the next page's blocks may reach), so a stale bit lasts until
// the first store that changes the chunk's bytes. The walk is charged as host work
// (cpu/retirement.ts), a unit per region block looked at, so that a guest storing without end into
// a chunk beside one of thousands of blocks ends its entry as soon as work the budget sees would.
//
// The masks also watch the guest's page tables for the shadow MMU (mmu/shadow.ts): every chunk of
// a frame a shadow was made from is marked while it is tracked, so that a write into it with
// paging off, when no translation can refuse it, reaches codeWritten() and the shadows.
import { ramBase, ramSize } from "../memory/physical";
import { guestWroteTrackedFrame, isTracked } from "../mmu/shadow";
import { chargeHostWork } from "../cpu/retirement";
import {
  BLOCK_PHYSICAL, BLOCK_REGION_BLOCKS, BLOCK_NEXT_ON_PAGE, BLOCK_NEXT_ON_SECOND_PAGE, BLOCK_PREV_ON_PAGE,
  BLOCK_PREV_ON_SECOND_PAGE, BLOCK_SECOND_PAGE, BLOCK_ENTRY_SIZE, REGION_BLOCKS_OFFSET, REGION_BLOCKS_STRIDE,
  REGION_BLOCK_IN_SECOND_PAGE,
} from "../jit-abi";
import { forgetBlock } from "./block-cache";

// Bytes before a block that a store may start at and still overlap it (a 4-byte store's 3).
const REACH: u32 = 3;
// A page's last chunk, which the next page's blocks within REACH of its start also mark.
const LAST_CHUNK: u64 = <u64>1 << 63;

let masks: u32 = 0; // per page: u64, bit c = chunk c (64 bytes) may reach a block
let heads: u32 = 0; // per page: u16, the first of its blocks' cache entries (index + 1; 0 = none)
let pages: u32 = 0;
let entries: u32 = 0; // the block cache's first entry (block-cache.ts cacheBase)
let regionBlocks: u32 = 0; // where each entry's region blocks lie (jit-abi.ts REGION_BLOCKS_OFFSET)

// Bytes of the tables for `ramBytes` of RAM (rounded up to 64 KiB, as allocateRam() rounds).
export function codePagesBytes(ramBytes: u32): u32 {
  return ((ramBytes + 0xffff) >>> 12 & ~0xf) * 10;
}

// The tables go at `at` (zeroed memory: no page holds code), after the block cache at `cacheBase`.
export function placeCodePages(at: u32, ramBytes: u32, cacheBase: u32): void {
  entries = cacheBase;
  regionBlocks = cacheBase + REGION_BLOCKS_OFFSET;
  pages = (ramBytes + 0xffff) >>> 12 & ~0xf;
  masks = at;
  heads = masks + pages * 8;
}

// Where compiled code finds the masks (src/jit/translate.ts emits the same test as mayHitCode).
export function codePageMasks(): u32 { return masks; }

// Whether a store of at most 4 bytes at `p` (in RAM) may overlap a compiled block.
@inline export function mayHitCode(p: u32): bool {
  return ((load<u64>(masks + ((p >>> 12) << 3)) >> <u64>((p >>> 6) & 63)) & 1) != 0;
}

// A store of `bytes` (1, 2 or 4) of `v` at `p` (in RAM), as the interpreter makes them: tested
// for compiled code there first.
@inline export function storeTracked(p: u32, v: u32, bytes: u32): void {
  if (mayHitCode(p)) storeIntoCode(p, v, bytes);
  else if (bytes == 4) store<u32>(ramBase + p, v);
  else if (bytes == 2) store<u16>(ramBase + p, <u16>v);
  else store<u8>(ramBase + p, <u8>v);
}

// A store into a chunk that holds compiled code: the blocks it overlaps are forgotten if it
// changes their bytes (a loop that stores the same value into code, or into the chunk beside it,
// keeps its blocks).
function storeIntoCode(p: u32, v: u32, bytes: u32): void {
  const at = ramBase + p;
  const mask: u32 = bytes == 4 ? 0xffffffff : (1 << (bytes << 3)) - 1;
  let old: u32;
  if (bytes == 4) { old = load<u32>(at); store<u32>(at, v); }
  else if (bytes == 2) { old = <u32>load<u16>(at); store<u16>(at, <u16>v); }
  else { old = <u32>load<u8>(at); store<u8>(at, <u8>v); }
  if (((old ^ v) & mask) != 0) codeWritten(p, bytes);
}

@inline function entryAt(index1: u32): u32 { return entries + (index1 - 1) * BLOCK_ENTRY_SIZE; }
@inline function indexOf(entry: u32): u32 { return (entry - entries) / BLOCK_ENTRY_SIZE + 1; }
@inline function headAt(page: u32): u32 { return heads + (page << 1); }
@inline function maskAt(page: u32): u32 { return masks + (page << 3); }
// Block `b` of entry `e`'s region: its offset in its page (low 12 bits), REGION_BLOCK_IN_SECOND_PAGE,
// and its length (high 16).
@inline function regionBlock(e: u32, b: u32): u32 {
  return load<u32>(regionBlocks + (indexOf(e) - 1) * REGION_BLOCKS_STRIDE + (b << 2));
}
@inline function blockCount(e: u32): u32 { return <u32>load<u8>(e + BLOCK_REGION_BLOCKS); }
@inline function firstPage(e: u32): u32 { return load<u32>(e + BLOCK_PHYSICAL) >>> 12; }
// The page number + 1 of entry `e`'s second page, 0 when its region has none.
@inline function secondPage1(e: u32): u32 { return load<u32>(e + BLOCK_SECOND_PAGE); }
// Where entry `e` links to the next and the previous entry on page `page`'s list (one of its two pages).
@inline function nextLink(e: u32, page: u32): u32 {
  return e + (page == firstPage(e) ? BLOCK_NEXT_ON_PAGE : BLOCK_NEXT_ON_SECOND_PAGE);
}
@inline function prevLink(e: u32, page: u32): u32 {
  return e + (page == firstPage(e) ? BLOCK_PREV_ON_PAGE : BLOCK_PREV_ON_SECOND_PAGE);
}
@inline function nextOnPage(e: u32, page: u32): u32 { return <u32>load<u16>(nextLink(e, page)); }

// The chunks of page `page` that reach the blocks of entry `e` lying there.
function chunksOf(e: u32, page: u32): u64 {
  let mask: u64 = 0;
  const inSecond: u32 = page != firstPage(e) ? REGION_BLOCK_IN_SECOND_PAGE : 0;
  for (let b: u32 = 0; b < blockCount(e); b++) {
    const block = regionBlock(e, b);
    if ((block & REGION_BLOCK_IN_SECOND_PAGE) != inSecond) continue;
    const from = block & 0xfff;
    const to = from + (block >>> 16); // exclusive, at most 4096
    const first = from > REACH ? (from - REACH) >>> 6 : 0;
    const last = (to - 1) >>> 6;
    mask |= (last - first == 63 ? <u64>-1 : ((<u64>1 << <u64>(last - first + 1)) - 1)) << <u64>first;
  }
  return mask;
}

// Page `page` holds a guest page table (shadow.ts): every chunk is watched while it is tracked.
export function watchPage(page: u32): void {
  store<u64>(maskAt(page), <u64>-1);
}

// It holds none any more: its mask is left to the next store's walk, or cleared now if no block
// can need it.
export function unwatchPage(page: u32): void { clearIfNoBlocks(page); }

// Page `page` (below `pages`) holds no block (its list is empty; it is no page table): its mask
// keeps only the last chunk, and that only while the next page holds blocks.
function clearIfNoBlocks(page: u32): void {
  if (load<u16>(headAt(page)) != 0 || isTracked(page << 12)) return;
  store<u64>(maskAt(page), lastChunkForNextPage(page));
}

// Page `page`'s last chunk bit if the next page's blocks may need it: it is kept while that page
// holds blocks (whether one lies within REACH of its start only a walk of its list would tell).
function lastChunkForNextPage(page: u32): u64 {
  const nextHolds = page + 1 < pages && load<u16>(headAt(page + 1)) != 0;
  return nextHolds ? load<u64>(maskAt(page)) & LAST_CHUNK : 0;
}

// The compiled region or binary translation in cache entry `entry` (its physical address, region
// blocks and second page set) starts being tracked. Its chunks are added to the masks, without
// walking the pages' lists: binary translation tracks many small blocks in a page.
export function trackBlock(entry: u32): void {
  trackOn(entry, firstPage(entry));
  if (secondPage1(entry) != 0) trackOn(entry, secondPage1(entry) - 1);
}

function trackOn(entry: u32, page: u32): void {
  const head = <u32>load<u16>(headAt(page));
  store<u16>(nextLink(entry, page), <u16>head);
  store<u16>(prevLink(entry, page), 0);
  if (head != 0) store<u16>(prevLink(entryAt(head), page), <u16>indexOf(entry));
  store<u16>(headAt(page), <u16>indexOf(entry));
  store<u64>(maskAt(page), load<u64>(maskAt(page)) | chunksOf(entry, page));
  if (page > 0 && overlaps(entry, page << 12, (page << 12) + REACH)) {
    store<u64>(maskAt(page - 1), load<u64>(maskAt(page - 1)) | LAST_CHUNK);
  }
}

// The block in `entry` is no longer compiled: stop tracking it, on both its pages' lists. Constant
// time: the masks keep its chunks (see the top), unless its page holds no block any more.
export function untrackBlock(entry: u32): void {
  const second1 = secondPage1(entry);
  unlink(entry, firstPage(entry));
  if (second1 != 0) unlink(entry, second1 - 1);
  store<u32>(entry + BLOCK_SECOND_PAGE, 0);
}

function unlink(entry: u32, page: u32): void {
  const next = load<u16>(nextLink(entry, page)), prev = <u32>load<u16>(prevLink(entry, page));
  store<u16>(prev == 0 ? headAt(page) : nextLink(entryAt(prev), page), next);
  if (next != 0) store<u16>(prevLink(entryAt(<u32>next), page), <u16>prev);
  store<u16>(nextLink(entry, page), 0);
  store<u16>(prevLink(entry, page), 0);
  if (next == 0 && prev == 0) {
    clearIfNoBlocks(page);
    if (page > 0) clearIfNoBlocks(page - 1); // its last chunk may have been for this page's blocks
  }
}

// `len` bytes from `p` were written: forget (block-cache.ts forgetBlock) every region with a block
// they overlap, and mark in each page walked only the chunks the blocks left there reach.
export function codeWritten(p: u32, len: u32): void {
  if (len == 0 || p >= ramSize) return;
  const end = len > ramSize - p ? ramSize : p + len;
  for (let page = p >>> 12; page <= (end - 1) >>> 12; page++) {
    if (load<u64>(maskAt(page)) == 0) continue;
    const from = page == p >>> 12 ? p : page << 12;
    guestWroteTrackedFrame(from, (page == (end - 1) >>> 12 ? end : (page + 1) << 12) - from);
    let reached: u64 = 0;
    let work: u32 = 1;
    let i = <u32>load<u16>(headAt(page));
    while (i != 0) {
      const e = entryAt(i);
      i = nextOnPage(e, page);
      work += blockCount(e);
      if (overlaps(e, p, end)) forgetBlock(e);
      else reached |= chunksOf(e, page);
    }
    chargeHostWork(work);
    if (!isTracked(page << 12)) store<u64>(maskAt(page), reached | lastChunkForNextPage(page));
  }
}

// Whether a block of entry `e`'s region overlaps the physical bytes [p, end).
function overlaps(e: u32, p: u32, end: u32): bool {
  const first = firstPage(e) << 12, second = (secondPage1(e) - 1) << 12;
  for (let b: u32 = 0; b < blockCount(e); b++) {
    const block = regionBlock(e, b);
    const from = (block & REGION_BLOCK_IN_SECOND_PAGE ? second : first) + (block & 0xfff);
    if (from < end && p < from + (block >>> 16)) return true;
  }
  return false;
}
