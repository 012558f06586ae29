// The guest CPU's interface to the VMM: what the WASM module exports. Guest state, controls and
// exit information travel through the VMCS (assembly/vmcs-layout.ts) in the exported memory.
import { VMCS_BASE, VMCS_SIZE, C_PREEMPTION_TIMER, C_JIT, G_INSTRET_LO } from "./vmcs-layout";
import { emulating } from "./cpu/state";
import { allocateShadows } from "./mmu/shadow";
import { allocateTlb } from "./mmu/tlb";
import { adoptMmuStats } from "./mmu/mmu";
import { allocateBlockCache, cacheBase, cacheBytes, blocksCompiled, blockStalls, loopEntries, entryFor } from "./jit/block-cache";
import { codeWritten } from "./jit/code-pages";
import { allocateDeviceMemory, allocateRam, deviceMemoryBase as deviceMemoryOffset, ramBase as ramOffset, ramSize as ramBytes, resetEmulatedWrite, protectTrappedPages } from "./memory/physical";
import { translate, followPagingControls } from "./memory/linear";
import { vmRun } from "./vm/run";
import { clearExitsInCore } from "./vm/exits-in-core";
import { clearLevelSwitch } from "./vm/level-switch";
export { entryControlsValid, hostStateValid, guestStateCheck } from "./vm/vmentry-checks";
import { pending, retired, clearException } from "./cpu/state";

// Allocate `bytes` of guest RAM (rounded up to 64 KiB) and clear the VMCS and I/O bitmaps.
export function init(bytes: u32): void {
  memory.fill(VMCS_BASE, 0, VMCS_SIZE + 0x2000);
  allocateBlockCache(bytes);
  allocateRam(bytes);
  allocateDeviceMemory();
  allocateShadows();
  allocateTlb();
  store<u32>(VMCS_BASE + C_JIT, 1); // the compiling tier is on unless the VMM turns it off
  clearExitsInCore();
  clearLevelSwitch();
  protectTrappedPages();
  retired = 0;
}

export function ramBase(): u32 { return ramOffset; }
// As f64: JavaScript sees an exported u32 as a signed i32, and 2 GiB of RAM (--mem 2048) is 2^31 bytes.
export function ramSize(): f64 { return <f64>ramBytes; }
// Where device memory (DEVICE_MEMORY_BYTES, the std-VGA's video RAM) sits in WASM memory.
export function deviceMemoryBase(): u32 { return deviceMemoryOffset; }

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
  resetEmulatedWrite();
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

// The write trap's page protection and what an emulated instruction wrote there (memory/physical.ts).
export { releaseTrappedPage, protectTrappedPages, emulatedWriteStart, emulatedWriteEnd } from "./memory/physical";

// Guest-physical accesses that fell outside RAM (reads returned all ones, writes were dropped).
export { unassignedAccesses } from "./memory/physical";

export function instructionsRetired(): f64 { return <f64>retired; }

// Where the VMM programs the exits the core completes itself (exits-in-core-layout.ts).
export { exitsInCoreArea } from "./vm/exits-in-core";
export { vmcsFieldTable } from "./cpu/vmcs-shadowing";
// Nested VMX's level switch, which the VMM calls at every switch it handles (src/vmm/nested/nested-run.ts);
// SVM's (src/vmm/svm/svm-run.ts) uses the controls' save and restore and the CR mask merge.
export {
  levelSwitchArea, saveL1Controls, restoreL1Controls, loadL2State, mergeControls, mergeCrMask, writeExitInformation, saveL2State, loadHostState, resumeL1,
} from "./vm/level-switch";
// SVM's, which the VMM calls at every VMRUN and #VMEXIT it makes (src/vmm/svm/svm-run.ts), and VMLOAD and VMSAVE's segments.
export {
  svmVmrunCheck, svmSaveHostState, svmLoadL2State, svmMergeControls, svmWriteExit, svmSaveL2State, svmLoadHostState, svmLoadSegment, svmSaveSegment,
} from "./vm/svm-switch";

// ---- For the compiling tier (src/jit/): compiled blocks import these globals and functions ----
export { eip } from "./cpu/state";
export { flagsWord, lazyMask, lfOp, lfA, lfB, lfRes, lfSign } from "./cpu/flags";
export { budget, hostWorkOwed } from "./cpu/retirement";
export function blockCacheBase(): u32 { return cacheBase; }
// The cache entry a block at `linear` takes (the host names a region's blocks by theirs).
export function blockCacheEntry(linear: u32): u32 { return entryFor(linear); }
export { rangeExit } from "./jit/block-cache"; // compiled blocks set it (src/jit/translate.ts physical())
export { tlbBank } from "./mmu/tlb"; // paged compiled blocks look translations up in the active bank
export { tlbGeneration, tlbBankBit } from "./mmu/tlb"; // and link to a region validated in this context (src/jit/translate.ts emitLink)
export function compiledBlocks(): u32 { return blocksCompiled; }
export { userLevelSeen } from "./cpu/state";
export function stalledBlockEntries(): u32 { return blockStalls; }
export function blockEntriesFromLoop(): u32 { return loopEntries; }
export function blockCacheBytes(): u32 { return cacheBytes; } // with the write-tracking tables
// The VMM wrote `length` bytes of guest RAM at `physical` (DMA, emulated string I/O, loading):
// compiled blocks there are forgotten, as for the guest's own stores.
export function noteHostWrite(physical: u32, length: u32): void { codeWritten(physical, length); }
export { codePageMasks } from "./jit/code-pages"; // compiled stores test them (src/jit/translate.ts)
export { trackedFrameCounts } from "./mmu/shadow"; // page tables' frames, watched whole by those masks
export { blockReached } from "./jit/block-cache"; // the host forms regions of blocks the guest ran
export { countInterpretedForms, interpretedFormCounts } from "./jit/interpreted-forms";
export {
  jitCondition, jitCarry, jitEflags, jitPortIo, jitExit, jitLoadCr3, jitInterpret, jitShift, jitMulDiv, jitShiftDouble, jitLoadSegment,
  jitSoftwareInterrupt, jitInterruptReturn, jitFastSystemCall, jitVmAccess, jitVmxNoOperand, jitRepString,
} from "./jit/helpers";
// The contract's numbers as the core was built with them, checked by the host at instantiation
// (src/core/core-exports.ts).
export {
  HOLE_START, HOLE_END, BLOCK_CACHE_ENTRIES, BLOCK_ENTRY_SIZE, BLOCK_PHYSICAL, BLOCK_FUNCTION, BLOCK_HITS,
  BLOCK_INSTRUCTIONS, BLOCK_MODE, BLOCK_REGION_BLOCKS, BLOCK_TRANSLATED, BLOCK_MODE_CODE16, BLOCK_NEXT_ON_PAGE, BLOCK_NEXT_ON_SECOND_PAGE, BLOCK_PREV_ON_PAGE, BLOCK_PREV_ON_SECOND_PAGE, BLOCK_SECOND_PAGE, REGION_BLOCK_IN_SECOND_PAGE, MAX_BLOCK_BYTES, BLOCK_LINEAR, BLOCK_BANKS, BLOCK_CONTEXT,
  BLOCK_STALLS, BLOCK_MODE_PAGING, BLOCK_MODE_CPL_SHIFT, BLOCK_CONTEXT_MODE_BITS, MAX_REGION_BLOCKS, REGION_BLOCKS_OFFSET, REGION_BLOCKS_STRIDE,
  INDIRECT_TARGETS_OFFSET, INDIRECT_TARGET_SLOTS, INDIRECT_TARGET_SIZE, REMEMBERED_PAGES_OFFSET, REMEMBERED_PAGE_SLOTS, REMEMBERED_PAGE_SIZE,
  TLB_ENTRIES, TLB_ENTRIES_OFFSET, S_PRESENT, S_SUPER_WRITE,
  S_USER_READ, S_USER_WRITE, T_PLAIN_RAM, LAZY_ADD, LAZY_SUB, LAZY_LOGIC, IO_INFO_INPUT, IO_INFO_SIZE_SHIFT,
  IO_INFO_IMMEDIATE, IO_INFO_LENGTH_SHIFT, CR3_MUST_EXIT, CR3_SWITCHED, CR3_SWITCHED_SAME_PAGE,
  INTERPRETED_BLOCK_ENDS, INTERPRETED_FORM_OPERAND_SIZE, INTERPRETED_FORM_REPEAT, INTERPRETED_FORMS, INTERPRETED_FORM_UNSEEN,
} from "./jit-abi";
