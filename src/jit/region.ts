// Which blocks the compiling tier puts in one WASM function (a region): the block at the entry's
// EIP and the blocks its direct edges reach, found breadth first, that the guest has run (the core
// counted arrivals there): cold paths and bytes that are not code stay out, so that overlapping
// regions do not compile the same dead code again and again. Inside the function an edge between
// two of them is a `br` to a dispatcher (translate.ts), so a loop split over several blocks, or a
// loop calling a small function, runs without returning to the core's lookup between blocks. A
// region's blocks lie in the entry's page, whose translation the core validated when it entered
// the region, and with paging off (linear = physical, nothing to validate) in at most one other
// page besides (the first other page an edge reaches): a loop calling a function on another page
// (realc's qsort and its comparison function, its string routines) then stays in one function,
// call and RET back. The core tracks writes to every block in both pages
// (assembly/jit/code-pages.ts). A region holds at most PLAIN_REGION_BLOCKS, or
// MAX_REGION_BLOCKS (jit-abi.ts) once it holds a jump table's branch (a compiled switch, whose
// cases are blocks of their own): each block costs compile time and code size whether it runs or
// not. Measured (bench --only realc, A/B, load 11-12): 32 for every region took realc's switch
// from 2.2-3.0x QEMU to 1.3-1.4x but its qsort from 3.2-4.5x to 6.3-9.6x (more time both in
// compiling and in the core's lookup between regions), hence 32 only for jump tables.
import { MAX_REGION_BLOCKS } from "../../assembly/jit-abi.js";
import { type BlockBytes, decodeBlock } from "./decode.js";
import { type Instruction, type Immediate, EFFECTS, isImmediate, isMemory } from "./ir.js";

/** One block of a region: its instructions and where it lies. */
export interface RegionBlock {
  ip: number; // linear address of its first instruction
  physical: number;
  length: number; // bytes in its page
  instructions: Instruction[];
}

/**
 * The region entered at `at.eip`, its first block first; empty when that block cannot be compiled.
 * A block holding a MOV to CR3 may switch address spaces: it is a region of its own (as the entry)
 * or left out (elsewhere), so that after a switch only that block's page check (jitLoadCr3) stands
 * between the new space and compiled code.
 */
/** What region formation knows of the guest's past besides the bytes. */
export interface RegionHints {
  /** Whether the guest has run the block at (linear, physical): only those join a region after its first. */
  reached?: (linear: number, physical: number) => boolean;
  /** Where the indirect CALL or JMP at `site` went last, if known (assembly/jit/indirect-targets.ts). */
  lastIndirectTarget?: (site: number) => number | undefined;
  /**
   * How many blocks the region compiled at (linear, physical) for this mode holds, while it is
   * still compiled in its own cache entry; 0 if there is none (block-compiler.ts).
   */
  compiledRegionBlocks?: (linear: number, physical: number) => number;
}

export function formRegion(at: BlockBytes & RegionHints): RegionBlock[] {
  const first = blockAt(at, at.eip);
  if (!first) return [];
  const region = [first];
  if (holdsCr3Load(first)) return region;
  const seen = new Set([at.eip]);
  let limit = PLAIN_REGION_BLOCKS;
  let secondPage: number | undefined;
  for (let i = 0; i < region.length && region.length < limit; i++) {
    if (endsInJumpTable(region[i], at)) limit = MAX_REGION_BLOCKS;
    const last = region[i].instructions[region[i].instructions.length - 1], next = (last.ip + last.length) >>> 0;
    for (const ip of successors(region[i], at)) {
      const page = ip >>> 12;
      if (seen.has(ip) || region.length >= limit) continue;
      if (page !== at.eip >>> 12 && (at.paging !== false || (secondPage ?? page) !== page)) continue; // a third page, or paging on
      seen.add(ip);
      const physical = physicalOf(at, ip);
      if (at.reached && !at.reached(ip, physical)) continue;
      const callee = last.op === "call" && ip !== next;
      if (!callee && (at.compiledRegionBlocks?.(ip, physical) ?? 0) >= LINKED_REGION_BLOCKS) continue;
      const block = blockAt(at, ip, physical);
      if (!block || holdsCr3Load(block)) continue;
      region.push(block);
      if (page !== at.eip >>> 12) secondPage = page;
    }
  }
  return region;
}

export const PLAIN_REGION_BLOCKS = 16;

/**
 * An edge leaves for a region of at least this many blocks compiled at its target, rather than
 * taking in that region's blocks again (the edge is linked, translate.ts emitLink), unless it is a
 * CALL to its callee: a link costs at every crossing, so only a region of many blocks (an inner
 * loop and what follows it, a jump table's case) is worth it, and a callee, entered and left at
 * every call, stays in its callers' regions (compute's heapsort, whose sift-down of 8 blocks is
 * called 375 000 times from two loops, took 5-10 % longer linking to it). Measured (bench --only
 * '^compute|^realc', 7 alternating runs against taking every block in, medians, load 0.9-1.7):
 * realc's switch 104 -> 92 ms, matmul 117 -> 104, qsort 189 -> 183, its total 1119 -> 1079;
 * compute 147 -> 127 blocks compiled, its time within noise (176 -> 178 ms). With every size (1)
 * string and muldiv took 4-7 % longer: a small region at a loop's head (str_len's one-block
 * loop, compiled first) then costs a link at every call of the function around it.
 */
const LINKED_REGION_BLOCKS = 8;

/** Where linear `ip` lies in guest RAM: in the region's page, or with paging off its linear address. */
const physicalOf = (at: BlockBytes, ip: number): number => at.physical + (ip - at.eip);

function blockAt(at: BlockBytes, ip: number, physical = physicalOf(at, ip)): RegionBlock | undefined {
  const instructions = decodeBlock({ code: at.code, eip: ip, physical, cpl: at.cpl, paging: at.paging }); // (not a copy of all `at` holds)
  if (instructions.length === 0) return undefined;
  const last = instructions[instructions.length - 1];
  // (what write tracking covers: not a last instruction's tail in the next page, decode.ts)
  return { ip, physical, length: last.ip + last.length - (last.tail?.bytes.length ?? 0) - ip, instructions };
}

const holdsCr3Load = (b: RegionBlock) => b.instructions.some((i) => i.op === "movToCr3");

/**
 * The blocks an edge may branch to inside the region's function, by address: all of them, unless
 * the first holds a MOV to CR3 (its page and TLB bank would have to be checked again before every
 * round; it leaves instead, and the core validates the entry anew).
 */
export function innerTargets(region: readonly RegionBlock[]): Map<number, number> {
  const targets = new Map<number, number>();
  if (!holdsCr3Load(region[0])) region.forEach((b, k) => targets.set(b.ip >>> 0, k));
  return targets;
}

/** Of those, the return addresses of the region's CALLs: where its RETs look for a block to stay in. */
export function returnPoints(region: readonly RegionBlock[], targets: ReadonlyMap<number, number>): Map<number, number> {
  const points = new Map<number, number>();
  for (const b of region) {
    const last = b.instructions[b.instructions.length - 1], next = (last.ip + last.length) >>> 0;
    const k = targets.get(next);
    if (last.op === "call" && k !== undefined) points.set(next, k);
  }
  return points;
}

/**
 * Where control may go after the block, as far as its bytes say: a branch's direct target and its
 * fall-through; after a CALL, its return address too, where the callee's RET (a dynamic target)
 * most often comes back; after a JMP or CALL through a table, the table's entries in the page.
 */
function successors(b: RegionBlock, at: BlockBytes & RegionHints): number[] {
  const last = b.instructions[b.instructions.length - 1], next = (last.ip + last.length) >>> 0;
  if (!EFFECTS[last.op].branch) return [next];
  const target = last.operands[0];
  const direct = target !== undefined && isImmediate(target) ? [(target as Immediate).imm >>> 0] : computedTargets(last, at);
  switch (last.op) {
    case "jcc": case "loop": case "jecxz": case "call": return [...direct, next];
    case "jmp": return direct;
    default: return []; // RET; INT and IRET, which end in the core
  }
}

const MAX_TABLE_ENTRIES = 64;

function endsInJumpTable(b: RegionBlock, at: BlockBytes): boolean {
  return tableTargets(b.instructions[b.instructions.length - 1], at).length > 0;
}

/**
 * Where a JMP or CALL with a computed target may go, as far as is known at compile time: the
 * entries of its jump table in its page (tableTargets), or else where it went last (a function
 * pointer called in a loop mostly calls the same function), in its page or, with paging off, in
 * another (formRegion admits one other page). Guesses: the branch compares the target it computes
 * with those that joined the region (translate.ts).
 */
export function computedTargets(branch: Instruction, at: BlockBytes & RegionHints): number[] {
  if ((branch.op !== "jmp" && branch.op !== "call") || isImmediate(branch.operands[0])) return [];
  const table = tableTargets(branch, at);
  if (table.length > 0) return table;
  const last = at.lastIndirectTarget?.(branch.ip >>> 0);
  return last !== undefined && (at.paging === false || last >>> 12 === branch.ip >>> 12) ? [last >>> 0] : [];
}

/**
 * The addresses a JMP or CALL through a table (`jmp *table(,%reg,4)`, as compilers emit a switch)
 * may go to in its own page, read from the table as it is now: its entries from the first on,
 * while they point into that page. Only with paging off, where the table's linear address is its
 * physical one. They are a guess: the table may change, so a branch compares the target it loads
 * with them before it stays in the region (translate.ts).
 */
function tableTargets(branch: Instruction, at: BlockBytes): number[] {
  const [table] = branch.operands;
  if (at.paging || (branch.op !== "jmp" && branch.op !== "call") || table === undefined || !isMemory(table)) return [];
  if (table.base >= 0 || table.index < 0 || table.scale !== 2 || table.bytes !== 4) return [];
  const page = branch.ip >>> 12, targets: number[] = [];
  for (let i = 0; i < MAX_TABLE_ENTRIES; i++) {
    const p = (table.disp >>> 0) + 4 * i;
    if (p + 4 > at.code.length) break;
    const entry = (at.code[p] | (at.code[p + 1] << 8) | (at.code[p + 2] << 16) | (at.code[p + 3] << 24)) >>> 0;
    if (entry >>> 12 !== page) break;
    if (!targets.includes(entry)) targets.push(entry);
  }
  return targets;
}
