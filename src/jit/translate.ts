// The compiling tier's emitter: one region's IR (region.ts: blocks of one page or two, each made by
// decode.ts) to one WASM function. The function is a loop around a br_table over the region's
// blocks: an edge to another block of the region takes that block's budget and branches there
// (to itself or a later block by a plain br), with no return to the core (the flags in the core's
// globals and EIP are then exact at that block boundary, as when a block leaves, and the budget,
// kept in a local, is written back wherever the core may look); every other edge sets EIP and
// returns. Its parameters are the block to start at and the cache entry it was entered through,
// which its calls into the core name: a block hot inside the region enters it there from its own
// cache entry (block-compiler.ts).
// The general registers live in locals while the region runs (but in regions a RET or an indirect
// branch may leave: registersInVmcs): read from the VMCS by the first block that uses them,
// written back (those the region writes) where control leaves and before every call into the core,
// and read again after it, so the state in memory is exact wherever the core looks; every
// memory access is checked against plain RAM (and the TLB, with paging), a store also against
// the chunks holding compiled code, and leaves the block at that instruction when it falls outside
// (the interpreter then performs it, with all of its checks); accesses through the same registers share one check (access-checks.ts). CPUID, VMCALL,
// IN and OUT the core performs in place and delivers their exits inside the block; forms not
// compiled the core's interpreter executes in place (interpret), and the block goes on after them.
// Forms whose semantics are long (RCL/RCR, MUL, IMUL, DIV and IDIV of 8/16 bits) call
// the interpreter's own function for them (jitShift, jitMulDiv); other shifts and rotates are
// emitted inline (shift.ts).
import {
  EXIT_CPUID, EXIT_VMCALL, G_REGS, G_SEG, SEG_STRIDE, SEG_SEL, SEG_BASE, SEG_LIMIT, SEG_AR, G_CR0, G_GDTR_BASE, G_GDTR_LIMIT,
  AR_UNUSABLE,
} from "../../assembly/vmcs-layout.js";
import {
  IO_INFO_INPUT, IO_INFO_SIZE_SHIFT, IO_INFO_IMMEDIATE, IO_INFO_LENGTH_SHIFT, TLB_ENTRIES, TLB_ENTRIES_OFFSET,
  INDIRECT_TARGET_SLOTS, INDIRECT_TARGET_SIZE, BLOCK_CACHE_ENTRIES, BLOCK_ENTRY_SIZE, BLOCK_PHYSICAL, BLOCK_FUNCTION,
  BLOCK_INSTRUCTIONS, BLOCK_MODE, BLOCK_STALLS, BLOCK_MODE_CPL_SHIFT, BLOCK_MODE_PAGING, BLOCK_LINEAR, BLOCK_BANKS, BLOCK_CONTEXT,
  BLOCK_CONTEXT_MODE_BITS,
  S_SUPER_WRITE, S_USER_READ, S_USER_WRITE, T_PLAIN_RAM, CR3_SWITCHED_SAME_PAGE, HOLE_START, HOLE_END, REMEMBERED_PAGE_SLOTS,
  REMEMBERED_PAGE_SIZE,
} from "../../assembly/jit-abi.js";
import { Code, Op } from "./wasm-module.js";
import { type AccessCheck, accessEvents, planAccessChecks } from "./access-checks.js";
import { type ShiftCount, emitShift, isInlineShift } from "./shift.js";
import type { BlockBytes } from "./decode.js";
import { type RegionBlock, type RegionHints, formRegion, innerTargets, returnPoints, computedTargets } from "./region.js";
import {
  type Instruction, type Operand, type Operation, type Place, type Register, type Memory, type Immediate, EFFECTS, EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI,
  isRegister, isMemory, isImmediate,
} from "./ir.js";
import {
  type FlagState, type CoreLinks, type CarriedFlags, type CarriedForm, LazyOp, lazy, lazyWithCarryIn, emitCondition, emitMaterialize, emitEagerFlags, emitCarry,
  emitCarryOver, emitCarriedToCore,
  emitArithFlags, CF, DF,
} from "./flags.js";

export interface TranslateEnv extends BlockBytes, RegionHints {
  /**
   * Where a region leaving by a branch looks for the next (emitLink): the address in WASM memory of
   * the core's block cache (assembly/jit/block-cache.ts), and the index of the imported function
   * that tail-calls a table slot (wasm-module.ts encodeLinkModule). None: the region returns.
   */
  regionLinks?: { blockCache: number; link: number };
  /** Address in WASM memory of the indirect branches' targets (assembly/jit/indirect-targets.ts), where a region leaving at one notes it. */
  indirectTargets?: number;
  /** Address in WASM memory of the slots where paged checks remember their page (jit-abi.ts REMEMBERED_PAGES_OFFSET). None: they do not. */
  rememberedPages?: number;
  paging: boolean; // compiled for paging on: memory goes through the core's TLB
  ramBase: number; // offset of guest-physical 0 in WASM memory
  ramSize: number;
  codePageMasks: number; // offset in WASM memory of the code-page masks (assembly/jit/code-pages.ts)
  regs: number; // offset of EAX in WASM memory (the VMCS guest registers)
  links: CoreLinks & {
    eip: number; budget: number; tlbBank: number; tlbGeneration: number; tlbBankBit: number; rangeExit: number; hostWorkOwed: number; jitLoadCr3: number; jitPortIo: number; jitExit: number;
    jitInterpret: number; jitShift: number; jitMulDiv: number; jitShiftDouble: number; jitLoadSegment: number;
    jitSoftwareInterrupt: number; jitInterruptReturn: number; jitFastSystemCall: number; jitVmAccess: number; jitVmxNoOperand: number;
    jitRepString: number;
  };
}

/**
 * The region's function, its first block's instruction count (the entry's), its blocks (where
 * they lie: the core tracks writes to each, assembly/jit/code-pages.ts), and the addresses of
 * those that edges inside it reach without returning to the core.
 */
export interface Translation { body: Code; instructions: number; blocks: RegionBlock[]; inner: number[] }

/**
 * Which general registers each block of a region uses (reads or writes: a local must hold the
 * register before either, or a write-back would store a stale value; a partial write reads too),
 * and which the region writes.
 */
interface RegisterUse { inLocals: boolean; usedBy: (block: number) => readonly number[]; written: readonly number[] }
/** In locals, found by translating the region (the code that depends on them is emitted after: Code.later()). */
const NOT_KNOWN_YET: RegisterUse = {
  inLocals: true,
  usedBy: () => { throw new Error("the registers a block uses are known only once the region is translated"); },
  get written(): never { throw new Error("the registers a region writes are known only once it is translated"); },
};
/**
 * Registers stay in the VMCS, read and written there by each instruction, in a region that a RET
 * or an indirect JMP or CALL may leave: such regions are mostly left after a block or two (a
 * comparison function called through a pointer, a loop around such a call), and reading and
 * writing back the registers at every visit cost more than they save (realc's qsort took 15-30 %
 * longer with them in locals, fptr and switch too; bench --only realc, A/B, load 10-20). But a
 * region only a RET may leave that holds a loop of one block (a C function's loop: realc's narrow,
 * whose phase is one such region from entry to RET) keeps them in locals: its rounds then move
 * none (narrow 156 -> 127 ms, muldiv 184 -> 173, string 160 -> 164; medians of 4 alternating
 * runs, thread CPU, load 9).
 */
const MEMORY_REGISTERS: RegisterUse = { inLocals: false, usedBy: () => [], written: [] };
function registersInVmcs(region: readonly RegionBlock[]): boolean {
  const last = (b: RegionBlock) => b.instructions[b.instructions.length - 1];
  if (region.some((b) => (last(b).op === "call" || last(b).op === "jmp") && !isImmediate(last(b).operands[0]))) return true;
  const inner = innerTargets(region);
  return region.some((b) => last(b).op === "ret") && !region.some((b) => goesRoundItself(b, inner));
}

/** Whether the block's branch may go back to its own start inside the region (a loop of one block). */
function goesRoundItself(b: RegionBlock, inner: ReadonlyMap<number, number>): boolean {
  const last = b.instructions[b.instructions.length - 1], target = last.operands[0];
  return EFFECTS[last.op].branch === true && last.op !== "call" && target !== undefined && isImmediate(target) &&
    (target.imm >>> 0) === (b.ip >>> 0) && inner.has(b.ip >>> 0);
}

/**
 * Whether block `b` sets all six arithmetic flags before anything can read them or see them: its
 * first instructions only move registers and constants (no memory access: no way out of the block
 * before it), then one sets all six from registers and constants. An edge into it need not write
 * the flags to the core's globals then: nothing looks there before the block sets them anew.
 */
function setsFlagsFirst(b: RegionBlock): boolean {
  for (const i of b.instructions) {
    if (i.tail !== undefined || (i.op !== "lea" && i.operands.some(isMemory))) return false;
    if (SETS_ALL_FLAGS.has(i.op)) return true;
    if (!MOVES.has(i.op)) return false;
  }
  return false;
}
const SETS_ALL_FLAGS: ReadonlySet<Operation> = new Set<Operation>(["add", "or", "and", "sub", "xor", "cmp", "test", "neg"]);
const MOVES: ReadonlySet<Operation> = new Set<Operation>(["mov", "lea", "movzx", "movsx"]);

/** From what each block read and wrote, as translated. */
function registerUse(read: readonly Set<number>[], written: readonly Set<number>[]): RegisterUse {
  const used = read.map((r, k) => {
    let mask = 0;
    for (const reg of r) mask |= 1 << reg;
    for (const reg of written[k]) mask |= 1 << reg;
    return REGISTERS.filter((reg) => (mask & (1 << reg)) !== 0);
  });
  return { inLocals: true, usedBy: (k) => used[k], written: [...new Set(written.flatMap((w) => [...w]))] };
}
const REGISTERS = [EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI];
const bits = (registers: readonly number[]) => registers.reduce((mask, r) => mask | (1 << r), 0);

const HOLE_SIZE = HOLE_END - HOLE_START; // guest-physical range that is not plain RAM (VGA, ROM)

type AluOperation = "add" | "or" | "adc" | "sbb" | "and" | "sub" | "xor" | "cmp";
const ALU_OPS: Record<AluOperation, { op: LazyOp; wasm: Op; carryIn?: boolean }> = {
  add: { op: LazyOp.Add, wasm: Op.I32Add },
  or: { op: LazyOp.Logic, wasm: Op.I32Or },
  adc: { op: LazyOp.Add, wasm: Op.I32Add, carryIn: true },
  sbb: { op: LazyOp.Sub, wasm: Op.I32Sub, carryIn: true },
  and: { op: LazyOp.Logic, wasm: Op.I32And },
  sub: { op: LazyOp.Sub, wasm: Op.I32Sub },
  xor: { op: LazyOp.Logic, wasm: Op.I32Xor },
  cmp: { op: LazyOp.Sub, wasm: Op.I32Sub },
};
// Group 2's kinds as the core's shiftRotate() numbers them (the ModR/M.reg of C0-D3).
const SHIFT_KINDS = { rol: 0, ror: 1, rcl: 2, rcr: 3, shl: 4, shr: 5, sar: 7 } as const;
// Group 3's kinds as the core's jitMulDiv() takes them (the ModR/M.reg of F6/F7).
const MUL_DIV_KINDS = { mul: 4, imulWide: 5, div: 6, idiv: 7 } as const;
const LOAD: Record<number, Op> = { 1: Op.I32Load8U, 2: Op.I32Load16U, 4: Op.I32Load };
const STORE: Record<number, Op> = { 1: Op.I32Store8, 2: Op.I32Store16, 4: Op.I32Store };
const SIZE_MASK: Record<number, number> = { 1: 0xff, 2: 0xffff, 4: -1 };

// A region's body is 1-20 KB: its Code starts at 4 KB rather than doubling up from 64 bytes.
const REGION_CODE_BYTES = 4096;

class Translator {
  readonly c = new Code(REGION_CODE_BYTES);
  flags: FlagState = { kind: "unknown" };
  private ip = 0; // address of the instruction being translated
  private next = 0; // and of the one after it
  private index = 0; // its number within the block
  private count = 0; // instructions in the block being translated
  private checks: AccessCheck[] = []; // its accesses' checks (access-checks.ts)

  // The region: its blocks by address (where an edge may stay inside), the loop the edges branch
  // to (its depth), and the local saying which block to run next. The core tracks writes to every
  // block of the region (code-pages.ts): a store into any of them forgets the whole region, and
  // the region leaves at once when it made that store or called the core around it.
  readonly numbers: ReadonlyMap<number, number>;
  private readonly returns: ReadonlyMap<number, number>; // those a RET looks for (returnPoints)
  private dispatchDepth = 0;
  private readonly nextBlock: number;
  private readonly entry: number;
  // Edges that need no dispatcher: to the block being emitted (`current`), a `br` to the loop
  // around its code (selfLoop); to a later block, a `br` to the end of the label the dispatcher
  // takes to it (startLabel), still open there. Only edges back to an earlier block go through
  // the br_table.
  private current = 0;
  private readonly startLabel: number[] = [];
  private readonly selfLoop: number[] = [];
  // The budget and the host work owed, in locals while the region runs: written back to the
  // core's globals where control leaves and around every call into the core, read again after it
  // (the core reads and may change both: an exit delivered inside the region restarts the budget).
  private readonly budget: number;
  private readonly owed: number;
  // The general registers' locals, and which registers each block reads and writes (a partial
  // write reads too): those the region uses are read from the VMCS at entry and after each core
  // call, those it writes are written back before each core call and where it leaves (the
  // epilogue, at the end of the block labelled `exitDepth`). `uses` is what the translation itself
  // read and wrote: the code that moves registers is emitted once that is known, into the places
  // left for it (Code.later(), finish()). They are read lazily, by block: `held`, a mask, says which locals hold their
  // register; a block reads those it uses that are not held when it is entered (a test of the
  // mask, at the label edges and the dispatcher reach), so that a visit moves only the registers
  // of the blocks it runs (a call into a short function, a loop leaving at a call). Written back
  // are the held ones of those the region writes; after a core call, the current block's are read
  // again and only they are held.
  private readonly reg: number[] = [];
  private readonly regsRead: Set<number>[] = [];
  private readonly regsWritten: Set<number>[] = [];
  private readonly held: number;
  private exitDepth = 0;
  // Nonzero when the region leaves by a branch (leave()), EIP at a block start, rather than at a
  // side exit for the interpreter: the epilogue then looks for a compiled region there (emitLink).
  private readonly linking: number;

  // A block that branches back to itself carries its flags into the next round in locals instead
  // of writing the core's globals at every round (a loop's edge wrote six: matmul's inner loop of
  // seven instructions took 20 % less time without them): `carrying` while such a block is
  // emitted. Until its first instruction that sets flags, the last round's are in `carried`
  // (when `pending`): whatever reads or hands over the flags before that writes them to the
  // globals first (knownFlags(), materialize()), and any write of known flags to the globals
  // clears `pending`. Every way out of the block materialises, so no other block sees `pending`.
  private readonly carried: CarriedFlags;
  private carrying = false;
  // By block, setsFlagsFirst(): an edge from a block that does not carry its flags (where `pending`
  // is 0) branches there without writing them to the globals.
  private readonly setsFlagsFirst: boolean[];
  private readonly carriedForms: (CarriedForm | undefined)[] = []; // by block, where it carries known flags

  // The block's accesses so far, whose checks `checks` plans; with paging each leader's physical -
  // linear (a local; with paging off, physical is linear).
  private accesses = 0;
  private readonly leaderDelta = new Map<number, number>();
  // With `pageCache`: the slots of remembered pages the region's checks took (rememberedDelta()).
  private slotsTaken = 0;

  // With paging: a local holding the TLB bank, read once per block and again after a MOV to CR3
  // (only that changes it).
  private readonly tlbBank: number;

  /**
   * `pageCache`: each paged access remembers the page it translated last (physical()); only where
   * nothing can change a TLB entry while the region runs, i.e. in regions with no instruction the
   * core performs (ir.ts EFFECTS `core`): their misses leave, their only core calls are the flag and
   * arithmetic helpers (jitCondition, jitShift, jitMulDiv...), which touch no TLB entry and run no
   * compiled code, and only the core drops or write-protects entries.
   */
  constructor(
    private readonly env: TranslateEnv, private readonly blocks: readonly RegionBlock[], private readonly pageCache: boolean,
    private uses: RegisterUse,
  ) {
    // the function's parameters (wasm-module.ts encodeModule): the block to start at, and the
    // cache entry of the block it was entered at (which the core's helpers check)
    this.nextBlock = this.c.param();
    this.entry = this.c.param();
    this.tlbBank = this.c.local();
    this.budget = this.c.local();
    this.owed = this.c.local();
    for (let r = 0; r < 8; r++) this.reg.push(this.c.local());
    this.held = this.c.local();
    this.linking = this.c.local();
    const local = () => this.c.local();
    this.carried = { pending: local(), value: local(), a: local(), b: local(), res: local() };
    blocks.forEach(() => { this.regsRead.push(new Set()); this.regsWritten.push(new Set()); });
    this.setsFlagsFirst = blocks.map(setsFlagsFirst);
    this.budgetFromCore();
    if (env.paging) this.c.globalGet(env.links.tlbBank).set(this.tlbBank);
    if (pageCache) this.c.later((c) => this.forgetRememberedPages(c));
    this.numbers = innerTargets(blocks);
    this.returns = returnPoints(blocks, this.numbers);
  }

  // ---- the region -------------------------------------------------------------------------------
  /** The whole function: the dispatcher, then each block's code after the label br_table takes to it. */
  emitRegion(): void {
    const c = this.c, n = this.blocks.length;
    c.block();
    this.exitDepth = c.depth;
    c.loop();
    this.dispatchDepth = c.depth;
    for (let k = n - 1; k >= 0; k--) { c.block(); this.startLabel[k] = c.depth; } // the innermost ends first, before block 0
    c.get(this.nextBlock).brTable([...Array(n).keys()], n - 1);
    this.blocks.forEach((b, k) => {
      c.end();
      this.holdRegisters(k); // (a block branching to itself holds them already)
      c.loop();
      this.selfLoop[k] = c.depth;
      this.current = k;
      this.carrying = goesRoundItself(b, this.numbers);
      this.beginBlock(b);
      b.instructions.forEach((instruction, i) => this.emit(instruction, i));
      const last = b.instructions[b.instructions.length - 1];
      if (!EFFECTS[last.op].branch) this.endBefore(last.ip + last.length);
      c.end(); // its self loop
    });
    c.end(); // the loop
    c.end(); // the exits' block: every way out of the region comes here
    this.registersToCore();
    this.emitLink();
  }

  /** Completes the function: the code that moves registers, now that the region's use of them is known (Code.later()). */
  finish(): void {
    if (this.uses === NOT_KNOWN_YET) this.uses = registerUse(this.regsRead, this.regsWritten);
    this.c.finish();
  }

  // Where the region left by a branch, it goes on in the region compiled at the new EIP, if there is
  // one the core's runBlocks() would enter right now: a tail call of `link` (wasm-module.ts
  // encodeLinkModule), which tail-calls its table slot, so the stack does not grow and a call into a
  // function on another page and the RET back (qsort's comparison), a jump table's far case or a
  // loop spread over regions cost a lookup and a call instead of a return to the core's loop. The
  // checks are runBlocks()'s fast path (assembly/jit/block-cache.ts: the entry holds a function
  // compiled for this address in this mode, with paging validated for it in this context and TLB
  // bank, not resting, and the budget covers its first block); the rest of what runBlocks() checks
  // holds wherever leave() is reached: the core calls that could change the mode, TF or the
  // pending events end the region instead (helpers.ts). Each link takes budget, so a chain of
  // links ends with the slice.
  private emitLink(): void {
    const env = this.env, c = this.c, l = env.links;
    const links = env.regionLinks;
    if (links === undefined) return;
    const t = c.local(), e = c.local(), fn = c.local(), n = c.local();
    c.get(this.linking).ifThen();
    // entryFor(t)
    c.globalGet(l.eip).tee(t).get(t).i32(12).op(Op.I32ShrU).op(Op.I32Xor).i32(BLOCK_CACHE_ENTRIES - 1).op(Op.I32And);
    c.i32(BLOCK_ENTRY_SIZE).op(Op.I32Mul).i32(links.blockCache | 0).op(Op.I32Add).set(e);
    const mode = (env.cpl << BLOCK_MODE_CPL_SHIFT) | (env.paging ? BLOCK_MODE_PAGING : 0);
    if (env.paging) {
      // validated for this EIP at the TLB's generation now (no translation dropped since), for
      // this mode, in the active bank (address space): currentContext() and tlbBankBit
      c.get(e).mem(Op.I32Load, BLOCK_LINEAR).get(t).op(Op.I32Eq);
      c.get(e).mem(Op.I64Load, BLOCK_CONTEXT);
      c.globalGet(l.tlbGeneration).i64(BLOCK_CONTEXT_MODE_BITS).op(Op.I64Shl).i64(mode).op(Op.I64Or).op(Op.I64Eq).op(Op.I32And);
      c.get(e).mem(Op.I32Load, BLOCK_BANKS).globalGet(l.tlbBankBit).op(Op.I32And).i32(0).op(Op.I32Ne).op(Op.I32And);
    } else {
      c.get(e).mem(Op.I32Load, BLOCK_PHYSICAL).get(t).op(Op.I32Eq);
      c.get(e).mem(Op.I32Load8U, BLOCK_MODE).i32(mode).op(Op.I32Eq).op(Op.I32And);
    }
    c.get(e).mem(Op.I32Load, BLOCK_STALLS).op(Op.I32Eqz).op(Op.I32And);
    c.get(e).mem(Op.I32Load, BLOCK_FUNCTION).tee(fn).i32(0).op(Op.I32Ne).op(Op.I32And);
    c.get(e).mem(Op.I32Load8U, BLOCK_INSTRUCTIONS).set(n);
    this.budgetCovers(() => c.get(n));
    c.op(Op.I32And).ifThen();
    c.get(this.budget).get(n).op(Op.I32Sub).globalSet(l.budget);
    c.get(fn).tailCall(links.link);
    c.end();
    c.end();
  }

  // Whether the budget covers the instructions `count` pushes, as the core's budgetCovers(): host
  // work owed counts as spent.
  private budgetCovers(count: () => void): void {
    const c = this.c;
    c.get(this.budget);
    count();
    c.get(this.owed).op(Op.I32Add).op(Op.I32GtU);
  }
  // The flags, to read them: in a carrying block, the last round's are first written to the core's
  // globals if they are still in the carry locals (the state is then `unknown`: in the globals).
  private knownFlags(): FlagState {
    if (this.flags.kind === "unknown" && this.carrying) {
      const k = this.current;
      emitCarriedToCore(this.c, this.carried, () => this.carriedForms[k], this.env.links);
    }
    return this.flags;
  }
  // The flags to the core's globals, where control leaves or the core looks.
  private materialize(): void {
    if (this.flags.kind === "unknown") { this.knownFlags(); return; }
    emitMaterialize(this.c, this.flags, this.env.links);
    if (this.carrying) this.c.i32(0).set(this.carried.pending);
  }
  // Return to the core, EIP set: the budget back in its global (the epilogue writes the registers back).
  private leave(): void {
    this.budgetToCore();
    this.c.i32(1).set(this.linking).brTo(this.exitDepth);
  }
  private budgetToCore(): void { this.c.get(this.budget).globalSet(this.env.links.budget); }
  private budgetFromCore(): void {
    const c = this.c, l = this.env.links;
    c.globalGet(l.budget).set(this.budget).globalGet(l.hostWorkOwed).set(this.owed);
  }
  // Call core function `fn` (its arguments pushed): the core sees the budget and the registers,
  // and the region sees what the core left of them.
  private callCore(fn: number): Code {
    this.budgetToCore();
    this.registersToCore();
    this.c.call(fn);
    this.budgetFromCore();
    this.registersFromCore();
    return this.c;
  }
  // The current block's registers, after a core call (which may have changed any of them).
  private registersFromCore(): void {
    if (!this.uses.inLocals) return;
    const block = this.current;
    this.c.later((c) => {
      const used = this.uses.usedBy(block);
      for (const r of used) this.loadRegister(c, r);
      c.i32(bits(used)).set(this.held);
    });
  }
  // Those held of the registers the region writes.
  private registersToCore(): void {
    this.c.later((c) => {
      for (const r of this.uses.written) {
        c.get(this.held).i32(1 << r).op(Op.I32And).ifThen();
        c.i32(0).get(this.reg[r]).mem(Op.I32Store, this.env.regs + 4 * r);
        c.end();
      }
    });
  }
  // At a block's start: read the registers it uses that are not held yet.
  private holdRegisters(block: number): void {
    this.c.later((c) => this.holdRegistersNow(c, block));
  }
  private holdRegistersNow(c: Code, block: number): void {
    const used = this.uses.usedBy(block), mask = bits(used);
    if (mask === 0) return;
    c.get(this.held).i32(mask).op(Op.I32And).i32(mask).op(Op.I32Ne).ifThen();
    for (const r of used) {
      c.get(this.held).i32(1 << r).op(Op.I32And).op(Op.I32Eqz).ifThen();
      this.loadRegister(c, r);
      c.end();
    }
    c.get(this.held).i32(mask).op(Op.I32Or).set(this.held);
    c.end();
  }
  private loadRegister(c: Code, r: number): void { c.i32(0).mem(Op.I32Load, this.env.regs + 4 * r).set(this.reg[r]); }


  private beginBlock(b: RegionBlock): void {
    this.count = b.instructions.length;
    this.checks = planAccessChecks(accessEvents(b.instructions));
    this.accesses = 0;
    this.leaderDelta.clear();
    this.flags = { kind: "unknown" };
  }

  // Control goes to `target` (a constant) after this instruction: to that block of the region when
  // it is one and the budget covers it (the core's rule before entering a block), else back to the
  // core with EIP there. The flags go to the core's globals either way, where a block expects them.
  private goTo(target: number): void {
    const c = this.c, l = this.env.links, k = this.numbers.get(target >>> 0);
    if (k !== undefined && k === this.current && this.carrying && this.flags.kind !== "unknown") {
      const known = this.flags; // carried into the next round, written to the globals only to leave
      this.enterBlock(k, () => { this.carriedForms[k] = emitCarryOver(c, known, this.carried); });
      this.materialize();
    } else if (this.flagsUnlooked(target)) {
      this.enterBlock(k!);
      this.materialize(); // to leave
    } else {
      this.materialize();
      if (k !== undefined) this.enterBlock(k);
    }
    this.flags = { kind: "unknown" };
    c.i32(target | 0).globalSet(l.eip);
    this.leave();
  }
  // Whether `target` is a block of the region that sets the flags before anything looks at them
  // (setsFlagsFirst), entered from a block that carries none.
  private flagsUnlooked(target: number): boolean {
    const k = this.numbers.get(target >>> 0);
    return k !== undefined && !this.carrying && this.setsFlagsFirst[k];
  }
  // ... to the address in local `target` (RET, an indirect JMP or CALL): `candidates`, blocks of
  // the region, are compared with it in turn. An indirect JMP or CALL that leaves notes where it
  // went (assembly/jit/indirect-targets.ts), for regions compiled later.
  private goToComputed(target: number, candidates: ReadonlyMap<number, number>, noted = false): void {
    const c = this.c, l = this.env.links, slots = this.env.indirectTargets;
    this.materialize();
    this.flags = { kind: "unknown" };
    for (const [ip, k] of candidates) {
      c.get(target).i32(ip | 0).op(Op.I32Eq).ifThen();
      this.enterBlock(k);
      c.end();
    }
    if (noted && slots !== undefined) {
      const slot = indirectTargetSlot(slots, this.ip);
      c.i32(0).i32(this.ip | 0).mem(Op.I32Store, slot);
      c.i32(0).get(target).mem(Op.I32Store, slot + 4);
    }
    c.get(target).globalSet(l.eip);
    this.leave();
  }
  // The region's blocks a JMP or CALL with a computed target may go to (region.ts computedTargets).
  private computedBlocks(branch: Instruction): Map<number, number> {
    const blocks = new Map<number, number>();
    for (const ip of computedTargets(branch, this.env)) {
      const k = this.numbers.get(ip);
      if (k !== undefined) blocks.set(ip, k);
    }
    return blocks;
  }
  // Branch to block `k` of the region if the budget covers its instructions, taking them
  // (`beforeBranch` emits what that way needs besides).
  private enterBlock(k: number, beforeBranch?: () => void): void {
    const c = this.c, count = this.blocks[k].instructions.length;
    this.budgetCovers(() => c.i32(count));
    c.ifThen();
    c.get(this.budget).i32(count).op(Op.I32Sub).set(this.budget);
    beforeBranch?.();
    if (k === this.current) c.brTo(this.selfLoop[k]);
    else if (k > this.current) c.brTo(this.startLabel[k]);
    else c.i32(k).set(this.nextBlock).brTo(this.dispatchDepth);
    c.end();
  }

  // ---- registers and memory ------------------------------------------------------------------
  // Register `r` of `bytes` (AH..BH are bits 8-15 of EAX..EBX) from its local, zero-extended.
  private loadReg(r: number, bytes: number): void {
    const c = this.c, full = bytes === 1 ? r & 3 : r;
    if (!this.uses.inLocals) { c.i32(0).mem(LOAD[bytes], this.env.regs + (bytes === 1 ? full * 4 + (r >> 2) : r * 4)); return; }
    this.regsRead[this.current].add(full);
    c.get(this.reg[full]);
    if (bytes === 1 && r >= 4) c.i32(8).op(Op.I32ShrU);
    this.mask(bytes);
  }
  private storeReg(r: number, bytes: number, value: number): void {
    const c = this.c, full = bytes === 1 ? r & 3 : r, shift = bytes === 1 && r >= 4 ? 8 : 0;
    if (!this.uses.inLocals) { c.i32(0).get(value).mem(STORE[bytes], this.env.regs + full * 4 + shift / 8); return; }
    this.regsWritten[this.current].add(full);
    if (bytes === 4) { c.get(value).set(this.reg[full]); return; }
    this.regsRead[this.current].add(full); // the rest of the register stays
    c.get(this.reg[full]).i32(~(SIZE_MASK[bytes] << shift)).op(Op.I32And);
    c.get(value).i32(SIZE_MASK[bytes]).op(Op.I32And);
    if (shift) c.i32(shift).op(Op.I32Shl);
    c.op(Op.I32Or).set(this.reg[full]);
  }
  // Keep the low `bytes` of the value on the stack.
  private mask(bytes: number): void {
    if (bytes < 4) this.c.i32(SIZE_MASK[bytes]).op(Op.I32And);
  }

  private address(m: Memory): number {
    const c = this.c;
    c.i32(m.disp | 0);
    if (m.base >= 0) { this.loadReg(m.base, 4); c.op(Op.I32Add); }
    if (m.index >= 0) { this.loadReg(m.index, 4); c.i32(m.scale).op(Op.I32Shl).op(Op.I32Add); }
    const a = c.local();
    c.set(a);
    return a;
  }

  // The guest-physical address for an access at linear `a` (a local), or leave the block before
  // this instruction: when paging is on and the TLB has no entry allowing the
  // access (the interpreter then walks and fills it) or the access would cross a page, or when it
  // is not plain RAM (with paging, a bit of the TLB entry says so). A follower (access-checks.ts)
  // relies on its leader's check, which covered it.
  private physical(a: number, bytes: number, write: boolean): number {
    const c = this.c, env = this.env, access = this.accesses++;
    const check = this.checks[access];
    if (!check.leader) {
      if (!env.paging) return a;
      const p = c.local();
      c.get(a).get(this.leaderDelta.get(check.of)!).op(Op.I32Add).set(p);
      return p;
    }
    let start = a; // of the range checked
    if (check.from !== 0) {
      start = c.local();
      c.get(a).i32(check.from).op(Op.I32Add).set(start);
    }
    // When the range fails where this access alone would pass (it straddles two pages, say), the
    // block still leaves here, but tells the core it was no stall (rangeExit): a sliding window
    // (a[i] and a[i + 10]) meets that at every step near a page's end, and must not rest.
    const wider = check.span > bytes;
    const rangeMiss = !wider ? undefined : () => {
      if (env.paging) c.get(this.tlbProbe(a, bytes, write).ok); else { this.plainRamMiss(a, bytes); c.op(Op.I32Eqz); }
      c.globalSet(env.links.rangeExit);
    };
    if (!env.paging) {
      this.requirePlainRam(start, check.span, rangeMiss);
      if (check.write) this.requireNoCode(start, check.span);
      return a;
    }
    const remembered = this.pageCache ? this.rememberedDelta(start, check.span, check.write, rangeMiss) : undefined;
    if (remembered === undefined && !check.followed) {
      const p = this.tlbLookup(a, bytes, write);
      if (write) this.requireNoCode(p, bytes);
      return p;
    }
    const delta = remembered ?? c.local();
    if (remembered === undefined) c.get(this.tlbLookup(start, check.span, check.write, rangeMiss)).get(start).op(Op.I32Sub).set(delta);
    this.leaderDelta.set(access, delta);
    if (check.write) {
      const from = c.local();
      c.get(start).get(delta).op(Op.I32Add).set(from);
      this.requireNoCode(from, check.span);
    }
    const p = c.local();
    c.get(a).get(delta).op(Op.I32Add).set(p);
    return p;
  }

  // Write tracking (assembly/jit/code-pages.ts): leave the block before this instruction when the
  // `span` (at most 64) bytes at physical `p` that it or its followers store into may overlap
  // compiled code: a 64-byte chunk they touch is marked in the code-page masks. A chunk is marked
  // for the 3 bytes before a block too, so the chunk of `p` answers for a span of up to 4 bytes,
  // and those of the first and the last byte for a wider one. The interpreter then makes the store,
  // forgets the blocks it changes and goes on. The check leaves rather than let the core make the
  // store and go on after it, in the middle of the straight line: the values kept live across that
  // call cost spills and moves on the common path too (realc, thread CPU, medians of 5 alternating
  // runs, load 11-13: narrow 206 -> 177 ms, fib 176 -> 161, string 188 -> 176).
  private requireNoCode(p: number, span: number): void {
    const c = this.c;
    this.codeChunkBit(p);
    if (span > 4) {
      const last = c.local();
      c.get(p).i32(span - 1).op(Op.I32Add).set(last);
      this.codeChunkBit(last);
      c.op(Op.I32Or);
    }
    c.ifThen();
    this.exitHere();
    c.end();
  }
  private codeChunkBit(p: number): void {
    const c = this.c;
    c.get(p).i32(12).op(Op.I32ShrU).i32(3).op(Op.I32Shl).mem(Op.I64Load, this.env.codePageMasks);
    c.get(p).i32(6).op(Op.I32ShrU).op(Op.I64ExtendI32U).op(Op.I64ShrU).op(Op.I32WrapI64).i32(1).op(Op.I32And);
  }

  // physical - linear for `span` bytes at linear `start` (a local), from the page this check
  // translated last when the range lies within it (start - base < limit: base is that page's linear
  // address and limit 4097 - span, or 0, as the region's entry sets it, before the first
  // translation, so that any start misses); else from the TLB. A loop going through a page pays the
  // TLB lookup once per page. One subtraction and one compare: testing the page number and the
  // offset apart (a page number + 1, 0 for none, and no limit) cost the vmexit guest's compute loop
  // 3.3 ns a round against 2.8, its region run alone in a harness, where paging off takes 2.7.
  // Base, limit and delta sit in the check's slot in memory (jit-abi.ts REMEMBERED_PAGES_OFFSET),
  // not in locals: V8 kept the three locals, changed on the miss path, in stack slots it wrote
  // back every round (compute-pg's loop, 100M rounds: 255-269 -> 232-245 ms; paging off 230).
  // Undefined when the region's checks have taken every slot: the caller then looks the TLB up.
  private rememberedDelta(start: number, span: number, write: boolean, beforeExit?: () => void): number | undefined {
    const c = this.c;
    if (this.env.rememberedPages === undefined || this.slotsTaken === REMEMBERED_PAGE_SLOTS) return undefined;
    const { baseAt, limitAt, deltaAt } = this.rememberedSlot(this.slotsTaken++), value = c.local();
    c.get(start).i32(0).mem(Op.I32Load, baseAt).op(Op.I32Sub).i32(0).mem(Op.I32Load, limitAt).op(Op.I32GeU);
    c.ifThen();
    const translated = this.tlbLookup(start, span, write, beforeExit);
    c.i32(0).get(start).i32(~0xfff).op(Op.I32And).mem(Op.I32Store, baseAt);
    c.i32(0).i32(0x1001 - span).mem(Op.I32Store, limitAt);
    c.i32(0).get(translated).get(start).op(Op.I32Sub).mem(Op.I32Store, deltaAt);
    c.end();
    c.i32(0).mem(Op.I32Load, deltaAt).set(value);
    return value;
  }
  // Where slot `k`'s three u32s lie in WASM memory (jit-abi.ts REMEMBERED_PAGES_OFFSET).
  private rememberedSlot(k: number): { baseAt: number; limitAt: number; deltaAt: number } {
    const baseAt = this.env.rememberedPages! + REMEMBERED_PAGE_SIZE * k;
    return { baseAt, limitAt: baseAt + 4, deltaAt: baseAt + 8 };
  }
  // At the region's entry: the limits of the slots its checks took (known once it is translated)
  // are 0, so that each check's first access looks the TLB up (a slot holds what the last region
  // to run left there).
  private forgetRememberedPages(c: Code): void {
    for (let k = 0; k < this.slotsTaken; k++) c.i32(0).i32(0).mem(Op.I32Store, this.rememberedSlot(k).limitAt);
  }

  // The TLB's translation of the access, or leave the block (see physical()); `beforeExit` emits
  // what the way out needs besides.
  private tlbLookup(a: number, bytes: number, write: boolean, beforeExit?: () => void): number {
    const c = this.c, { ok, p } = this.tlbProbe(a, bytes, write);
    c.get(ok).op(Op.I32Eqz).ifThen();
    beforeExit?.();
    this.exitHere();
    c.end();
    return p;
  }

  // Whether the TLB allows the access (`ok`, a local), and its translation if so (`p`).
  private tlbProbe(a: number, bytes: number, write: boolean): { ok: number; p: number } {
    const c = this.c, env = this.env;
    const slot = c.local(), entry = c.local(), ok = c.local(), p = c.local();
    c.get(a).i32(12).op(Op.I32ShrU).i32(TLB_ENTRIES - 1).op(Op.I32And).i32(2).op(Op.I32Shl);
    c.get(this.tlbBank).op(Op.I32Add).set(slot);
    const user = env.cpl === 3;
    const need = T_PLAIN_RAM | (write ? (user ? S_USER_WRITE : S_SUPER_WRITE) : (user ? S_USER_READ : 0));
    // hit: the slot's tag is the page of the access's last byte + 1 (so an access crossing into
    // the next page misses), and the entry has the permission and the plain-RAM bit
    c.get(slot).mem(Op.I32Load, 0).get(a);
    if (bytes > 1) c.i32(bytes - 1).op(Op.I32Add);
    c.i32(12).op(Op.I32ShrU).i32(1).op(Op.I32Add).op(Op.I32Eq);
    c.get(slot).mem(Op.I32Load, TLB_ENTRIES_OFFSET).tee(entry).i32(need).op(Op.I32And).i32(need).op(Op.I32Eq).op(Op.I32And).set(ok);
    c.get(entry).i32(~0xfff).op(Op.I32And).get(a).i32(0xfff).op(Op.I32And).op(Op.I32Or).set(p);
    return { ok, p };
  }

  // `bytes` at `p` lie in RAM and clear of the hole (neither the first nor the last is in it), or
  // leave the block (`beforeExit` as in tlbLookup()).
  // Two branches to one way out, not one on the OR of the two tests, of which V8 makes booleans
  // (two SETcc, a MOVZX and an OR per check: matmul 220 -> 173 ms, narrow 152 -> 127, fptr 104 ->
  // 94; realc, thread CPU, medians of 4 alternating runs, load 7-9).
  private requirePlainRam(p: number, bytes: number, beforeExit?: () => void): void {
    const c = this.c;
    c.block();
    const passes = c.depth;
    c.block();
    const misses = c.depth;
    this.inHole(p, bytes);
    c.brIfTo(misses);
    this.pastRam(p, bytes);
    c.brIfTo(misses);
    c.brTo(passes);
    c.end();
    beforeExit?.();
    this.exitHere();
    c.end();
  }
  private plainRamMiss(p: number, bytes: number): void {
    this.inHole(p, bytes);
    this.pastRam(p, bytes);
    this.c.op(Op.I32Or);
  }
  private inHole(p: number, bytes: number): void {
    this.c.get(p).i32(HOLE_START - (bytes - 1)).op(Op.I32Sub).i32(HOLE_SIZE + bytes - 1).op(Op.I32LtU);
  }
  private pastRam(p: number, bytes: number): void {
    this.c.get(p).i32(this.env.ramSize - bytes).op(Op.I32GtU);
  }

  private read(o: Operand): number {
    if (isImmediate(o)) return this.constant(o.imm);
    const c = this.c, v = c.local();
    if (isRegister(o)) { this.loadReg(o.reg, o.bytes); c.set(v); return v; }
    const p = this.physical(this.address(o), o.bytes, false);
    c.get(p).mem(LOAD[o.bytes], this.env.ramBase).set(v);
    return v;
  }

  // For a read-modify-write: the address is computed and checked (for writing) once.
  private locate(o: Operand): number | undefined {
    if (!isMemory(o)) return undefined;
    return this.physical(this.address(o), o.bytes, true);
  }
  private readAt(o: Place, a: number | undefined): number {
    if (a === undefined) return this.read(o);
    const v = this.c.local();
    this.c.get(a).mem(LOAD[o.bytes], this.env.ramBase).set(v);
    return v;
  }
  private writeAt(o: Place, a: number | undefined, value: number): void {
    if (isRegister(o)) { this.storeReg(o.reg, o.bytes, value); return; }
    this.storeMemory(a!, value, o.bytes);
  }
  private write(o: Place, value: number): void { this.writeAt(o, this.locate(o), value); }

  private constant(value: number): number {
    const v = this.c.local();
    this.c.i32(value | 0).set(v);
    return v;
  }

  // ---- leaving the block ---------------------------------------------------------------------
  // Hand control back before the current instruction: flags to the core, EIP, unused budget.
  private exitHere(): void {
    const c = this.c, l = this.env.links;
    this.materialize();
    c.i32(this.ip).globalSet(l.eip);
    this.returnRefunding(this.count - this.index);
  }
  // Return, giving back the budget of the `unexecuted` instructions the block took at entry.
  private returnRefunding(unexecuted: number): void {
    const c = this.c, l = this.env.links;
    c.get(this.budget).i32(unexecuted).op(Op.I32Add).globalSet(l.budget);
    c.brTo(this.exitDepth);
  }

  // ---- instructions ----------------------------------------------------------------------------
  private alu(op: AluOperation, dst: Place, src: Operand): void {
    const info = ALU_OPS[op], writes = EFFECTS[op].writesFirst;
    const c = this.c, bytes = dst.bytes;
    const at = writes ? this.locate(dst) : undefined;
    const a = writes ? this.readAt(dst, at) : this.read(dst);
    const b = this.read(src);
    const res = c.local();
    c.get(a).get(b).op(info.wasm);
    if (info.carryIn) { emitCarry(c, this.knownFlags(), this.env.links); c.op(info.wasm); }
    this.mask(bytes);
    c.set(res);
    if (writes) this.writeAt(dst, at, res);
    this.flags = info.carryIn ? lazyWithCarryIn(info.op as typeof LazyOp.Add | typeof LazyOp.Sub, a, b, res, bytes) : lazy(info.op, a, b, res, bytes);
  }

  private test(dst: Place, src: Operand): void {
    const a = this.read(dst), b = this.read(src), res = this.c.local();
    this.c.get(a).get(b).op(Op.I32And).set(res);
    this.flags = lazy(LazyOp.Logic, a, b, res, dst.bytes);
  }

  private incDec(o: Place, decrement: boolean): void {
    const c = this.c;
    const carry = c.local();
    emitCarry(c, this.knownFlags(), this.env.links);
    c.set(carry);
    const at = this.locate(o);
    const a = this.readAt(o, at);
    const one = this.constant(1);
    const res = c.local();
    c.get(a).i32(1).op(decrement ? Op.I32Sub : Op.I32Add);
    this.mask(o.bytes);
    c.set(res);
    this.writeAt(o, at, res);
    this.flags = lazy(decrement ? LazyOp.Sub : LazyOp.Add, a, one, res, o.bytes, carry);
  }

  private imul(dst: number, a: number, b: number): void {
    const c = this.c, res = c.local(), overflow = c.local();
    const product = () => c.get(a).op(Op.I64ExtendI32S).get(b).op(Op.I64ExtendI32S).op(Op.I64Mul);
    product();
    c.op(Op.I32WrapI64).set(res);
    // CF = OF = the product does not fit: it differs from its sign-extended low half
    product();
    c.get(res).op(Op.I64ExtendI32S).op(Op.I64Ne).set(overflow);
    this.storeReg(dst, 4, res);
    this.flags = emitEagerFlags(c, () => c.get(overflow), () => c.get(overflow), res, 4);
  }

  // MUL and IMUL r/m32: EDX:EAX = EAX * src, unsigned or signed; CF = OF = the high half is not
  // the low half's extension, SZP of the low half (undefined on hardware; the interpreter's choice,
  // assembly/cpu/muldiv.ts).
  private mulWide(src: number, signed: boolean): void {
    const c = this.c, eax = c.local(), low = c.local(), high = c.local(), extend = signed ? Op.I64ExtendI32S : Op.I64ExtendI32U;
    this.loadReg(EAX, 4);
    c.set(eax);
    const product = () => c.get(eax).op(extend).get(src).op(extend).op(Op.I64Mul);
    product(); c.op(Op.I32WrapI64).set(low);
    product(); c.i64(32).op(Op.I64ShrU).op(Op.I32WrapI64).set(high);
    this.storeReg(EAX, 4, low);
    this.storeReg(EDX, 4, high);
    const overflow = () => {
      c.get(high);
      if (signed) c.get(low).i32(31).op(Op.I32ShrS); else c.i32(0);
      c.op(Op.I32Ne);
    };
    this.flags = emitEagerFlags(c, overflow, overflow, low, 4);
  }

  // DIV r/m32: EAX, EDX = EDX:EAX / src, % src; flags unchanged. A zero divisor or a quotient that
  // does not fit (EDX >= src) leaves the block before it, for the interpreter to raise #DE. One
  // division, of 32 bits when EDX is 0 (C's unsigned division: `xor %edx,%edx; div`); the
  // remainder is EAX - quotient * src, exact in 32 bits as it is below src (V8 does not fold a
  // division and a remainder of the same operands into one: two 64-bit ones were the cost).
  private div(src: number): void {
    const c = this.c, eax = c.local(), edx = c.local(), quotient = c.local(), remainder = c.local();
    this.loadReg(EDX, 4);
    c.tee(edx).get(src).op(Op.I32GeU).ifThen();
    this.exitHere();
    c.end();
    this.loadReg(EAX, 4);
    c.set(eax);
    c.get(edx).op(Op.I32Eqz).ifI32();
    c.get(eax).get(src).op(Op.I32DivU);
    c.orElse();
    c.get(edx).op(Op.I64ExtendI32U).i64(32).op(Op.I64Shl).get(eax).op(Op.I64ExtendI32U).op(Op.I64Or);
    c.get(src).op(Op.I64ExtendI32U).op(Op.I64DivU).op(Op.I32WrapI64);
    c.end();
    c.tee(quotient).get(src).op(Op.I32Mul).set(remainder);
    c.get(eax).get(remainder).op(Op.I32Sub).set(remainder);
    this.storeReg(EAX, 4, quotient);
    this.storeReg(EDX, 4, remainder);
  }

  // IDIV r/m32 of a dividend that fits in 32 bits, EDX its sign (C's signed division: `cltd;
  // idiv`): EAX, EDX = EAX / src, % src, truncated; flags unchanged. Any other dividend, a zero
  // divisor and the one quotient that does not fit (-2^31 / -1) leave the block before it, for the
  // interpreter (which raises #DE where it must).
  private idiv(src: number): void {
    const c = this.c, eax = c.local(), quotient = c.local(), remainder = c.local();
    this.loadReg(EAX, 4);
    c.tee(eax).i32(31).op(Op.I32ShrS);
    this.loadReg(EDX, 4);
    c.op(Op.I32Ne).get(src).op(Op.I32Eqz).op(Op.I32Or);
    c.get(eax).i32(0x80000000 | 0).op(Op.I32Eq).get(src).i32(-1).op(Op.I32Eq).op(Op.I32And).op(Op.I32Or);
    c.ifThen();
    this.exitHere();
    c.end();
    c.get(eax).get(src).op(Op.I32DivS).tee(quotient).get(src).op(Op.I32Mul).set(remainder);
    c.get(eax).get(remainder).op(Op.I32Sub).set(remainder);
    this.storeReg(EAX, 4, quotient);
    this.storeReg(EDX, 4, remainder);
  }

  private push(value: number): void {
    const c = this.c, sp = c.local();
    this.loadReg(ESP, 4);
    c.i32(4).op(Op.I32Sub).set(sp);
    const at = this.physical(sp, 4, true);
    this.storeMemory(at, value, 4);
    this.storeReg(ESP, 4, sp);
  }

  // POP, or with `from` EBP LEAVE's: ESP = EBP + 4 and the value at EBP.
  private pop(from = ESP): number {
    const c = this.c, sp = c.local(), v = c.local();
    this.loadReg(from, 4);
    c.set(sp);
    c.get(this.physical(sp, 4, false)).mem(Op.I32Load, this.env.ramBase).set(v);
    c.get(sp).i32(4).op(Op.I32Add).set(sp);
    this.storeReg(ESP, 4, sp);
    return v;
  }

  // A store of `bytes` of `value` at physical `at`, checked (physical()) to lie clear of compiled code.
  private storeMemory(at: number, value: number, bytes: number): void {
    this.c.get(at).get(value).mem(STORE[bytes], this.env.ramBase);
  }

  // Hand control back after the current instruction: flags, EIP, unused budget.
  private exitAfter(): void {
    const c = this.c, l = this.env.links;
    this.materialize();
    c.i32(this.next | 0).globalSet(l.eip);
    this.returnRefunding(this.count - this.index - 1);
  }

  // Translate instruction `index` of the block.
  emit(ins: Instruction, index: number): void {
    this.ip = ins.ip;
    this.next = ins.ip + ins.length;
    this.index = index;
    const c = this.c, { op, operands: [first, second, third] } = ins;
    const dst = first as Place, target = () => (first as Immediate).imm;
    if (ins.tail) this.checkTail(ins.tail);
    switch (op) {
      case "add": case "or": case "adc": case "sbb": case "and": case "sub": case "xor": case "cmp": this.alu(op, dst, second); return;
      case "test": this.test(dst, second); return;
      case "inc": case "dec": this.incDec(dst, op === "dec"); return;
      case "not": this.not(dst); return;
      case "neg": this.neg(dst); return;
      case "rol": case "ror": case "rcl": case "rcr": case "shl": case "shr": case "sar": this.group2(op, dst, second); return;
      case "imul": {
        const src = this.read(second);
        if (third) this.imul((dst as Register).reg, src, this.read(third));
        else this.imul((dst as Register).reg, this.read(dst), src);
        return;
      }
      case "mul": case "div": case "imulWide": case "idiv": {
        const src = this.read(dst);
        if (dst.bytes === 4 && (op === "mul" || op === "imulWide")) this.mulWide(src, op === "imulWide");
        else if (dst.bytes === 4 && op === "div") this.div(src);
        else if (dst.bytes === 4 && op === "idiv") this.idiv(src);
        else this.mulDivInCore(MUL_DIV_KINDS[op], src, dst.bytes);
        return;
      }
      case "mov": this.write(dst, this.read(second)); return;
      case "lea": this.storeReg((dst as Register).reg, 4, this.address(second as Memory)); return;
      case "movzx": case "movsx": {
        const v = this.read(second), bytes = (second as Place).bytes;
        if (op === "movsx") c.get(v).op(bytes === 1 ? Op.I32Extend8S : Op.I32Extend16S).set(v);
        this.storeReg((dst as Register).reg, 4, v);
        return;
      }
      case "push": this.push(this.read(first)); return;
      case "pop": { // a memory destination is checked before the stack is read, as access-checks.ts plans it, and before ESP moves
        const at = this.locate(dst);
        this.writeAt(dst, at, this.pop());
        return;
      }
      case "setcc": {
        const v = c.local();
        emitCondition(c, ins.cc!, this.knownFlags(), this.env.links);
        c.set(v);
        this.write(dst, v);
        return;
      }
      case "cmovcc": { // the source is read whatever the condition
        const v = this.read(second), out = c.local();
        c.get(v);
        this.loadReg((dst as Register).reg, 4);
        emitCondition(c, ins.cc!, this.knownFlags(), this.env.links);
        c.op(Op.Select).set(out);
        this.storeReg((dst as Register).reg, 4, out);
        return;
      }
      case "cwde": {
        const v = c.local();
        this.loadReg(EAX, 2); c.op(Op.I32Extend16S).set(v);
        this.storeReg(EAX, 4, v);
        return;
      }
      case "movs": case "stos": case "lods": this.string(dst, second as Place); return;
      case "cld": case "std": { // DF is never lazy: it lives in flagsWord alone
        const l = this.env.links;
        c.globalGet(l.flagsWord);
        if (op === "cld") c.i32(~DF).op(Op.I32And); else c.i32(DF).op(Op.I32Or);
        c.globalSet(l.flagsWord);
        return;
      }
      case "leave": this.storeReg(EBP, 4, this.pop(EBP)); return;
      case "pusha": this.pushAll(); return;
      case "popa": this.popAll(); return;
      case "pushSeg": this.push(this.selector(target())); return;
      case "movSeg": this.loadSegment(target(), second); return;
      case "popSeg": this.loadSegment(target(), undefined); return;
      case "bt": case "bts": case "btr": case "btc": this.bitTest(op, dst, second); return;
      case "shld": case "shrd": this.shiftDouble(op === "shld", dst, second as Register, third); return;
      case "cdq": {
        const v = c.local();
        this.loadReg(EAX, 4); c.i32(31).op(Op.I32ShrS).set(v);
        this.storeReg(EDX, 4, v);
        return;
      }
      case "nop": return;
      case "in": this.portIo(true, dst as Register, second); return;
      case "out": this.portIo(false, second as Register, first); return;
      case "cpuid": this.exit(this.env.links.jitExit, EXIT_CPUID); return;
      case "vmcall": this.exit(this.env.links.jitExit, EXIT_VMCALL); return;
      case "vmxNoOperand": this.exit(this.env.links.jitVmxNoOperand, target()); return;
      case "movToCr3": this.movToCr3(dst as Register); return;
      case "vmread": this.vmAccess(false, (second as Register).reg, (dst as Register).reg, ins.length); return;
      case "vmwrite": this.vmAccess(true, (dst as Register).reg, (second as Register).reg, ins.length); return;
      case "repString": this.repString((first as Immediate).imm, (second as Immediate).imm, ins.length); return;
      case "interpret": this.interpret(ins.length); return;
      // block ends
      case "jcc": this.jcc(ins.cc!, target()); return;
      case "loop": case "jecxz": this.loopOrJecxz(op === "loop", target()); return;
      case "call": {
        const to = isImmediate(first) ? undefined : this.read(first); // read before the push
        this.push(this.constant(this.next));
        if (to === undefined) this.goTo(target()); else this.goToComputed(to, this.computedBlocks(ins), true);
        return;
      }
      case "jmp": if (isImmediate(first)) this.goTo(first.imm); else this.goToComputed(this.read(first), this.computedBlocks(ins), true); return;
      case "ret": this.goToComputed(this.pop(), this.returns); return;
      case "int": this.endInCore(() => c.i32(target()).i32(ins.length), this.env.links.jitSoftwareInterrupt); return;
      case "iret": this.endInCore(() => c.i32(ins.length), this.env.links.jitInterruptReturn); return;
      case "sysenter": case "sysexit":
        this.endInCore(() => c.i32(ins.op === "sysexit" ? 1 : 0).i32(ins.length), this.env.links.jitFastSystemCall);
        return;
    }
  }

  // The bytes a block's last instruction has in the next page (decode.ts), which write tracking
  // does not cover: when they are not those it was compiled from, leave before it, for the
  // interpreter to run what is there now.
  private checkTail(tail: { at: number; bytes: number[] }): void {
    const c = this.c;
    for (let i = 0; i < tail.bytes.length;) {
      const left = tail.bytes.length - i, n = left >= 4 ? 4 : left >= 2 ? 2 : 1;
      const expected = tail.bytes.slice(i, i + n).reduceRight((v, b) => (v << 8) | b, 0);
      c.i32(0).mem(LOAD[n], this.env.ramBase + tail.at + i).i32(expected).op(Op.I32Ne);
      if (i > 0) c.op(Op.I32Or);
      i += n;
    }
    c.ifThen();
    this.exitHere();
    c.end();
  }

  // Group 2. SHL, SHR, SAR, ROL and ROR are compiled (shift.ts); RCL and RCR, which rotate through
  // CF, the core computes with the interpreter's own function, from the flags in its globals and
  // into them (jitShift).
  private group2(op: keyof typeof SHIFT_KINDS, o: Place, count: Operand): void {
    if (isInlineShift(op)) {
      const at = this.locate(o), v = this.readAt(o, at);
      const by: ShiftCount = isImmediate(count) ? { constant: count.imm } : { cl: this.read(count) };
      const { res, flags } = emitShift(this.c, op, v, by, o.bytes, this.knownFlags(), this.env.links);
      this.writeAt(o, at, res);
      this.flags = flags;
      return;
    }
    const n = this.read(count);
    this.modifyInCore(o, (v) => this.c.i32(SHIFT_KINDS[op]).get(v).get(n).i32(o.bytes), this.env.links.jitShift);
  }

  // SHLD and SHRD (32 bits), by the interpreter's own function (jitShiftDouble), as group2's.
  private shiftDouble(left: boolean, o: Place, src: Register, count: Operand): void {
    const s = this.read(src), n = this.read(count);
    this.modifyInCore(o, (v) => this.c.i32(left ? 1 : 0).get(v).get(s).get(n), this.env.links.jitShiftDouble);
  }

  // Read-modify-write of `o` by core function `fn`, its arguments pushed by `args` given the value
  // read: it takes the flags from the core's globals and leaves them there.
  private modifyInCore(o: Place, args: (value: number) => void, fn: number): void {
    const c = this.c, at = this.locate(o);
    const v = this.readAt(o, at), res = c.local();
    this.materialize();
    args(v);
    this.callCore(fn).set(res);
    this.flags = { kind: "unknown" };
    this.writeAt(o, at, res);
  }

  // BT, BTS, BTR, BTC (32 bits): CF = the bit, the other flags unchanged (as the interpreter leaves
  // the undefined ones). With a register offset a memory operand is the dword the offset's high
  // bits select, signed, from the operand's address (access-checks.ts checks it alone).
  private bitTest(op: "bt" | "bts" | "btr" | "btc", o: Place, offset: Operand): void {
    const c = this.c, bit = c.local();
    if (isImmediate(offset)) c.i32(offset.imm & 31).set(bit);
    else { this.loadReg((offset as Register).reg, 4); c.i32(31).op(Op.I32And).set(bit); }
    let at: number | undefined;
    if (isMemory(o)) {
      const a = this.address(o);
      if (isRegister(offset)) { c.get(a); this.loadReg(offset.reg, 4); c.i32(5).op(Op.I32ShrS).i32(2).op(Op.I32Shl).op(Op.I32Add).set(a); }
      at = this.physical(a, 4, op !== "bt");
    }
    const v = this.readAt(o, at), flags = c.local();
    emitArithFlags(c, this.knownFlags(), this.env.links);
    c.i32(~CF).op(Op.I32And).get(v).get(bit).op(Op.I32ShrU).i32(1).op(Op.I32And).op(Op.I32Or).set(flags);
    this.flags = { kind: "eager", flags };
    if (op === "bt") return;
    const res = c.local();
    c.get(v).i32(1).get(bit).op(Op.I32Shl);
    if (op === "btr") c.i32(-1).op(Op.I32Xor);
    c.op(op === "bts" ? Op.I32Or : op === "btr" ? Op.I32And : Op.I32Xor).set(res);
    this.writeAt(o, at, res);
  }

  // PUSHA: the eight registers below ESP, EAX highest, ESP as it was; one check covers the 32 bytes.
  private pushAll(): void {
    const c = this.c, sp = c.local(), low = c.local();
    this.loadReg(ESP, 4);
    c.tee(sp).i32(32).op(Op.I32Sub).set(low);
    const at = this.physical(low, 32, true);
    for (let r = 0; r < 8; r++) {
      const slot = c.local(), value = r === ESP ? sp : c.local();
      c.get(at).i32(28 - 4 * r).op(Op.I32Add).set(slot);
      if (r !== ESP) { this.loadReg(r, 4); c.set(value); }
      this.storeMemory(slot, value, 4); // each tracked as a store of its own
    }
    this.storeReg(ESP, 4, low);
  }

  // POPA: the registers PUSHA stored, but for ESP's slot, which is skipped.
  private popAll(): void {
    const c = this.c, sp = c.local();
    this.loadReg(ESP, 4);
    c.set(sp);
    const at = this.physical(sp, 32, false);
    for (let r = 0; r < 8; r++) {
      if (r === ESP) continue;
      const v = c.local();
      c.get(at).mem(Op.I32Load, this.env.ramBase + 28 - 4 * r).set(v);
      this.storeReg(r, 4, v);
    }
    c.get(sp).i32(32).op(Op.I32Add).set(sp);
    this.storeReg(ESP, 4, sp);
  }

  // A segment register's selector (PUSH Sreg), from the VMCS guest state where the core keeps it.
  private selector(sreg: number): number {
    const v = this.c.local();
    this.c.i32(0).mem(Op.I32Load, this.env.regs - G_REGS + G_SEG + sreg * SEG_STRIDE + SEG_SEL).set(v);
    return v;
  }

  // MOV Sreg, r/m16 (the selector read here) and POP Sreg of DS, ES, FS or GS, by the core with
  // the interpreter's checks (jitLoadSegment). In flat code the block goes on; it ends when the load
  // faulted, exited, or left a segment compiled code cannot run with. No flag changes. At CPL 0 a
  // kernel's entry and exit path reloads flat selectors: that load is made here when it is one
  // (flatSegmentLoad), and by the core otherwise.
  private loadSegment(sreg: number, selector: Operand | undefined): void {
    const c = this.c, value = selector === undefined ? this.constant(0) : this.read(selector);
    this.beforeCore();
    const inline = this.env.cpl === 0;
    if (inline) {
      c.get(this.flatSegmentLoad(sreg, selector === undefined ? undefined : value)).op(Op.I32Eqz).ifThen();
    }
    c.i32(sreg).get(value).i32(selector === undefined ? 1 : 0).i32(this.next - this.ip).get(this.entry);
    this.callCore(this.env.links.jitLoadSegment);
    this.endIfCoreSaysSo();
    if (inline) c.end();
  }

  // A load of DS, ES, FS or GS at CPL 0 that the interpreter (assembly/cpu/protected.ts
  // loadSegment) would make without a fault, a write or a mode change, made inline: protected mode;
  // the selector (`value`, or with POP the dword at ESP, which then moves) not null, in the GDT
  // within its limit, RPL not 1 (the classic IF mode rewrites that one) and at most the DPL; the
  // descriptor, in plain RAM through the TLB, a present, accessed, writable expand-up data segment
  // of base 0 and limit 4 GiB; the register flat before it too (so the flat mask stays). The
  // segment's fields are written as setSegment() writes them. Answers a local: 1 if it was made.
  private flatSegmentLoad(sreg: number, value: number | undefined): number {
    const c = this.c, env = this.env, vmcs = env.regs - G_REGS, seg = vmcs + G_SEG + sreg * SEG_STRIDE;
    const done = c.local(), sel = c.local(), sp = c.local(), entry = c.local(), hi = c.local();
    c.i32(0).set(done);
    // A range of `bytes` at linear `at` in plain RAM: its offset in RAM on the stack, under an if
    // that the caller ends (no access faults or leaves the block here).
    const readable = (at: number, bytes: number) => {
      if (env.paging) {
        const { ok, p } = this.tlbProbe(at, bytes, false);
        c.get(ok).ifThen();
        return p;
      }
      this.plainRamMiss(at, bytes);
      c.op(Op.I32Eqz).ifThen();
      return at;
    };
    if (value === undefined) {
      c.i32(0).set(sel);
      this.loadReg(ESP, 4);
      c.set(sp);
      c.get(readable(sp, 4)).mem(Op.I32Load16U, env.ramBase).set(sel);
      c.end();
    } else {
      c.get(value).i32(0xffff).op(Op.I32And).set(sel);
    }
    // protected mode, a GDT selector, not null, RPL not 1, within the limit
    c.i32(0).mem(Op.I32Load, vmcs + G_CR0).i32(1).op(Op.I32And);
    c.get(sel).i32(0xfffc).op(Op.I32And).i32(0).op(Op.I32Ne).op(Op.I32And);
    c.get(sel).i32(4).op(Op.I32And).op(Op.I32Eqz).op(Op.I32And);
    c.get(sel).i32(3).op(Op.I32And).i32(1).op(Op.I32Ne).op(Op.I32And);
    c.get(sel).i32(0xfff8).op(Op.I32And).i32(7).op(Op.I32Add).i32(0).mem(Op.I32Load, vmcs + G_GDTR_LIMIT).op(Op.I32LeU).op(Op.I32And);
    // the register flat now: usable, present, writable expand-up data, base 0, limit 4 GiB
    c.i32(0).mem(Op.I32Load, seg + SEG_AR).i32(AR_UNUSABLE | 0x9e).op(Op.I32And).i32(0x92).op(Op.I32Eq).op(Op.I32And);
    c.i32(0).mem(Op.I32Load, seg + SEG_BASE).op(Op.I32Eqz).op(Op.I32And);
    c.i32(0).mem(Op.I32Load, seg + SEG_LIMIT).i32(-1).op(Op.I32Eq).op(Op.I32And);
    c.ifThen();
    c.get(sel).i32(0xfff8).op(Op.I32And).i32(0).mem(Op.I32Load, vmcs + G_GDTR_BASE).op(Op.I32Add).set(entry);
    const p = readable(entry, 8);
    c.get(p).mem(Op.I32Load, env.ramBase + 4).set(hi);
    // low dword: limit 15:0 all ones, base 15:0 zero; high: base bytes zero, limit 19:16 all ones,
    // G, P, S, type 3 (data, writable, accessed, expand-up); DPL >= RPL
    c.get(p).mem(Op.I32Load, env.ramBase).i32(0xffff).op(Op.I32Eq);
    c.get(hi).i32(0xff8f9fff | 0).op(Op.I32And).i32(0x008f9300).op(Op.I32Eq).op(Op.I32And);
    c.get(hi).i32(13).op(Op.I32ShrU).i32(3).op(Op.I32And).get(sel).i32(3).op(Op.I32And).op(Op.I32GeU).op(Op.I32And);
    c.ifThen();
    c.i32(0).get(sel).mem(Op.I32Store, seg + SEG_SEL);
    c.i32(0).i32(0).mem(Op.I32Store, seg + SEG_BASE);
    c.i32(0).i32(-1).mem(Op.I32Store, seg + SEG_LIMIT);
    c.i32(0).get(hi).i32(8).op(Op.I32ShrU).i32(0xf0ff).op(Op.I32And).mem(Op.I32Store, seg + SEG_AR);
    if (value === undefined) {
      c.get(sp).i32(4).op(Op.I32Add).set(sp);
      this.storeReg(ESP, 4, sp);
    }
    c.i32(1).set(done);
    c.end();
    c.end(); // readable
    c.end();
    return done;
  }

  // INT n and IRET end their block in the core, which sets EIP (and delivers a fault or exit
  // itself or leaves it to the run loop); runBlocks() goes on from there.
  // (The core owns the budget and the registers from the call on: nothing is written back after it.)
  private endInCore(args: () => void, fn: number): void {
    this.beforeCore();
    args();
    this.budgetToCore();
    this.registersToCore();
    this.c.call(fn).op(Op.Drop).op(Op.Return);
  }

  // MUL, IMUL, DIV and IDIV of EDX:EAX (DX:AX, AX) by `src`, by the interpreter's functions
  // (jitMulDiv); a divide error is raised there and ends the block, as for an exit.
  private mulDivInCore(kind: number, src: number, bytes: number): void {
    const c = this.c;
    this.beforeCore();
    c.i32(kind).get(src).i32(bytes);
    this.callCore(this.env.links.jitMulDiv);
    this.endIfCoreSaysSo();
    this.flags = { kind: "unknown" };
  }

  // MOVS, STOS, LODS without REP: one element, then ESI and EDI step by its size, back when DF is
  // set (DF is in the core's flagsWord, where CLD and STD, compiled or not, write it).
  private string(dst: Place, src: Place): void {
    const c = this.c, bytes = dst.bytes, step = c.local();
    this.write(dst, this.read(src));
    c.i32(-bytes).i32(bytes).globalGet(this.env.links.flagsWord).i32(DF).op(Op.I32And).op(Op.Select).set(step);
    for (const o of [dst, src]) {
      if (!isMemory(o)) continue;
      const index = c.local();
      this.loadReg(o.base, 4); c.get(step).op(Op.I32Add).set(index);
      this.storeReg(o.base, 4, index);
    }
  }

  private not(o: Place): void {
    const c = this.c, at = this.locate(o);
    const a = this.readAt(o, at), res = c.local();
    c.get(a).i32(-1).op(Op.I32Xor).set(res);
    this.writeAt(o, at, res);
  }

  private neg(o: Place): void {
    const c = this.c, at = this.locate(o);
    const a = this.readAt(o, at), res = c.local();
    const zero = this.constant(0);
    c.i32(0).get(a).op(Op.I32Sub);
    this.mask(o.bytes);
    c.set(res);
    this.writeAt(o, at, res);
    this.flags = lazy(LazyOp.Sub, zero, a, res, o.bytes);
  }

  // Jcc, LOOP, JECXZ: `condition` pushes 1 to take the branch, 0 not to.
  private conditionalJump(target: number, condition: () => void): void {
    const c = this.c, l = this.env.links, taken = c.local();
    condition();
    c.set(taken);
    if (this.carrying || this.flagsUnlooked(target) || this.flagsUnlooked(this.next)) { // each way materialises, carries or skips the flags itself (goTo)
      const flags = this.flags;
      c.get(taken).ifThen();
      this.goTo(target);
      c.end();
      this.flags = flags;
      this.goTo(this.next);
      return;
    }
    this.materialize();
    this.flags = { kind: "unknown" };
    if (this.numbers.has(target >>> 0) || this.numbers.has(this.next >>> 0)) {
      c.get(taken).ifThen();
      this.goTo(target);
      c.end();
      this.goTo(this.next);
      return;
    }
    c.i32(target | 0).i32(this.next | 0).get(taken).op(Op.Select).globalSet(l.eip);
    this.leave();
  }
  private jcc(cc: number, target: number): void {
    this.conditionalJump(target, () => emitCondition(this.c, cc, this.knownFlags(), this.env.links));
  }

  // LOOP (ECX - 1, taken while not 0) and JECXZ (taken when ECX is 0): no flags change.
  private loopOrJecxz(loop: boolean, target: number): void {
    const c = this.c, ecx = c.local();
    this.loadReg(ECX, 4);
    if (loop) c.i32(1).op(Op.I32Sub);
    c.set(ecx);
    if (loop) this.storeReg(ECX, 4, ecx);
    this.conditionalJump(target, () => {
      c.get(ecx).op(Op.I32Eqz); // JECXZ's condition
      if (loop) c.op(Op.I32Eqz); // LOOP's: ECX is not 0
    });
  }

  // IN and OUT: instructions that usually exit to the VMM, and that change nothing a block assumes
  // (mode, segments, paging, IF, TF) nor read the retired-instruction count. The core performs one
  // with all its checks (assembly/jit/helpers.ts jitPortIo) and delivers its exit to the VMM right
  // there; the block goes on unless the VM entry after the handler needs more than the next
  // instruction, or the instruction faulted, so a loop around an exit stays compiled.
  private portIo(input: boolean, accumulator: Register, port: Operand): void {
    const c = this.c, l = this.env.links, immediate = isImmediate(port);
    this.beforeCore();
    if (isImmediate(port)) c.i32(port.imm); else { this.loadReg((port as Register).reg, 4); c.i32(0xffff).op(Op.I32And); }
    const info = (input ? IO_INFO_INPUT : 0) | (accumulator.bytes << IO_INFO_SIZE_SHIFT) | (immediate ? IO_INFO_IMMEDIATE : 0) |
      ((this.next - this.ip) << IO_INFO_LENGTH_SHIFT);
    c.i32(info).i32(this.count - this.index - 1).get(this.entry);
    this.callCore(l.jitPortIo);
    this.endIfCoreSaysSo();
  }
  // CPUID and VMCALL, which always exit: the exit itself (jitExit, `what` the reason), delivered
  // the same way; VMLAUNCH, VMRESUME and VMXOFF likewise (jitVmxNoOperand, `what` the ModR/M's rm),
  // after the core's #UD checks.
  private exit(fn: number, what: number): void {
    const c = this.c;
    this.beforeCore();
    c.i32(what).i32(this.next - this.ip).i32(this.count - this.index - 1).get(this.entry);
    this.callCore(fn);
    this.endIfCoreSaysSo();
  }
  // The core takes over at this instruction: flags and EIP in its globals. IN, OUT, CPUID and
  // VMCALL change no flag, and the block goes on only if the VMM's handler left EFLAGS alone, so
  // the block's own view of the flags still holds after them (interpret() forgets it).
  private beforeCore(): void {
    this.materialize();
    this.c.i32(this.ip | 0).globalSet(this.env.links.eip);
  }
  // With the core's nonzero answer on the stack, the block ends, EIP where the core left it.
  private endIfCoreSaysSo(): void {
    this.c.ifThen();
    this.returnRefunding(this.count - this.index - 1);
    this.c.end();
  }

  // MOV CR3, r32 at CPL 0, the address-space switch of a guest kernel's scheduler. The core
  // (assembly/jit/helpers.ts jitLoadCr3) completes it when it needs no exit (a CR3-target hit, say) and
  // says whether this block's own page still maps to the same frame: then the block goes on, in
  // the new address space's TLB bank; else it ends after the MOV. When the MOV must exit, the
  // block leaves before it and the interpreter performs the exit.
  private movToCr3(src: Register): void {
    const c = this.c, l = this.env.links, result = c.local();
    this.loadReg(src.reg, 4);
    c.i32(this.env.eip & ~0xfff).i32(this.env.physical & ~0xfff);
    this.callCore(l.jitLoadCr3).set(result);
    c.get(result).op(Op.I32Eqz).ifThen();
    this.exitHere();
    c.end();
    c.get(result).i32(CR3_SWITCHED_SAME_PAGE).op(Op.I32Ne).ifThen();
    this.exitAfter();
    c.end();
    if (this.env.paging) c.globalGet(l.tlbBank).set(this.tlbBank);
  }

  // An instruction this translator does not compile, `length` bytes: the core's interpreter
  // executes it in place (assembly/jit/helpers.ts jitInterpret) and the block goes on after it,
  // unless the core says the block must end (it branched, faulted, exited, changed the mode...).
  // The core may have changed any flag: from here the block reads them from its globals.
  private interpret(length: number): void {
    const c = this.c;
    this.beforeCore();
    c.i32(length).i32(this.count - this.index - 1).get(this.entry);
    this.callCore(this.env.links.jitInterpret);
    this.endIfCoreSaysSo();
    this.flags = { kind: "unknown" };
  }

  // REP MOVS or REP STOS (`opcode`, elements of `bytes`) by the core's string function
  // (assembly/jit/helpers.ts jitRepString); the block goes on after it unless the budget cut it
  // short, or it faulted, exited or wrote into the block. Neither changes a flag: the block's view of
  // them holds, as after IN and OUT.
  private repString(opcode: number, bytes: number, length: number): void {
    const c = this.c;
    this.beforeCore();
    c.i32(opcode).i32(bytes).i32(length).i32(this.count - this.index - 1).get(this.entry);
    this.callCore(this.env.links.jitRepString);
    this.endIfCoreSaysSo();
  }

  // VMREAD or VMWRITE between registers, `encoding` the one naming the field, `other` the one read
  // or written (assembly/jit/helpers.ts jitVmAccess): a shadowed access completes in the core and
  // the block goes on; anything else the core's interpreter performs, as interpret() does. Either
  // way the core may have written the flags (VMsucceed clears them).
  private vmAccess(write: boolean, encoding: number, other: number, length: number): void {
    const c = this.c;
    this.beforeCore();
    c.i32(write ? 1 : 0).i32((encoding << 3) | other).i32(length).i32(this.count - this.index - 1).get(this.entry);
    this.callCore(this.env.links.jitVmAccess);
    this.endIfCoreSaysSo();
    this.flags = { kind: "unknown" };
  }

  // The block ends before the instruction at `ip`, which it does not hold.
  private endBefore(ip: number): void { this.goTo(ip); }
}

/** The slot of the core's table at `slots` (assembly/jit/indirect-targets.ts) for the indirect branch at `site`. */
export const indirectTargetSlot = (slots: number, site: number) => slots + (site & (INDIRECT_TARGET_SLOTS - 1)) * INDIRECT_TARGET_SIZE;

/**
 * Translate the region entered at env.eip (region.ts). The instruction counts are needed up front
 * (side exits refund the budget of the instructions they skip), so its blocks are first decoded,
 * then translated.
 */
export function translateBlock(env: TranslateEnv): Translation | undefined {
  const region = formRegion(env);
  if (region.length === 0) return undefined;
  const pageCache = env.paging && !region.some((b) => b.instructions.some((i) => EFFECTS[i.op].core));
  const t = new Translator(env, region, pageCache, registersInVmcs(region) ? MEMORY_REGISTERS : NOT_KNOWN_YET);
  t.emitRegion();
  t.finish();
  return { body: t.c, instructions: region[0].instructions.length, blocks: region, inner: [...t.numbers.keys()] };
}
