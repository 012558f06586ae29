// The software TLB in front of the shadow page tables: for every shadow root a bank of 1024
// direct-mapped recent translations, so that the common paged access is a tag compare and a
// permission test. The banks are tagged by address space as VPID/PCID tag hardware TLBs: a CR3
// switch selects the bank of its shadow and flushes nothing, so switching back to an address
// space finds its translations still there.
//
// That is only correct because every TLB entry is a copy of a shadow entry, and shadow entries
// are kept coherent with the guest's page tables (shadow.ts): whenever a shadow entry is dropped,
// the TLB entry copied from it is dropped with it. A translation the guest changed is therefore
// never used after the change, not even before the INVLPG or CR3 load that would make it visible
// on hardware (a CPU may use the old or the new entry until then; we always use the new one).
// Global pages (CR4.PGE) need nothing of their own for the same reason: a bank is never flushed
// by a CR3 load, and a global translation is not shared with other address spaces, which find
// it by walking their own tables (that map it the same way in any OS that uses global pages; a
// CPU may drop any TLB entry at any time, so software cannot rely on more).
import { ramSize } from "../memory/physical";
import { invalidateFetchWindow } from "./fetch-window";
import {
  HOLE_START, HOLE_END, TLB_ENTRIES as ENTRIES, TLB_ENTRIES_OFFSET, S_SUPER_WRITE, S_USER_READ, S_USER_WRITE, T_PLAIN_RAM,
} from "../jit-abi";

export const BANKS: u32 = 8; // one per shadow root (shadow.ts MAX_ROOTS)
// A bank: tags (linear page number + 1; 0 = empty), then entries (shadow entry: frame |
// permission bits), then the slots filled since the bank was last flushed, so that flushing
// costs as many steps as the address space used pages, not 1024 (the list may hold a slot
// twice; it is rebuilt when full).
const TAGS: u32 = 0;
const USED: u32 = ENTRIES * 8;
const BANK_BYTES: u32 = ENTRIES * 12;
const usedCount = memory.data(BANKS * 4);

let banks: u32 = 0; // BANKS banks, then one that stays empty: the bank when no shadow is active
// The active bank's address: read by compiled blocks, which is why it is an exported global.
export let tlbBank: u32 = 0;
// Moves whenever entries are dropped: a translation looked up in a bank at one generation still
// holds in that bank while the generation has not moved (assembly/jit/block-cache.ts relies on it to skip
// the TLB when it re-enters a compiled block).
export let tlbGeneration: u64 = 0; // 64 bits: it never wraps

// Entries were dropped: what was looked up before may no longer hold. The generation moves, and
// the instruction fetcher's window (fetch-window.ts, a one-entry TLB of its own) is forgotten, or
// the interpreter would go on fetching from a page's old frame until it left the page.
function entriesDropped(): void {
  tlbGeneration++;
  invalidateFetchWindow();
}
// The active bank as a bit (bit BANKS for the empty one), for sets of banks.
export let tlbBankBit: u32 = 1 << BANKS;

export function allocateTlb(): void {
  const bytes = (BANKS + 1) * BANK_BYTES;
  const first = memory.grow(<i32>((bytes + 0xffff) >>> 16));
  if (first < 0) unreachable();
  banks = <u32>first << 16; // freshly grown memory is zero
  tlbBank = emptyBank();
}

@inline function bankAt(bank: u32): u32 { return banks + bank * BANK_BYTES; }
@inline function emptyBank(): u32 { return bankAt(BANKS); }
@inline function slot(vpn: u32): u32 { return (vpn & (ENTRIES - 1)) << 2; }
@inline function usedCountAt(bank: u32): u32 { return usedCount + (bank << 2); }
// The address of the `i`th slot on the used list of the bank at `base`.
@inline function usedSlot(base: u32, i: u32): u32 { return base + load<u32>(base + USED + (i << 2)); }

// Translations from now on go through `bank` (a shadow root's index), or none when -1.
export function tlbSelect(bank: i32): void {
  tlbBank = bank < 0 ? emptyBank() : bankAt(<u32>bank);
  tlbBankBit = bank < 0 ? 1 << BANKS : 1 << <u32>bank;
}

// The guest-physical address for `lin`, or -1 when the TLB cannot answer (miss or permission).
@inline export function tlbLookup(lin: u32, write: bool, user: bool): i64 {
  const vpn = lin >>> 12;
  const at = tlbBank + slot(vpn);
  if (load<u32>(at + TAGS) != vpn + 1) return -1;
  const e = load<u32>(at + TLB_ENTRIES_OFFSET);
  const need: u32 = write ? (user ? S_USER_WRITE : S_SUPER_WRITE) : (user ? S_USER_READ : 0);
  if ((e & need) != need) return -1;
  return <i64>((e & 0xfffff000) | (lin & 0xfff));
}

// Cache shadow entry `entry` of the active shadow for `lin`.
export function tlbInsert(lin: u32, entry: u32): void {
  const bank = tlbBank;
  if (bank == emptyBank()) return;
  const frame = entry & 0xfffff000;
  const plain = frame < ramSize && (frame < <u32>HOLE_START || frame >= <u32>HOLE_END);
  const vpn = lin >>> 12;
  const at = bank + slot(vpn);
  if (load<u32>(at + TAGS) == 0) noteUsed(ctz(tlbBankBit), at - bank);
  store<u32>(at + TAGS, vpn + 1);
  store<u32>(at + TLB_ENTRIES_OFFSET, plain ? entry | T_PLAIN_RAM : entry);
}

// Slot offset `at` of bank `bank` was empty and is filled now.
function noteUsed(bank: u32, at: u32): void {
  const base = bankAt(bank);
  let count = load<u32>(usedCountAt(bank));
  if (count == ENTRIES) { // full of duplicates: rebuild from the tags
    count = 0;
    for (let s: u32 = 0; s < <u32>TLB_ENTRIES_OFFSET; s += 4) {
      if (load<u32>(base + TAGS + s) != 0) store<u32>(base + USED + (count++ << 2), s);
    }
  }
  store<u32>(base + USED + (count << 2), at);
  store<u32>(usedCountAt(bank), count + 1);
}

// Drop the entry for `lin` in bank `bank` (a shadow root's index).
export function tlbFlushPage(bank: u32, lin: u32): void {
  const vpn = lin >>> 12;
  const at = bankAt(bank) + slot(vpn);
  if (load<u32>(at + TAGS) == vpn + 1) store<u32>(at + TAGS, 0);
  entriesDropped();
}

// Drop the entries of bank `bank` for the 4 MiB that page-directory entry `pdeIndex` maps.
export function tlbFlushLargePage(bank: u32, pdeIndex: u32): void {
  const base = bankAt(bank);
  const count = load<u32>(usedCountAt(bank));
  for (let i: u32 = 0; i < count; i++) {
    const at = usedSlot(base, i);
    const tag = load<u32>(at + TAGS);
    if (tag != 0 && (tag - 1) >>> 10 == pdeIndex) store<u32>(at + TAGS, 0);
  }
  entriesDropped();
}

// Drop every entry of bank `bank`.
export function tlbFlushBank(bank: u32): void {
  const base = bankAt(bank);
  const count = load<u32>(usedCountAt(bank));
  for (let i: u32 = 0; i < count; i++) store<u32>(usedSlot(base, i) + TAGS, 0);
  store<u32>(usedCountAt(bank), 0);
  entriesDropped();
}

// Take write permission away from every entry, in every bank, that maps `frame` (it became a
// page table).
export function tlbWriteProtect(frame: u32): void {
  for (let bank: u32 = 0; bank < BANKS; bank++) {
    const base = bankAt(bank);
    const count = load<u32>(usedCountAt(bank));
    for (let i: u32 = 0; i < count; i++) {
      const at = usedSlot(base, i) + TLB_ENTRIES_OFFSET;
      const e = load<u32>(at);
      if ((e & 0xfffff000) == frame) store<u32>(at, e & ~(S_SUPER_WRITE | S_USER_WRITE));
    }
  }
}
