// The block-compiling tier's side in the core. After every control transfer the interpreter
// looks the new EIP up in a block cache keyed by physical address; a block that has been
// reached often enough is handed to the host's compiler (src/jit/), which translates it into a
// small WASM function, adds it to this module's function table and records it in the cache
// entry. Compiled blocks are then entered with call_indirect and chain to each other without
// returning to the interpreter loop. They never fault: anything they cannot do safely (an
// access outside plain RAM, say) ends the block early with EIP at that instruction, and the
// interpreter carries on from there.
//
// Compiled code is used only where its assumptions hold: flat 32-bit CS/DS/ES/SS, TF clear, and
// the paging mode and CPL it was compiled for (with paging, its memory accesses go through the
// TLB and leave the block on a miss). A block's bytes are kept in its cache entry and compared
// before every entry, so code that was rewritten is never run stale (no write tracking needed).
import { VMCS_BASE, C_JIT, C_WRITE_TRAP_BASE, C_WRITE_TRAP_SIZE, SR_CS, SR_DS, SR_ES, SR_SS } from "../vmcs-layout";
import { eip, segBase, segLimit, csDefault32, ssBig, flatMask, TF, cpl } from "./state";
import { tlbLookup, tlbTags, tlbEntries } from "../mmu/tlb";
import { flagsWord } from "./flags";
import { pagingEnabled, ramBase, ramSize } from "./memory";
import { budget } from "./run";

@external("jit", "compile")
declare function hostCompile(linearEip: u32, physical: u32, entry: u32): u32;

export const CACHE_ENTRIES: u32 = 4096;
export const ENTRY_SIZE: u32 = 80;
// Entry layout (filled by the host compiler except `physical` and `hits`).
export const E_PHYSICAL: u32 = 0; // physical address of the block's first byte
export const E_FUNCTION: u32 = 4; // table index of the compiled function, 0 = none
export const E_HITS: u32 = 8; // times the block was reached uncompiled; FAILED if not compilable
export const E_INSTRUCTIONS: u32 = 12; // u8: instructions in the block
export const E_MODE: u32 = 13; // u8: the mode it was compiled for: bit 0 paging, bits 1-2 CPL
export const E_LENGTH: u32 = 14; // u16: bytes in the block (at most 64, within one page)
export const E_BYTES: u32 = 16; // copy of the block's bytes, to detect rewritten code
export const MAX_BLOCK_BYTES: u32 = 64;
const FAILED: u32 = 0xffffffff;
const HOT_THRESHOLD: u32 = 32;

export let cacheBase: u32 = 0;
let enabled: bool = false; // the VMM's control and the guest mode both allow compiled code
export let blocksCompiled: u32 = 0;

// Where compiled code finds the TLB (paged blocks look translations up themselves).
export function tlbTagsAddress(): u32 { return tlbTags; }
export function tlbEntriesAddress(): u32 { return tlbEntries; }

export function allocateBlockCache(): void {
  const bytes = CACHE_ENTRIES * ENTRY_SIZE;
  const first = memory.grow(<i32>((bytes + 0xffff) >>> 16));
  if (first < 0) unreachable();
  cacheBase = <u32>first << 16; // freshly grown memory is zero
}

// Recompute whether compiled code may run (at VM entry and after segment or paging changes).
export function updateJitMode(): void {
  const dataFlat: u32 = (1 << SR_DS) | (1 << SR_ES) | (1 << SR_SS);
  // compiled code leaves plain RAM alone only below 0xA0000 and from 1 MiB: a write trap must sit
  // in the hole between, where compiled blocks never write
  const trapBase = load<u32>(VMCS_BASE + C_WRITE_TRAP_BASE);
  const trapSize = load<u32>(VMCS_BASE + C_WRITE_TRAP_SIZE);
  const trapInHole = trapSize == 0 || (trapBase >= 0xa0000 && trapBase + trapSize <= 0x100000);
  enabled = load<u32>(VMCS_BASE + C_JIT) != 0 && cacheBase != 0 && trapInHole &&
    (flatMask & dataFlat) == dataFlat && ssBig && csDefault32 &&
    segBase(SR_CS) == 0 && segLimit(SR_CS) == 0xffffffff;
}

// Forget every compiled block (the host's table is reset with it).
export function flushBlockCache(): void {
  if (cacheBase) memory.fill(cacheBase, 0, CACHE_ENTRIES * ENTRY_SIZE);
}

@inline function entryFor(p: u32): u32 {
  return cacheBase + ((p ^ (p >> 12)) & (CACHE_ENTRIES - 1)) * ENTRY_SIZE;
}

function unchanged(entry: u32, p: u32): bool {
  const length = <u32>load<u16>(entry + E_LENGTH);
  if (p + length > ramSize) return false;
  const code = ramBase + p;
  for (let i: u32 = 0; i < length; i += 4) {
    if (load<u32>(code + i) != load<u32>(entry + E_BYTES + i)) {
      // compare only the block's own bytes in the last word
      const left = length - i;
      if (left >= 4) return false;
      const mask: u32 = (1 << (left << 3)) - 1;
      if ((load<u32>(code + i) ^ load<u32>(entry + E_BYTES + i)) & mask) return false;
    }
  }
  return true;
}

// Called by the interpreter after a control transfer: run compiled blocks from EIP for as long
// as there are any, or count the block towards compilation.
export function runCompiledBlocks(): void {
  while (enabled && !(flagsWord & TF)) {
    // CS base 0: EIP is the linear address; with paging the TLB must already know its page
    let p = eip;
    if (pagingEnabled) {
      const hit = tlbLookup(eip, false, cpl == 3);
      if (hit < 0) return;
      p = <u32>hit;
    }
    if (p >= ramSize) return;
    const mode: u32 = (pagingEnabled ? 1 : 0) | (cpl << 1);
    const entry = entryFor(p);
    if (load<u32>(entry + E_PHYSICAL) != p || load<u32>(entry + E_HITS) == 0 || <u32>load<u8>(entry + E_MODE) != mode) {
      store<u32>(entry + E_PHYSICAL, p);
      store<u32>(entry + E_FUNCTION, 0);
      store<u32>(entry + E_HITS, 1);
      store<u8>(entry + E_MODE, <u8>mode);
      return;
    }
    let fn = load<u32>(entry + E_FUNCTION);
    if (fn == 0) {
      const hits = load<u32>(entry + E_HITS);
      if (hits == FAILED) return;
      if (hits + 1 < HOT_THRESHOLD) { store<u32>(entry + E_HITS, hits + 1); return; }
      fn = hostCompile(eip, p, entry);
      if (fn == 0) { store<u32>(entry + E_HITS, FAILED); return; }
      store<u32>(entry + E_FUNCTION, fn);
      blocksCompiled++;
    } else if (!unchanged(entry, p)) {
      store<u32>(entry + E_HITS, 0); // rewritten: start over
      return;
    }
    const count = <u32>load<u8>(entry + E_INSTRUCTIONS);
    if (budget <= count) return; // not enough budget left: let the interpreter finish the slice
    const before = budget;
    budget -= count; // the block refunds what it did not execute when it ends early
    call_indirect<void>(fn);
    // A block that left before its first instruction made no progress (a TLB miss, an access
    // outside plain RAM): the interpreter must execute that instruction, or we would loop here.
    if (budget == before) return;
  }
}
