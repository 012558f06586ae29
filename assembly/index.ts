// The guest CPU's interface to the VMM: what the WASM module exports. Guest state, controls and
// exit information travel through the VMCS (assembly/vmcs-layout.ts) in the exported memory.
import { VMCS_BASE, VMCS_SIZE, C_PREEMPTION_TIMER, C_JIT, G_INSTRET_LO } from "./vmcs-layout";
import { emulating } from "./cpu/state";
import { allocateShadows } from "./mmu/shadow";
import { allocateTlb, tlbLookup } from "./mmu/tlb";
import { adoptMmuStats } from "./mmu/mmu";
import { allocateBlockCache, flushBlockCache, cacheBase, blocksCompiled, blockStalls, CACHE_ENTRIES, ENTRY_SIZE } from "./jit/block-cache";
import { condition, getCF, getEflags } from "./cpu/flags";
import { allocateRam, ramBase as ramOffset, ramSize as ramBytes } from "./memory/physical";
import { translate, followPagingControls, pagingEnabled } from "./memory/linear";
import { vmRun, deliverExitInBlock } from "./vm/run";
import { loadCr3InCore } from "./cpu/system";
import { eip, instrStart, pending, retired, clearException, PEND_EXIT } from "./cpu/state";
import { vmexit } from "./cpu/vmexit";
import { portIo } from "./cpu/io";

// Allocate `bytes` of guest RAM (rounded up to 64 KiB) and clear the VMCS and I/O bitmaps.
export function init(bytes: u32): void {
  memory.fill(VMCS_BASE, 0, VMCS_SIZE + 0x2000);
  allocateBlockCache();
  allocateRam(bytes);
  allocateShadows();
  allocateTlb();
  store<u32>(VMCS_BASE + C_JIT, 1); // the compiling tier is on unless the VMM turns it off
  retired = 0;
}

export function ramBase(): u32 { return ramOffset; }
export function ramSize(): u32 { return ramBytes; }

// VM entry: run the guest, calling the VMM's exit handler (vmm.exit) at each VM exit, until the
// handler returns 0; returns the basic reason of that last exit.
export function run(): u32 { return vmRun(true); }

// Guest-physical address of a linear address (as a supervisor access), or -1 if it faults.
export function translateLinear(linear: u32, write: u32): i32 {
  followPagingControls();
  const p = translate(linear, write != 0, false);
  if (pending) { clearException(); return -1; }
  return <i32>p;
}

// Execute the one instruction at guest EIP as the VMM's emulator, without the interrupt-flag-mode
// trap that made it exit (KVM completes such exits with its instruction emulator the same way).
// Returns the preemption-timer reason when it completed (its one-instruction budget ran out), or
// the exit reason it caused instead (an exception exit, say).
export function emulate(): u32 {
  const savedBudget = load<u32>(VMCS_BASE + C_PREEMPTION_TIMER);
  store<u32>(VMCS_BASE + C_PREEMPTION_TIMER, 1);
  emulating = true;
  const reason = vmRun(false);
  emulating = false;
  store<u32>(VMCS_BASE + C_PREEMPTION_TIMER, savedBudget);
  return reason;
}

// After the VMM wrote a saved VMCS (and RAM) into a freshly initialised core: take over the
// counters the core keeps internally (retired instructions, MMU statistics) from it.
export function adoptSavedCounters(): void {
  retired = load<u64>(VMCS_BASE + G_INSTRET_LO);
  adoptMmuStats();
}

// Guest-physical accesses that fell outside RAM (reads returned all ones, writes were dropped).
export { unassignedAccesses } from "./memory/physical";

export function instructionsRetired(): f64 { return <f64>retired; }


// ---- For the compiling tier (src/jit/): compiled blocks import these globals and functions ----
export { eip } from "./cpu/state";
export { flagsWord, lazyMask, lfOp, lfA, lfB, lfRes, lfSign } from "./cpu/flags";
export { budget } from "./cpu/retirement";
export function blockCacheBase(): u32 { return cacheBase; }
export { rangeExit } from "./jit/block-cache"; // compiled blocks set it (src/jit/translate.ts physical())
export { tlbBank } from "./mmu/tlb"; // paged compiled blocks look translations up in the active bank
export function compiledBlocks(): u32 { return blocksCompiled; }
export function stalledBlockEntries(): u32 { return blockStalls; }
export function blockCacheBytes(): u32 { return CACHE_ENTRIES * ENTRY_SIZE; }
export function flushCompiledBlocks(): void { flushBlockCache(); }
export function jitCondition(cc: u32): u32 { return condition(cc) ? 1 : 0; }
export function jitCarry(): u32 { return getCF(); }
export function jitEflags(): u32 { return getEflags(); }
// IN or OUT in a compiled block (src/jit/translate.ts portIo), with all the interpreter's checks:
// `info` bit 0 input, bits 1-3 size, bit 4 port from an imm8, bits 8+ instruction length. An exit
// is delivered to the VMM right there, the block being `entry` with `remaining` instructions after
// this one. Nonzero when the block must end: an exit the handler did not simply resume from, or a
// fault, which the run loop then sees as the instruction just stepped.
export function jitPortIo(port: u32, info: u32, remaining: u32, entry: u32): u32 {
  instrStart = eip;
  eip += info >> 8;
  portIo((info & 1) != 0, port, (info >> 1) & 7, (info & 0x10) != 0);
  return pending == PEND_EXIT ? deliverExitInBlock(remaining, entry) : pending;
}
// CPUID or VMCALL (`length` bytes) in a compiled block: these always exit, with qualification 0.
export function jitExit(reason: u32, length: u32, remaining: u32, entry: u32): u32 {
  instrStart = eip;
  eip += length;
  vmexit(reason, 0);
  return deliverExitInBlock(remaining, entry);
}
// A MOV to CR3 in a compiled block whose code is the page at linear `page`, frame `frame`: 0 when
// it must exit instead, 1 when it switched and the page may map elsewhere now, 2 when it switched
// and the page still maps to the frame (src/jit/translate.ts movToCr3).
export function jitLoadCr3(value: u32, page: u32, frame: u32): u32 {
  if (!loadCr3InCore(value)) return 0;
  return !pagingEnabled || tlbLookup(page, false, false) == <i64>frame ? 2 : 1;
}
