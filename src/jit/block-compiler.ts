// The host half of the compiling tier (see assembly/jit/block-cache.ts for the core half). When
// the core finds a hot block it asks us for it (request()): we translate the block to a WASM
// function at once, fill the block-cache entry (instruction count and length) and queue the
// function; the core marks the entry pending, interprets the block meanwhile and forgets it on any
// write into its bytes. Queued functions are compiled many to one module (a batch), then
// instantiated against the core's memory, globals and helpers, and each is installed in the
// core's function table, in its entry's slot, if the core says the entry still waits for that
// request (installCompiled): a block rewritten, forgotten or evicted while its batch compiled is
// dropped, never installed stale. The core then enters the block with call_indirect.
//
// When batches compile (CompileMode):
// - background (what the CLI and the browser demo run): off the guest's thread (module-compiler.ts);
//   the guest never waits for the compiler. A request goes to an idle compiler at once; requests
//   made while it is busy queue and go as one batch when it is done. The core calls poll() every
//   POLL_INSTRUCTIONS retired instructions while anything is queued or compiling, where we install
//   what has come back and submit the queue;
// - deterministic (tests, the fuzzer): synchronously, at the first poll once `delay` instructions
//   have retired since the oldest queued request (or at once when the batch is full). With delay 0
//   each block compiles, alone, at its request and the guest waits, as it always did.
import { VMCS_BASE, G_REGS } from "../../assembly/vmcs-layout.js";
import {
  JIT_GLOBALS, JIT_FUNCTIONS, JIT_FUNCTION_PARAMS, BLOCK_INSTRUCTIONS, BLOCK_MODE, BLOCK_REGION_BLOCKS, BLOCK_MODE_PAGING,
  BLOCK_MODE_CPL_SHIFT, BLOCK_CACHE_ENTRIES, BLOCK_ENTRY_SIZE, COMPILE_QUEUED, COMPILE_BUSY, REGION_BLOCKS_OFFSET, REGION_BLOCKS_STRIDE,
} from "../../assembly/jit-abi.js";
import type { CoreExports } from "../core/core-exports.js";
import type { CompiledModule, ModuleCompiler } from "./module-compiler.js";
import { encodeModule, type Code } from "./wasm-module.js";
import { translateBlock } from "./translate.js";

const FUNCTIONS = JIT_FUNCTIONS.map((name, i) => ({ name, params: JIT_FUNCTION_PARAMS[i], results: 1 }));
/** Where each imported global and function sits in a compiled module's index space. */
// (Typed by the core's export names: test/jit/abi.test.ts checks every link is one.)
export const LINKS = Object.fromEntries([
  ...JIT_GLOBALS.map((name, i) => [name, i]),
  ...JIT_FUNCTIONS.map((name, i) => [name, i]),
]) as Readonly<Record<keyof CoreExports, number>>;
/**
 * Compiled functions installed at once: one table slot per block-cache entry, so a function
 * compiled into an entry replaces the one it evicts there.
 */
export const MAX_BLOCKS = BLOCK_CACHE_ENTRIES;
/**
 * Functions per module at most. A batch of 32-128 costs 14-60 µs of compile time per function,
 * against 0.5-3 ms for a module of its own.
 */
export const BATCH_FUNCTIONS = 64;
/** Batches compiling at once, at most; while they are and the queue is full, requests are refused. */
export const MAX_BATCHES_IN_FLIGHT = 2;
/**
 * Functions the modules still referenced from the table hold, at most (a module lives while any
 * of its functions is installed): past it, modules less than a quarter of whose functions are
 * still installed let them go (the core forgets those blocks), so at most 4 x MAX_BLOCKS remain.
 */
export const MAX_HELD_FUNCTIONS = 4 * MAX_BLOCKS;
/** In background mode, retired instructions between the core's calls to poll() while work is out. */
export const POLL_INSTRUCTIONS = 5_000;
// Host work (cpu/retirement.ts units, about one interpreted instruction's host time each) charged
// to the guest: translating one block on its thread, and compiling a module there (deterministic
// mode: 0.5 ms or more, about as long as the interpreter takes for 100,000 instructions).
const TRANSLATE_WORK = 5_000;
const COMPILE_WORK = 100_000;

export type CompileMode = (
  | { kind: "background"; compiler: ModuleCompiler }
  | { kind: "deterministic"; delay: number }
) & {
  /** This thread's CPU time in ms, to time the compiler's work on the guest's thread (default: wall time). */
  threadCpuClock?: () => number;
};
/** Each block compiled alone at its request, the guest waiting: every test's timeline. */
export const COMPILE_AT_REQUEST: CompileMode = { kind: "deterministic", delay: 0 };

/** What the compiler did, for --stats and the bench. */
export interface CompilerStats {
  requests: number; // blocks translated and queued
  installed: number; // functions put in the table
  stale: number; // compiled but not installed: the block was rewritten, forgotten or evicted meanwhile
  refused: number; // requests refused while the queue was full
  modules: number; // modules compiled
  functions: number; // functions in the modules compiled (installed or stale)
  released: number; // functions let go to free their modules (MAX_HELD_FUNCTIONS)
  guestThreadMs: number; // translating, encoding, compiling (deterministic mode), instantiating, installing
  guestThreadClock: "cpu" | "wall"; // what guestThreadMs measures: the thread's CPU time, or wall time
  backgroundMs: number; // compiling off the guest's thread (background mode), summed over modules
  waitMs: number; // from request to install, summed over installed functions (wall clock)
}

/** The core's jit imports (assembly/jit/block-cache.ts). */
export interface JitImports {
  compile(linearEip: number, physical: number, entry: number, ticket: number): number;
  poll(): void;
}

/**
 * The core's jit imports before its compiler exists (the compiler needs the instantiated core's
 * exports): nothing compiles until attach().
 */
export class CompilerSlot {
  private compiler: BlockCompiler | undefined;
  readonly imports: JitImports = {
    compile: (linearEip, physical, entry, ticket) => this.compiler?.request(linearEip, physical, entry, ticket) ?? 0,
    poll: () => this.compiler?.poll(),
  };
  attach(compiler: BlockCompiler): BlockCompiler {
    this.compiler = compiler;
    return compiler;
  }
}

/** Per-block averages of CompilerStats, as --stats and the bench show them. */
export function compileTimes(s: CompilerStats): { guestThreadUs: number; backgroundUs: number; waitMs: number; functionsPerModule: number } {
  const per = (total: number, count: number) => (count > 0 ? total / count : 0);
  return {
    guestThreadUs: per(s.guestThreadMs * 1000, s.requests), // every block asked for: translated, and compiled if in deterministic mode
    backgroundUs: per(s.backgroundMs * 1000, s.functions),
    waitMs: per(s.waitMs, s.installed),
    functionsPerModule: per(s.functions, s.modules),
  };
}

interface Queued { entry: number; ticket: number; body: Code; requestedAt: number }
/** A compiled module while any of its functions is in the table. */
interface Held { size: number; installed: number; slots: number[] }

export class BlockCompiler {
  private readonly firstSlot: number;
  private readonly imports: WebAssembly.Imports;
  private mode: CompileMode = COMPILE_AT_REQUEST;
  private queue: Queued[] = [];
  private readonly inFlight = new Map<number, Queued[]>();
  private nextBatch = 0;
  private pollScheduled = false;
  private threadClock = () => performance.now();
  /** The module whose function each slot holds (index: slot - firstSlot). */
  private readonly owners: (Held | undefined)[] = new Array(MAX_BLOCKS);
  private readonly held = new Set<Held>();
  private heldFunctions = 0;
  /** MAX_HELD_FUNCTIONS, lower in tests of what letting go does. */
  heldLimit = MAX_HELD_FUNCTIONS;
  readonly stats: CompilerStats = { requests: 0, installed: 0, stale: 0, refused: 0, modules: 0, functions: 0, released: 0, guestThreadMs: 0, guestThreadClock: "wall", backgroundMs: 0, waitMs: 0 };
  regionBlocks = 0; // blocks the regions asked for hold beyond their first

  constructor(private readonly core: CoreExports) {
    this.firstSlot = core.table.length;
    core.table.grow(MAX_BLOCKS);
    const linked: Record<string, unknown> = { memory: core.memory };
    for (const name of [...JIT_FUNCTIONS, ...JIT_GLOBALS]) linked[name] = core[name as keyof CoreExports];
    this.imports = { core: linked } as WebAssembly.Imports;
  }

  /** Functions installed so far. */
  get compiled(): number { return this.stats.installed; }
  /**
   * Functions held by the modules still referenced from the table: after letting go, at most four
   * times the slots filled (so MAX_HELD_FUNCTIONS), the limit, or a batch more.
   */
  get heldFunctionCount(): number { return this.heldFunctions; }
  /** Table slots holding a compiled function. */
  get filledSlots(): number { return [...this.held].reduce((n, h) => n + h.installed, 0); }
  /** Blocks translated and waiting for their module, queued or compiling. */
  get waiting(): number { return this.queue.length + [...this.inFlight.values()].reduce((n, b) => n + b.length, 0); }

  /**
   * How batches compile from now on. What is queued or compiling under the old mode is dropped
   * (its blocks stay pending until the guest forgets or evicts them: set the mode before running).
   */
  setMode(mode: CompileMode): void {
    if (this.mode.kind === "background") this.mode.compiler.close();
    this.mode = mode;
    this.threadClock = mode.threadCpuClock ?? (() => performance.now());
    this.stats.guestThreadClock = mode.threadCpuClock ? "cpu" : "wall";
    this.queue = [];
    this.inFlight.clear();
  }

  close(): void { this.setMode(COMPILE_AT_REQUEST); }

  /** The core's jit.compile import: translate the block at `linearEip` for request `ticket` of `entry`. */
  request(linearEip: number, physical: number, entry: number, ticket: number): number {
    const start = this.threadClock();
    const requestedAt = performance.now();
    if (this.queue.length >= BATCH_FUNCTIONS) {
      this.stats.refused++;
      return COMPILE_BUSY;
    }
    const core = this.core;
    const ram = new Uint8Array(core.memory.buffer, core.ramBase(), core.ramSize());
    const mode = new Uint8Array(core.memory.buffer)[entry + BLOCK_MODE];
    const t = translateBlock({
      code: ram, eip: linearEip, physical, paging: (mode & BLOCK_MODE_PAGING) !== 0, cpl: mode >> BLOCK_MODE_CPL_SHIFT,
      ramBase: core.ramBase(), ramSize: core.ramSize(), codePageMasks: core.codePageMasks(), regs: VMCS_BASE + G_REGS, entry, links: LINKS,
      reached: (linear, p) => core.blockReached(linear, p, mode) !== 0,
    });
    if (!t) return 0;
    const view = new DataView(core.memory.buffer);
    view.setUint8(entry + BLOCK_INSTRUCTIONS, t.instructions);
    view.setUint8(entry + BLOCK_REGION_BLOCKS, t.blocks.length);
    // where each block lies, for the core's write tracking (jit-abi.ts REGION_BLOCKS_OFFSET)
    const blocks = core.blockCacheBase() + REGION_BLOCKS_OFFSET + ((entry - core.blockCacheBase()) / BLOCK_ENTRY_SIZE) * REGION_BLOCKS_STRIDE;
    t.blocks.forEach((b, i) => view.setUint32(blocks + 4 * i, (b.physical & 0xfff) | (b.length << 16), true));
    this.regionBlocks += t.blocks.length - 1;
    this.queue.push({ entry, ticket, body: t.body, requestedAt });
    this.stats.requests++;
    core.chargeCompileWork(TRANSLATE_WORK);
    if (this.mode.kind === "deterministic") {
      if (this.queue.length === 1) core.scheduleCompilePoll(this.mode.delay);
      else if (this.queue.length >= BATCH_FUNCTIONS) core.scheduleCompilePoll(0);
    } else {
      // An idle compiler takes the block at once; a busy one gets the blocks asked for meanwhile
      // as one batch, when it is done or the batch is full.
      if (this.inFlight.size === 0 || this.queue.length >= BATCH_FUNCTIONS) this.submitQueue(this.mode.compiler);
      this.schedulePoll(POLL_INSTRUCTIONS);
    }
    this.stats.guestThreadMs += this.threadClock() - start;
    return COMPILE_QUEUED;
  }

  /** The core's jit.poll import: compile or submit what is queued, install what is compiled. */
  poll(): void {
    this.pollScheduled = false;
    const mode = this.mode;
    // (a poll with nothing to do is not timed: reading a CPU clock costs more than it)
    if (mode.kind === "deterministic") {
      if (this.queue.length > 0) this.timed(() => this.compileQueueHere());
      return;
    }
    const done = mode.compiler.take();
    if (done.length > 0 || (this.queue.length > 0 && this.inFlight.size < MAX_BATCHES_IN_FLIGHT)) {
      this.timed(() => {
        for (const module of done) this.installFinished(module);
        this.submitQueue(mode.compiler);
      });
    }
    if (this.queue.length > 0 || this.inFlight.size > 0) this.schedulePoll(POLL_INSTRUCTIONS);
  }

  private timed(work: () => void): void {
    const start = this.threadClock();
    work();
    this.stats.guestThreadMs += this.threadClock() - start;
  }

  private compileQueueHere(): void {
    const batch = this.queue;
    this.queue = [];
    this.install(batch, new WebAssembly.Module(this.encode(batch)));
    this.core.chargeCompileWork(COMPILE_WORK);
  }

  private installFinished(done: CompiledModule): void {
    const batch = this.inFlight.get(done.id);
    if (batch === undefined) return; // from before a setMode()
    this.inFlight.delete(done.id);
    if (done.module === undefined) throw new Error(`the compiling tier made a module WebAssembly refuses: ${done.error}`);
    this.stats.backgroundMs += done.compileMs;
    this.install(batch, done.module);
  }

  private schedulePoll(instructions: number): void {
    if (this.pollScheduled) return;
    this.pollScheduled = true;
    this.core.scheduleCompilePoll(instructions);
  }

  private submitQueue(compiler: ModuleCompiler): void {
    if (this.queue.length === 0 || this.inFlight.size >= MAX_BATCHES_IN_FLIGHT) return;
    const id = this.nextBatch++;
    this.inFlight.set(id, this.queue);
    compiler.submit(id, this.encode(this.queue));
    this.queue = [];
  }

  private encode(batch: readonly Queued[]): Uint8Array<ArrayBuffer> {
    this.stats.modules++;
    return encodeModule({ globals: JIT_GLOBALS, functions: FUNCTIONS, bodies: batch.map((q) => q.body) });
  }

  /** Instantiates `module` (compiled from `batch`) and installs each function whose entry still waits for it. */
  private install(batch: readonly Queued[], module: WebAssembly.Module): void {
    const exports = new WebAssembly.Instance(module, this.imports).exports;
    this.stats.functions += batch.length;
    const held: Held = { size: batch.length, installed: 0, slots: [] };
    const now = performance.now();
    batch.forEach((q, i) => {
      const slot = this.firstSlot + (q.entry - this.core.blockCacheBase()) / BLOCK_ENTRY_SIZE;
      if (!this.core.installCompiled(q.entry, q.ticket, slot)) {
        this.stats.stale++;
        return;
      }
      this.release(slot);
      this.core.table.set(slot, exports[String(i)] as () => void);
      this.owners[slot - this.firstSlot] = held;
      held.installed++;
      held.slots.push(slot);
      this.stats.installed++;
      this.stats.waitMs += now - q.requestedAt;
    });
    if (held.installed === 0) return;
    this.held.add(held);
    this.heldFunctions += held.size;
    if (this.heldFunctions > this.heldLimit) this.releaseSparseModules();
  }

  /** The function in `slot` is being replaced: its module may no longer be referenced. */
  private release(slot: number): void {
    const owner = this.owners[slot - this.firstSlot];
    if (owner === undefined) return;
    this.owners[slot - this.firstSlot] = undefined;
    if (--owner.installed === 0) {
      this.held.delete(owner);
      this.heldFunctions -= owner.size;
    }
  }

  /** Lets go of the modules less than a quarter of whose functions are still installed. */
  private releaseSparseModules(): void {
    for (const held of [...this.held]) {
      if (held.installed * 4 >= held.size) continue;
      for (const slot of held.slots) {
        if (this.owners[slot - this.firstSlot] !== held) continue;
        this.core.dropCompiled(this.core.blockCacheBase() + (slot - this.firstSlot) * BLOCK_ENTRY_SIZE);
        this.release(slot);
        this.core.table.set(slot, null);
        this.stats.released++;
      }
    }
  }
}
