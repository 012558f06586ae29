// The block-compiling tier's side in the core. At VM entry, after every control transfer and after
// an instruction where compiled code stopped short (resumeAfterNext) the run loop looks the EIP up in a block cache (indexed by linear address, keyed by the block's
// physical address and the mode it was compiled for); a block that has been reached often enough
// is handed to the host's compiler (src/jit/), which translates it into a small WASM function, adds
// it to this module's function table and records it in the cache entry. Compiled blocks are then
// entered with call_indirect and chain to each other without returning to the interpreter loop.
// Compiled instructions never fault: anything they cannot do safely (an access outside plain RAM,
// say) ends the block early with EIP at that instruction, and the interpreter carries on from
// there; the forms the block leaves to the interpreter in place (helpers.ts jitInterpret) fault as
// the interpreter does, and end the block.
//
// Compiled code is used only where its assumptions hold: flat 32-bit CS/DS/ES/SS, TF clear, and
// the paging mode and CPL it was compiled for (with paging, its memory accesses go through the
// TLB and leave the block on a miss). Every write into a compiled block's bytes forgets the block
// (code-pages.ts), so code that was rewritten is never run stale.
import {
  VMCS_BASE, C_JIT, C_WRITE_TRAP_BASE, C_WRITE_TRAP_SIZE, SR_CS, SR_DS, SR_ES, SR_SS, STAT_COMPILED_INSTRUCTIONS_LO,
  STAT_BT_INVALIDATIONS_LO,
} from "../vmcs-layout";
import {
  eip, segBase, segLimit, csDefault32, ssBig, flatMask, TF, cpl, pending, modeGeneration, PEND_EXCEPTION, PEND_EXIT,
  PEND_DELIVERED,
} from "../cpu/state";
import { tlbLookup, tlbGeneration, tlbBankBit } from "../mmu/tlb";
import { flagsWord } from "../cpu/flags";
import { ramSize } from "../memory/physical";
import { trackBlock, untrackBlock, codePagesBytes, placeCodePages } from "./code-pages";
import { placeIndirectTargets } from "./indirect-targets";
import {
  HOLE_START, HOLE_END, BLOCK_CACHE_ENTRIES, BLOCK_ENTRY_SIZE, BLOCK_PHYSICAL, BLOCK_FUNCTION, BLOCK_HITS,
  BLOCK_INSTRUCTIONS, BLOCK_MODE, BLOCK_LINEAR, BLOCK_BANKS, BLOCK_CONTEXT, BLOCK_STALLS,
  BLOCK_MODE_PAGING, BLOCK_MODE_CPL_SHIFT, BLOCK_CONTEXT_MODE_BITS, BLOCK_TRANSLATED,
  REMEMBERED_PAGES_OFFSET, REMEMBERED_PAGE_SLOTS, REMEMBERED_PAGE_SIZE,
} from "../jit-abi";
import { translatedOnly } from "../cpu/ifmode";
import { pagingEnabled } from "../memory/linear";
import { budget, budgetCovers, retiredSoFar, chargeHostWork } from "../cpu/retirement";

@external("jit", "compile")
declare function hostCompile(linearEip: u32, physical: u32, entry: u32): u32;

const FAILED: u32 = 0xffffffff;
const HOT_THRESHOLD: u32 = 32;
// Host work (cpu/retirement.ts) of compiling one block: 0.5 ms or more, about as long as the
// interpreter takes for 100,000 instructions.
const COMPILE_WORK: u32 = 100_000;
// A block that keeps leaving before its first instruction (whose first access always falls outside
// plain RAM, say a store loop into the VGA frame buffer) costs an entry and an exit on top of the
// interpreter's work every time: after MAX_STALLS such entries in a row it rests, left to the
// interpreter for its next REST_ARRIVALS arrivals, then is tried again (a TLB miss, for one,
// passes).
const MAX_STALLS: u32 = 8;
const REST_ARRIVALS: u32 = 256;

export let cacheBase: u32 = 0;
let enabled: bool = false; // the VMM's control and the guest mode both allow compiled code,
let enabledGeneration: u32 = 0xffffffff; // as of this modeGeneration (cpu/state.ts)
export let blocksCompiled: u32 = 0;
export let blockStalls: u32 = 0; // entries that left before the block's first instruction
// Regions runBlocks() entered (not those compiled code went on to itself, src/jit/translate.ts emitLink).
export let loopEntries: u32 = 0;
// Set by a compiled block that left at a shared check (src/jit/access-checks.ts) whose range
// failed where the leading access alone would have passed: no stall, only an unlucky range.
export let rangeExit: u32 = 0;

// The cache (entries, then their regions' blocks, the indirect branches' targets and the pages
// compiled code remembers), then the write-tracking tables for `ramBytes` of RAM (code-pages.ts): one grow.
export let cacheBytes: u32 = 0;
export function allocateBlockCache(ramBytes: u32): void {
  const entries = REMEMBERED_PAGES_OFFSET + REMEMBERED_PAGE_SLOTS * REMEMBERED_PAGE_SIZE;
  cacheBytes = entries + codePagesBytes(ramBytes);
  const first = memory.grow(<i32>((cacheBytes + 0xffff) >>> 16));
  if (first < 0) unreachable();
  cacheBase = <u32>first << 16; // freshly grown memory is zero
  placeIndirectTargets(cacheBase);
  placeCodePages(cacheBase + entries, ramBytes, cacheBase);
}

// Whether compiled code may run now: recomputed only when the mode generation moved (a segment
// load, a paging change, a VM entry with new controls).
@inline function compiledCodeAllowed(): bool {
  if (enabledGeneration != modeGeneration) recomputeCompiledCodeAllowed();
  return enabled;
}
export function compiledCodeAllowedNow(): bool { return compiledCodeAllowed() && !(flagsWord & TF); }

function recomputeCompiledCodeAllowed(): void {
  enabledGeneration = modeGeneration;
  const dataFlat: u32 = (1 << SR_DS) | (1 << SR_ES) | (1 << SR_SS);
  // compiled code stores only to plain RAM (below 0xA0000 and from 1 MiB up to RAM's end) and
  // leaves every other address to the core, which honours the write trap: the trap must lie in
  // the hole or wholly past RAM (a dispi frame buffer in PCI BAR 0), where compiled blocks never write
  const trapBase = load<u32>(VMCS_BASE + C_WRITE_TRAP_BASE);
  const trapSize = load<u32>(VMCS_BASE + C_WRITE_TRAP_SIZE);
  const trapLast = trapBase + trapSize - 1;
  const trapInHole = trapSize == 0 || (trapBase >= <u32>HOLE_START && trapBase + trapSize <= <u32>HOLE_END) ||
    (trapBase >= ramSize && trapLast >= trapBase);
  // (under bt the guest kernel runs only as translated code, assembly/bt/)
  enabled = load<u32>(VMCS_BASE + C_JIT) != 0 && cacheBase != 0 && trapInHole && !translatedOnly() &&
    (flatMask & dataFlat) == dataFlat && ssBig && csDefault32 &&
    segBase(SR_CS) == 0 && segLimit(SR_CS) == 0xffffffff;
}


// Entries are indexed by the block's linear address (which is also the physical one without
// paging) and keyed by its physical address.
@inline export function entryFor(linear: u32): u32 {
  return cacheBase + ((linear ^ (linear >> 12)) & (BLOCK_CACHE_ENTRIES - 1)) * BLOCK_ENTRY_SIZE;
}

// What makes a validated entry valid for EIP: the mode it was compiled for (paging bit, CPL) and,
// with paging, the TLB generation its translation was looked up at (tlb.ts: it moves whenever a
// translation may have changed) and the TLB banks (address spaces) it was looked up in. Code
// mapped alike in every address space, a kernel's, is thus validated once per space, not again
// at every switch.
@inline function currentContext(): u64 {
  return (tlbGeneration << BLOCK_CONTEXT_MODE_BITS) | <u64>((cpl << BLOCK_MODE_CPL_SHIFT) | (pagingEnabled ? BLOCK_MODE_PAGING : 0));
}

// What the compiled block running now assumes besides its code (for an exit delivered inside it,
// assembly/vm/run.ts deliverExitInBlock): compiled code allowed, the context, the TLB bank.
@inline export function blockContext(): u64 {
  return compiledCodeAllowed() ? (currentContext() << 8) | <u64>tlbBankBit : 0;
}

// Whether the block in cache entry `entry`, running now, may go on: still compiled (nothing wrote
// its bytes meanwhile).
export function blockStillValid(entry: u32): bool {
  return load<u32>(entry + BLOCK_FUNCTION) != 0;
}

// The slow path of a block entry: translate EIP (with paging the TLB must already know its
// page), check the entry is this block's, count it towards compilation or compile it, and record
// the context so that the next entries skip all of this. Returns the compiled function, or 0 to
// let the interpreter go on.
function validate(entry: u32, context: u64): u32 {
  let p = eip;
  if (pagingEnabled) {
    const hit = tlbLookup(eip, false, cpl == 3);
    if (hit < 0) return 0;
    p = <u32>hit;
  }
  if (p >= ramSize) return 0;
  const mode = <u32>(context & ((1 << BLOCK_CONTEXT_MODE_BITS) - 1));
  // A compiled function holds the linear addresses it was compiled at (BLOCK_LINEAR, set then): the
  // same frame reached through another mapping that shares the entry needs its own.
  const otherMapping = load<u32>(entry + BLOCK_FUNCTION) != 0 && load<u32>(entry + BLOCK_LINEAR) != eip;
  if (load<u32>(entry + BLOCK_PHYSICAL) != p || load<u32>(entry + BLOCK_HITS) == 0 || <u32>load<u8>(entry + BLOCK_MODE) != mode || otherMapping) {
    evict(entry);
    store<u32>(entry + BLOCK_PHYSICAL, p);
    store<u32>(entry + BLOCK_FUNCTION, 0);
    store<u32>(entry + BLOCK_HITS, 1);
    store<u8>(entry + BLOCK_MODE, <u8>mode);
    store<u32>(entry + BLOCK_BANKS, 0); // the banks that translated EIP to the old block: none now
    store<u32>(entry + BLOCK_STALLS, 0);
    return 0;
  }
  let fn = load<u32>(entry + BLOCK_FUNCTION);
  if (fn == 0) {
    const hits = load<u32>(entry + BLOCK_HITS);
    if (hits == FAILED) return 0;
    if (hits + 1 < HOT_THRESHOLD) { store<u32>(entry + BLOCK_HITS, hits + 1); return 0; }
    fn = hostCompile(eip, p, entry);
    chargeHostWork(COMPILE_WORK);
    if (fn == 0) { store<u32>(entry + BLOCK_HITS, FAILED); return 0; }
    store<u32>(entry + BLOCK_FUNCTION, fn);
    trackBlock(entry);
    blocksCompiled++;
  }
  if (load<u32>(entry + BLOCK_LINEAR) == eip && load<u64>(entry + BLOCK_CONTEXT) == context) {
    store<u32>(entry + BLOCK_BANKS, load<u32>(entry + BLOCK_BANKS) | tlbBankBit);
  } else {
    store<u32>(entry + BLOCK_LINEAR, eip);
    store<u64>(entry + BLOCK_CONTEXT, context);
    store<u32>(entry + BLOCK_BANKS, tlbBankBit);
  }
  return fn;
}

// The entry is claimed for another block: its compiled region or binary translation (assembly/bt/)
// is dropped and no longer tracked.
export function evict(entry: u32): void {
  if (load<u32>(entry + BLOCK_FUNCTION) != 0 || load<u8>(entry + BLOCK_TRANSLATED) != 0) untrackBlock(entry);
  store<u32>(entry + BLOCK_FUNCTION, 0);
  store<u8>(entry + BLOCK_TRANSLATED, 0);
}

// Whether the run loop has arrived at the block at `linear` (guest-physical `physical`, compiled
// for BLOCK_MODE `mode`) since its cache entry was last claimed: the host's compiler puts a block
// in a region besides its first only when the guest has run it (src/jit/region.ts).
export function blockReached(linear: u32, physical: u32, mode: u32): bool {
  const entry = entryFor(linear);
  return load<u32>(entry + BLOCK_PHYSICAL) == physical && <u32>load<u8>(entry + BLOCK_MODE) == mode &&
    (load<u32>(entry + BLOCK_HITS) != 0 || load<u32>(entry + BLOCK_FUNCTION) != 0);
}

// The block's code was rewritten (code-pages.ts): forget its compiled function and count towards
// compiling anew, or forget its binary translation (counted: the block is translated again when it
// next runs).
export function forgetBlock(entry: u32): void {
  untrackBlock(entry);
  if (load<u8>(entry + BLOCK_TRANSLATED) != 0) {
    store<u8>(entry + BLOCK_TRANSLATED, 0);
    store<u64>(VMCS_BASE + STAT_BT_INVALIDATIONS_LO, load<u64>(VMCS_BASE + STAT_BT_INVALIDATIONS_LO) + 1);
  }
  store<u32>(entry + BLOCK_FUNCTION, 0);
  store<u32>(entry + BLOCK_HITS, 0);
  store<u32>(entry + BLOCK_STALLS, 0);
}

// Instructions the blocks retired, in the VMCS statistics area (--stats shows their share), where
// a saved machine keeps them as it keeps the retired count.
@inline function countCompiledInstructions(n: u64): void {
  store<u64>(VMCS_BASE + STAT_COMPILED_INSTRUCTIONS_LO, load<u64>(VMCS_BASE + STAT_COMPILED_INSTRUCTIONS_LO) + n);
}

function stalled(entry: u32, stalls: u32): void {
  blockStalls++;
  store<u32>(entry + BLOCK_STALLS, stalls + 1 >= MAX_STALLS ? MAX_STALLS + REST_ARRIVALS : stalls + 1);
}

// Called by the run loop at VM entry and after a control transfer: run compiled blocks from EIP
// for as long as there are any, or count the block towards compilation. The instructions they
// retired are counted once per call, not per block: a block entry must stay cheap.
export function runCompiledBlocks(): void {
  if (!runBlocks()) return;
  // A fault or an exit left pending for the run loop: it will count that instruction as not
  // retired (run.ts settlePending), so it is not counted here either.
  const unsettled: u64 = (pending & (PEND_EXCEPTION | PEND_EXIT)) != 0 && !(pending & PEND_DELIVERED) ? 1 : 0;
  countCompiledInstructions(retiredSoFar() - retiredBeforeBlocks - unsettled);
}

// The retired count when runBlocks() entered its first block: taken only then, so that a call
// that finds no block (an interpreted loop's every branch) costs no more than the lookup.
let retiredBeforeBlocks: u64 = 0;

// Whether the run loop should look for a block again after the next instruction it interprets,
// not only at the next control transfer: compiled code stopped in straight-line code here (before
// a form no block compiles, a block resting, a budget too short), so a block may well start right
// after it. Set when runCompiledBlocks() returns; a lookup that finds only a cold entry clears it
// (the entry counts the arrival, so the block starting there gets compiled).
export let resumeAfterNext: bool = false;

// Where runBlocks() stops at `entry` without running it: whether compiled code wants to be back.
function stopAt(entry: u32, entered: bool): bool {
  resumeAfterNext = entered || load<u32>(entry + BLOCK_HITS) == FAILED || load<u32>(entry + BLOCK_STALLS) != 0;
  return entered;
}

// Blocks one runBlocks() call enters at most. WebAssembly has no on-stack replacement: this loop
// runs the code V8 had for it when it was called until it returns, and a fresh VM's first call is
// in V8's baseline tier. Returning now and then (the run loop calls back after one instruction)
// lets the optimised code in once it is ready, instead of at the end of the slice.
const BLOCKS_PER_CALL: u32 = 4096;

// Runs blocks while there are any; whether it entered one.
function runBlocks(): bool {
  let entered = false;
  resumeAfterNext = false;
  let blocks: u32 = 0;
  while (compiledCodeAllowed() && !(flagsWord & TF)) {
    if (++blocks > BLOCKS_PER_CALL) {
      resumeAfterNext = true;
      return entered;
    }
    // CS base 0: EIP is the linear address
    const entry = entryFor(eip);
    let fn = load<u32>(entry + BLOCK_FUNCTION);
    if (pagingEnabled) {
      const context = currentContext();
      if (load<u32>(entry + BLOCK_LINEAR) != eip || load<u64>(entry + BLOCK_CONTEXT) != context || !(load<u32>(entry + BLOCK_BANKS) & tlbBankBit) || fn == 0) {
        fn = validate(entry, context);
        if (fn == 0) return stopAt(entry, entered);
      }
    } else if (load<u32>(entry + BLOCK_PHYSICAL) != eip || <u32>load<u8>(entry + BLOCK_MODE) != cpl << BLOCK_MODE_CPL_SHIFT || fn == 0) {
      fn = validate(entry, currentContext());
      if (fn == 0) return stopAt(entry, entered);
    }
    const count = <u32>load<u8>(entry + BLOCK_INSTRUCTIONS);
    // not enough budget left: let the interpreter finish the slice
    if (!budgetCovers(count)) return stopAt(entry, entered);
    const stalls = load<u32>(entry + BLOCK_STALLS);
    if (stalls > MAX_STALLS) { // resting
      store<u32>(entry + BLOCK_STALLS, stalls - 1);
      return stopAt(entry, entered);
    }
    if (!entered) {
      retiredBeforeBlocks = retiredSoFar();
      entered = true;
    }
    const before = budget;
    budget -= count; // the block refunds what it did not execute when it ends early
    loopEntries++;
    call_indirect<void>(fn);
    const onlyRange = rangeExit;
    rangeExit = 0;
    // A block that left before its first instruction made no progress (a TLB miss, an access
    // outside plain RAM): the interpreter must execute that instruction, or we would loop here.
    // An instruction the core performed for it (IN, OUT, CPUID, VMCALL, a form left to the
    // interpreter) may have faulted, or exited without the block going on: the run loop's turn.
    if (budget == before) {
      if (pending) return entered;
      if (!onlyRange) stalled(entry, stalls);
      return stopAt(entry, entered);
    }
    if (stalls) store<u32>(entry + BLOCK_STALLS, 0);
    if (pending) return entered;
  }
  return entered;
}
