// What build/core.wasm exports (assembly/index.ts), declared once: the VMM's half and the
// compiling tier's, and the check that a module really has it all, run wherever a core is
// instantiated, so that a core built from other sources fails at once with a clear message rather
// than when the first block compiles.

import * as jitAbi from "../../assembly/jit-abi.js";

/** What assembly/index.ts exports. */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  /** Allocates `ramBytes` of guest RAM (growing memory, which detaches old views) and resets the CPU. */
  init(ramBytes: number): void;
  /** Byte offset in WASM memory of guest-physical address 0. */
  ramBase(): number;
  ramSize(): number;
  /** Where device memory (DEVICE_MEMORY_BYTES of video RAM) sits in `memory`. */
  deviceMemoryBase(): number;
  /**
   * VM entry: runs the guest from the VMCS guest-state area. At each VM exit the core calls the
   * exit handler (setExitHandler) and resumes the guest if it returns true; otherwise run()
   * returns that exit's reason. Without a handler, run() returns at the first exit.
   */
  run(): number;
  /** Guest-physical address of a linear address, or -1 if the guest's page tables do not map it. */
  translateLinear(linear: number, write: number): number;
  /**
   * Executes the one instruction at guest EIP without the interrupt-flag-mode trap that made it
   * exit (trap mode's CLI/STI/PUSHF/POPF/IRET, a trapped write); returns EXIT_PREEMPTION_TIMER
   * when it completed, or the exit reason it caused instead (an intercepted exception, say).
   */
  emulate(): number;
  instructionsRetired(): number;
  /** After a saved VMCS and RAM were written into a fresh core: takes its retired count and MMU statistics from them. */
  adoptSavedCounters(): void;
  /** Guest-physical accesses that fell outside RAM (reads returned all ones, writes were dropped). */
  readonly unassignedAccesses: WebAssembly.Global;
  /** Address of the exits the core completes itself (assembly/exits-in-core-layout.ts), which the VMM programs. */
  exitsInCoreArea(): number;
  /** Address of the VMCS-shadowing field table (assembly/vmcs-layout.ts FIELD_*), which the VMM writes. */
  vmcsFieldTable(): number;
  // Nested VMX's level switch (assembly/vm/level-switch.ts), on L1's VMCS at a guest-physical region `v`.
  /** Address of the level-switch area (assembly/level-switch-layout.ts). */
  levelSwitchArea(): number;
  /** The checks of a VM entry to L2 (SDM 27.2, 27.3.1): the controls (VMfail 7), the host state (VMfail 8), the guest state (level-switch-layout.ts GUEST_STATE_*). */
  entryControlsValid(v: number): number;
  hostStateValid(v: number): number;
  guestStateCheck(v: number): number;
  /** L0's controls for L1 set aside at an entry to L2, and given back. */
  saveL1Controls(): void;
  restoreL1Controls(): void;
  /** L2's guest state from vmcs12 into the VMCS, and the controls merged for it. */
  loadL2State(v: number): void;
  /** `entry` (1): at a VM entry, with L1's TSC offset and event; 0: the controls again, after L0 changed its own while L2 runs. */
  mergeControls(v: number, entry: number): void;
  /** A CR0/CR4 guest/host mask for L2 (either nesting): the union of L0's and L1's, read shadow L1's for its bits, L2's real value for L0's. */
  mergeCrMask(maskField: number, shadowField: number, crField: number, l0Mask: number, l1Mask: number, l1Shadow: number): void;
  /** An exit of L2's into vmcs12: its information (from the exit fields when `informed`, else only `qualification`), then L2's state. */
  writeExitInformation(v: number, reason: number, informed: number, qualification: number): void;
  saveL2State(v: number): void;
  /** L1's host state from vmcs12 (an entry that failed: L1 goes on at HOST_RIP). */
  loadHostState(v: number): void;
  /** L1 runs again after L2: L0's controls for it, its link pointer, and its host state from vmcs12. */
  resumeL1(v: number): void;
  // SVM's level switch (assembly/vm/svm-switch.ts), on pages in RAM: a VMCB `v`, the host save area `h`.
  /** VMRUN's consistency checks: 0 when L2 may run, else the number of the first that fails (VMEXIT_INVALID). */
  svmVmrunCheck(v: number): number;
  /** L1's host state into the host save area, the RIP after VMRUN. */
  svmSaveHostState(h: number): void;
  svmLoadL2State(v: number): void;
  /** L0's controls for L1 (set aside) merged with L1's intercepts; `entry` (1): at VMRUN, with L1's TSC offset. */
  svmMergeControls(v: number, entry: number): void;
  /** #VMEXIT's code and information into the VMCB, EVENTINJ consumed; nRIP when `saveNextRip`. */
  svmWriteExit(v: number, code: number, info1: number, info2: number, intInfo: number, intError: number, nextRip: number, saveNextRip: number): void;
  svmSaveL2State(v: number): void;
  /** L1's host state from the host save area at #VMEXIT (CR read shadows included). */
  svmLoadHostState(h: number): void;
  /** VMLOAD's and VMSAVE's segments: the one at offset `at` of page `p` into segment register `sreg`, and back. */
  svmLoadSegment(p: number, at: number, sreg: number, protectedMode: number): void;
  svmSaveSegment(p: number, at: number, sreg: number): void;

  /** The page of the write-trap range holding guest-physical `physical` stops trapping writes (the dirty log). */
  releaseTrappedPage(physical: number): void;
  /** Every page of the write-trap range traps writes again. */
  protectTrappedPages(): void;
  /** The bytes of the write-trap range the last emulate() wrote: [start, end), empty when start == end. */
  emulatedWriteStart(): number;
  emulatedWriteEnd(): number;
  // ---- The compiling tier's half (src/jit/, assembly/jit-abi.ts) ----
  /** The function table compiled blocks are installed in. */
  readonly table: WebAssembly.Table;
  blockCacheBase(): number;
  /** The block cache entry a block at this linear address takes (assembly/jit/block-cache.ts entryFor). */
  blockCacheEntry(linear: number): number;
  blockCacheBytes(): number;
  compiledBlocks(): number;
  /** 1 once the guest has run at CPL 3 (a global). */
  readonly userLevelSeen: WebAssembly.Global;
  /** Block entries that left before the block's first instruction. */
  stalledBlockEntries(): number;
  /** Compiled regions the core's run loop entered (not those compiled code linked to itself, src/jit/translate.ts emitLink). */
  blockEntriesFromLoop(): number;
  /** The VMM wrote `length` bytes of guest RAM at `physical`: compiled blocks there are forgotten. */
  noteHostWrite(physical: number, length: number): void;
  /** Where the code-page masks compiled stores test lie in memory (assembly/jit/code-pages.ts). */
  codePageMasks(): number;
  /** Where the shadow MMU's u16 per guest frame lies: how many shadows derive from it (a page table's frame when non-zero). */
  trackedFrameCounts(): number;
  /** Whether the run loop has arrived at the block at (linear, physical), compiled for BLOCK_MODE `mode`. */
  blockReached(linear: number, physical: number, mode: number): number;
  /** Count, or stop counting, the forms the interpreter performs where compiled code could run. */
  countInterpretedForms(on: number): void;
  /** Address of those counts: jit-abi.ts INTERPRETED_FORMS u32s, indexed as it says (0 before counting was first asked for). */
  interpretedFormCounts(): number;
  // The globals and functions compiled blocks import (jit-abi.ts JIT_GLOBALS, JIT_FUNCTIONS).
  readonly eip: WebAssembly.Global;
  readonly budget: WebAssembly.Global;
  readonly flagsWord: WebAssembly.Global;
  readonly lazyMask: WebAssembly.Global;
  readonly lfOp: WebAssembly.Global;
  readonly lfA: WebAssembly.Global;
  readonly lfB: WebAssembly.Global;
  readonly lfRes: WebAssembly.Global;
  readonly lfSign: WebAssembly.Global;
  readonly tlbBank: WebAssembly.Global;
  /** i64: moves whenever TLB entries are dropped (assembly/mmu/tlb.ts). */
  readonly tlbGeneration: WebAssembly.Global;
  /** The active TLB bank as a bit, for an entry's set of banks (jit-abi.ts BLOCK_BANKS). */
  readonly tlbBankBit: WebAssembly.Global;
  readonly rangeExit: WebAssembly.Global;
  /** Host work the guest owes (assembly/cpu/retirement.ts): compiled code counts it as spent budget. */
  readonly hostWorkOwed: WebAssembly.Global;
  jitCondition(cc: number): number;
  jitCarry(): number;
  jitEflags(): number;
  jitLoadCr3(value: number, page: number, frame: number): number;
  jitPortIo(port: number, info: number, remaining: number, entry: number): number;
  jitExit(reason: number, length: number, remaining: number, entry: number): number;
  jitInterpret(length: number, remaining: number, entry: number): number;
  jitShift(kind: number, value: number, count: number, bytes: number): number;
  jitMulDiv(kind: number, src: number, bytes: number): number;
  jitShiftDouble(left: number, dst: number, src: number, count: number): number;
  jitLoadSegment(sreg: number, selector: number, pop: number, length: number, entry: number): number;
  jitSoftwareInterrupt(vector: number, length: number): number;
  jitInterruptReturn(length: number): number;
  jitFastSystemCall(exit: number, length: number): number;
  jitVmAccess(write: number, operands: number, length: number, remaining: number, entry: number): number;
  jitVmxNoOperand(rm: number, length: number, remaining: number, entry: number): number;
  jitRepString(opcode: number, bytes: number, length: number, remaining: number, entry: number): number;
}

/** The level switch's functions (nested VMX and SVM), which the VMM's nested code calls. */
export type LevelSwitchExports = "entryControlsValid" | "hostStateValid" | "guestStateCheck" | "saveL1Controls" | "restoreL1Controls" | "loadL2State" | "mergeControls" | "mergeCrMask" | "writeExitInformation" | "saveL2State" | "loadHostState" | "resumeL1" | SvmSwitchExports;
export type SvmSwitchExports = "svmVmrunCheck" | "svmSaveHostState" | "svmLoadL2State" | "svmMergeControls" | "svmWriteExit" | "svmSaveL2State" | "svmLoadHostState" | "svmLoadSegment" | "svmSaveSegment";

type ExportKind = "memory" | "table" | "global" | { params: number };

// Every export and what it must be; `satisfies` keeps this in step with the interface.
export const CORE_EXPORT_KINDS = {
  memory: "memory", init: { params: 1 }, ramBase: { params: 0 }, ramSize: { params: 0 }, deviceMemoryBase: { params: 0 }, run: { params: 0 },
  translateLinear: { params: 2 }, emulate: { params: 0 }, instructionsRetired: { params: 0 },
  adoptSavedCounters: { params: 0 }, unassignedAccesses: "global", exitsInCoreArea: { params: 0 },
  vmcsFieldTable: { params: 0 }, releaseTrappedPage: { params: 1 }, protectTrappedPages: { params: 0 },
  emulatedWriteStart: { params: 0 }, emulatedWriteEnd: { params: 0 },
  levelSwitchArea: { params: 0 }, entryControlsValid: { params: 1 }, hostStateValid: { params: 1 }, guestStateCheck: { params: 1 }, saveL1Controls: { params: 0 }, restoreL1Controls: { params: 0 }, loadL2State: { params: 1 },
  mergeControls: { params: 2 }, mergeCrMask: { params: 6 }, writeExitInformation: { params: 4 }, saveL2State: { params: 1 }, loadHostState: { params: 1 }, resumeL1: { params: 1 },
  svmVmrunCheck: { params: 1 }, svmSaveHostState: { params: 1 }, svmLoadL2State: { params: 1 }, svmMergeControls: { params: 2 }, svmWriteExit: { params: 8 },
  svmSaveL2State: { params: 1 }, svmLoadHostState: { params: 1 }, svmLoadSegment: { params: 4 }, svmSaveSegment: { params: 3 },
  table: "table", blockCacheBase: { params: 0 }, blockCacheEntry: { params: 1 }, blockCacheBytes: { params: 0 }, compiledBlocks: { params: 0 }, userLevelSeen: "global",
  stalledBlockEntries: { params: 0 }, blockEntriesFromLoop: { params: 0 }, noteHostWrite: { params: 2 }, codePageMasks: { params: 0 }, trackedFrameCounts: { params: 0 }, blockReached: { params: 3 },
  countInterpretedForms: { params: 1 },
  interpretedFormCounts: { params: 0 },
  eip: "global", budget: "global", flagsWord: "global", lazyMask: "global", lfOp: "global", lfA: "global",
  lfB: "global", lfRes: "global", lfSign: "global", tlbBank: "global", rangeExit: "global", hostWorkOwed: "global",
  tlbGeneration: "global", tlbBankBit: "global",
  jitCondition: { params: 1 }, jitCarry: { params: 0 }, jitEflags: { params: 0 }, jitLoadCr3: { params: 3 },
  jitPortIo: { params: 4 }, jitExit: { params: 4 }, jitInterpret: { params: 3 }, jitShift: { params: 4 },
  jitMulDiv: { params: 3 }, jitShiftDouble: { params: 4 }, jitLoadSegment: { params: 5 }, jitSoftwareInterrupt: { params: 2 },
  jitInterruptReturn: { params: 1 }, jitFastSystemCall: { params: 2 },
  jitVmAccess: { params: 5 }, jitVmxNoOperand: { params: 4 }, jitRepString: { params: 5 },
} as const satisfies Record<keyof CoreExports, ExportKind>;

/** Thrown when build/core.wasm is missing or is not the core this VMM was written against. */
export class CoreLoadError extends Error {}

const REBUILD = "build/core.wasm does not match this VMM's sources (run `npm run build:core`)";

/**
 * Checks that `exports` is the core this VMM was built with: every export of the right kind (and
 * functions with the right number of parameters), and every number of assembly/jit-abi.ts with
 * the value the core was compiled with. Returns them typed.
 */
export function checkCoreExports(exports: WebAssembly.Exports): CoreExports {
  const problems: string[] = [];
  for (const [name, kind] of Object.entries(CORE_EXPORT_KINDS) as [string, ExportKind][]) {
    const actual = describe(exports[name]);
    const expected = typeof kind === "string" ? kind : `a function of ${kind.params} parameters`;
    if (actual !== expected) problems.push(`${name} is ${actual}, not ${expected}`);
  }
  for (const [name, value] of Object.entries(jitAbi)) {
    if (typeof value !== "number") continue;
    const global = exports[name];
    if (!(global instanceof WebAssembly.Global)) problems.push(`jit-abi.ts's ${name} is not exported`);
    else if (global.value !== value) problems.push(`jit-abi.ts's ${name} is ${global.value} in the core, ${value} here`);
  }
  if (problems.length > 0) throw new CoreLoadError(`${REBUILD}: ${problems.join("; ")}`);
  return exports as unknown as CoreExports;
}

function describe(value: unknown): string {
  if (value instanceof WebAssembly.Memory) return "memory";
  if (value instanceof WebAssembly.Table) return "table";
  if (value instanceof WebAssembly.Global) return "global";
  if (typeof value === "function") return `a function of ${value.length} parameters`;
  return "missing";
}
