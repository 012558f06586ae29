// The software TLB in front of the shadow page tables: a direct-mapped table of 1024 recent
// translations, so that the common paged access is a tag compare and a permission test. It
// behaves like a hardware TLB: entries stay until INVLPG or a CR3 load (which keeps global
// entries when CR4.PGE is set), even if the guest changes the page tables meanwhile.
import { S_SUPER_WRITE, S_USER_READ, S_USER_WRITE, S_GLOBAL } from "./walker";

const ENTRIES: u32 = 1024;
// Exported so that compiled blocks (src/jit/) can look translations up inline.
export const tlbTags = memory.data(ENTRIES * 4); // linear page number + 1; 0 = empty
export const tlbEntries = memory.data(ENTRIES * 4); // shadow entry: frame | permission bits
const tags = tlbTags;
const entries = tlbEntries;
// The slots filled since the last flush, so that a CR3 load (which flushes) costs as many steps
// as the address space used pages, not 1024. May hold a slot twice; it is rebuilt when full.
const used = memory.data(ENTRIES * 4);
let usedCount: u32 = 0;

function noteUsed(at: u32): void {
  if (usedCount == ENTRIES) { // full of duplicates: rebuild from the tags
    usedCount = 0;
    for (let s: u32 = 0; s < ENTRIES * 4; s += 4) {
      if (load<u32>(tags + s) != 0) store<u32>(used + (usedCount++ << 2), s);
    }
  }
  store<u32>(used + (usedCount++ << 2), at);
}

@inline function slot(vpn: u32): u32 { return (vpn & (ENTRIES - 1)) << 2; }

// The guest-physical address for `lin`, or -1 when the TLB cannot answer (miss or permission).
@inline export function tlbLookup(lin: u32, write: bool, user: bool): i64 {
  const vpn = lin >>> 12;
  const at = slot(vpn);
  if (load<u32>(tags + at) != vpn + 1) return -1;
  const e = load<u32>(entries + at);
  const need: u32 = write ? (user ? S_USER_WRITE : S_SUPER_WRITE) : (user ? S_USER_READ : 0);
  if ((e & need) != need) return -1;
  return <i64>((e & 0xfffff000) | (lin & 0xfff));
}

export function tlbInsert(lin: u32, entry: u32): void {
  const vpn = lin >>> 12;
  const at = slot(vpn);
  if (load<u32>(tags + at) == 0) noteUsed(at);
  store<u32>(tags + at, vpn + 1);
  store<u32>(entries + at, entry);
}

export function tlbFlushPage(lin: u32): void {
  const vpn = lin >>> 12;
  if (load<u32>(tags + slot(vpn)) == vpn + 1) store<u32>(tags + slot(vpn), 0);
}

// Drop every entry, or every non-global one.
export function tlbFlush(keepGlobal: bool): void {
  let kept: u32 = 0;
  for (let i: u32 = 0; i < usedCount; i++) {
    const at = load<u32>(used + (i << 2));
    if (load<u32>(tags + at) == 0) continue;
    if (keepGlobal && (load<u32>(entries + at) & S_GLOBAL)) store<u32>(used + (kept++ << 2), at);
    else store<u32>(tags + at, 0);
  }
  usedCount = kept;
}

// Take write permission away from every entry that maps `frame` (it became a page table).
export function tlbWriteProtect(frame: u32): void {
  for (let i: u32 = 0; i < usedCount; i++) {
    const at = load<u32>(used + (i << 2));
    const e = load<u32>(entries + at);
    if ((e & 0xfffff000) == frame) store<u32>(entries + at, e & ~(S_SUPER_WRITE | S_USER_WRITE));
  }
}
