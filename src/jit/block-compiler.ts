// The host half of the compiling tier (see assembly/jit/block-cache.ts for the core half): when the core
// finds a hot block it calls compile(); we translate the block to a WASM function, instantiate
// it against the core's memory, globals and helpers, put it in the core's function table and
// fill the block-cache entry (instruction count and length). The core then enters the block with
// call_indirect and never calls us again for it, until a write into its bytes (or another block
// taking its cache entry) forgets it. A block hot inside a region still compiled is entered in that
// region instead of being compiled again (Region, below).
import { VMCS_BASE, G_REGS } from "../../assembly/vmcs-layout.js";
import {
  JIT_GLOBALS, JIT_FUNCTIONS, BLOCK_INSTRUCTIONS, BLOCK_MODE, BLOCK_REGION_BLOCKS, BLOCK_MODE_PAGING,
  BLOCK_MODE_CPL_SHIFT, BLOCK_CACHE_ENTRIES, BLOCK_ENTRY_SIZE, REGION_BLOCKS_OFFSET, REGION_BLOCKS_STRIDE,
  INDIRECT_TARGETS_OFFSET, REMEMBERED_PAGES_OFFSET, BLOCK_SECOND_PAGE, REGION_BLOCK_IN_SECOND_PAGE, BLOCK_FUNCTION, BLOCK_PHYSICAL,
} from "../../assembly/jit-abi.js";
import type { CoreExports } from "../core/core-exports.js";
import { encodeModule, encodeLinkModule } from "./wasm-module.js";
import { translateBlock, indirectTargetSlot, type Translation } from "./translate.js";
import { RegionImports } from "./region-imports.js";

/**
 * Compiled blocks held at once: one table slot per block-cache entry, so a block compiled into an
 * entry replaces (and lets the host collect) the one it evicts there.
 */
export const MAX_BLOCKS = BLOCK_CACHE_ENTRIES;

/**
 * A translated region's WASM module, linked to the core's globals and helpers it imports: its
 * function, and for each of its blocks an export (`b${k}`) entering it at that block, as the
 * cache entry `entries[k]` (translate.ts: the entry its calls into the core name).
 */
export function regionModule(t: Translation, imports: RegionImports, entries: readonly number[]): WebAssembly.Module {
  const bodyArgs = t.blocks.map((_, k) => [k, entries[k] ?? entries[0]]);
  return new WebAssembly.Module(encodeModule({ globals: imports.globals, functions: imports.functions, body: t.body, entries: bodyArgs }));
}

/**
 * A compiled region, for entries at its other blocks: as long as it is still in its cache entry
 * (nothing wrote its blocks, nothing claimed the entry), a block of it that gets hot is entered
 * there (its export b${k}) instead of being compiled again as the first of a region of its own,
 * most of whose blocks would be this region's again (realc's qsort compiled 58 regions, 700
 * blocks, for a function of 52 blocks and its comparison functions).
 */
interface Region {
  generation: number; // (compile() counts them: tells a region from the next one in the same entry)
  entry: number; slot: number; physical: number; mode: number;
  blocks: readonly BlockPlace[];
  exports: WebAssembly.Exports;
}
/** Where a block lies and its instruction count: what an entry's description needs (describe()). */
interface BlockPlace { ip: number; physical: number; length: number; instructions: number }
/**
 * A block of the region compiled into cache entry `index`, remembered by the cache entry its own
 * linear address takes. With paging on, a region's blocks share its first block's page, so the
 * core's check of this block's translation at its own entry (linear to the same physical) is the
 * check the region's entry made. By index and generation, not the region
 * itself: a region replaced in its entry is then held by nothing of ours (a WeakRef would not do:
 * V8 keeps its target until the synchronous run that made it returns to the event loop).
 */
interface RegionMember { index: number; generation: number; block: number }

export class BlockCompiler {
  private readonly firstSlot: number;
  private readonly imports: WebAssembly.Imports;
  compiled = 0; // functions (regions)
  regionBlocks = 0; // blocks they hold beyond their first
  entered = 0; // blocks entered in a region compiled at another (Region)
  private readonly members: (RegionMember | undefined)[] = new Array(BLOCK_CACHE_ENTRIES);
  private readonly regions: (Region | undefined)[] = new Array(BLOCK_CACHE_ENTRIES); // by entry: the region in its table slot
  private generation = 0;

  /** Guest blocks compiled, in all the functions. */
  blocksCompiled(): number {
    return this.compiled + this.regionBlocks;
  }

  constructor(private readonly core: CoreExports) {
    this.firstSlot = core.table.length;
    core.table.grow(MAX_BLOCKS);
    const link = new WebAssembly.Instance(new WebAssembly.Module(encodeLinkModule()), { core: { table: core.table } }).exports.link;
    const linked: Record<string, unknown> = { memory: core.memory, link };
    for (const name of [...JIT_FUNCTIONS, ...JIT_GLOBALS]) linked[name] = core[name as keyof CoreExports]; // (a region imports those it uses)
    this.imports = { core: linked } as WebAssembly.Imports;
  }

  /** The core's jit.compile import: returns the table index of the compiled block, or 0. */
  compile(linearEip: number, physical: number, entry: number): number {
    const core = this.core;
    const ram = new Uint8Array(core.memory.buffer, core.ramBase(), core.ramSize());
    const mode = new Uint8Array(core.memory.buffer)[entry + BLOCK_MODE];
    const index = this.indexOf(entry);
    const slot = this.firstSlot + index;
    // (called only for an entry with no function: the region it held is gone)
    this.regions[index] = undefined;
    const member = this.liveMember(index, linearEip, physical, mode);
    if (member) {
      core.table.set(slot, member.run);
      this.describe(entry, physical, member.region.blocks, member.region.blocks[member.block].instructions);
      this.entered++;
      return slot;
    }
    const indirectTargets = core.blockCacheBase() + INDIRECT_TARGETS_OFFSET;
    const imports = new RegionImports();
    const t = translateBlock({
      code: ram, eip: linearEip, physical, paging: (mode & BLOCK_MODE_PAGING) !== 0, cpl: mode >> BLOCK_MODE_CPL_SHIFT,
      ramBase: core.ramBase(), ramSize: core.ramSize(), codePageMasks: core.codePageMasks(), regs: VMCS_BASE + G_REGS, links: imports.links,
      reached: (linear, p) => core.blockReached(linear, p, mode) !== 0,
      compiledRegionBlocks: (linear, p) => this.compiledRegionBlocks(linear, p, mode),
      regionLinks: { blockCache: core.blockCacheBase(), get link() { return imports.link; } }, indirectTargets,
      rememberedPages: core.blockCacheBase() + REMEMBERED_PAGES_OFFSET, lastIndirectTarget: (site) => lastIndirectTarget(core, indirectTargets, site),
    });
    if (!t) return 0;
    const entries = t.blocks.map((b) => core.blockCacheEntry(b.ip));
    const exports = new WebAssembly.Instance(regionModule(t, imports, [entry, ...entries.slice(1)]), this.imports).exports;
    core.table.set(slot, exports.b0 as () => void);
    this.describe(entry, physical, t.blocks, t.instructions);
    this.compiled++;
    this.regionBlocks += t.blocks.length - 1;
    const blocks = t.blocks.map((b) => ({ ip: b.ip >>> 0, physical: b.physical, length: b.length, instructions: b.instructions.length }));
    const generation = ++this.generation;
    this.regions[index] = { generation, entry, slot, physical, mode, blocks, exports };
    entries.forEach((e, k) => { if (k > 0 && e !== entry) this.members[this.indexOf(e)] = { index, generation, block: k }; });
    return slot;
  }

  /**
   * The region the block at (linearEip, physical) belongs to, if cache entry `index` remembers one
   * for it, compiled for `mode` and still compiled in its own entry (so its blocks are unwritten
   * since: a write forgets it), and the export entering it at that block; else it forgets it.
   */
  private liveMember(index: number, linearEip: number, physical: number, mode: number): { region: Region; block: number; run: () => void } | undefined {
    const member = this.members[index];
    if (member === undefined) return undefined;
    const r = this.regions[member.index], place = r?.blocks[member.block];
    const live = r !== undefined && r.generation === member.generation && place !== undefined && place.ip === linearEip >>> 0 &&
      place.physical === physical && r.mode === mode && this.inItsEntry(r);
    if (!live) this.members[index] = undefined;
    return live ? { region: r, block: member.block, run: r.exports[`b${member.block}`] as () => void } : undefined;
  }

  /**
   * How many blocks the region compiled for `mode` at (linearEip, physical) holds, if it is still
   * compiled in its own entry; else 0 (region.ts: an edge there may leave for it, linked).
   */
  private compiledRegionBlocks(linearEip: number, physical: number, mode: number): number {
    const r = this.regions[this.indexOf(this.core.blockCacheEntry(linearEip))];
    const live = r !== undefined && r.blocks[0].ip === linearEip >>> 0 && r.physical === physical && r.mode === mode && this.inItsEntry(r);
    return live ? r.blocks.length : 0;
  }

  /** Cache entry `entry`'s index (by which members, regions and table slots are kept). */
  private indexOf(entry: number): number {
    return (entry - this.core.blockCacheBase()) / BLOCK_ENTRY_SIZE;
  }

  /** Whether region `r` is still what its cache entry holds (so its blocks are unwritten since: a write forgets it). */
  private inItsEntry(r: Region): boolean {
    const view = new DataView(this.core.memory.buffer);
    return view.getUint32(r.entry + BLOCK_FUNCTION, true) === r.slot && view.getUint32(r.entry + BLOCK_PHYSICAL, true) === r.physical &&
      view.getUint8(r.entry + BLOCK_MODE) === r.mode && this.core.table.get(r.slot) === r.exports.b0;
  }

  /**
   * Fills cache entry `entry` (of the block at `physical`) for a function holding `blocks`: the
   * instructions of the block it enters at, and where each block lies, for the core's write
   * tracking (jit-abi.ts REGION_BLOCKS_OFFSET, BLOCK_SECOND_PAGE).
   */
  private describe(entry: number, physical: number, blocks: readonly Omit<BlockPlace, "instructions">[], instructions: number): void {
    const core = this.core, view = new DataView(core.memory.buffer);
    view.setUint8(entry + BLOCK_INSTRUCTIONS, instructions);
    view.setUint8(entry + BLOCK_REGION_BLOCKS, blocks.length);
    const at = core.blockCacheBase() + REGION_BLOCKS_OFFSET + this.indexOf(entry) * REGION_BLOCKS_STRIDE;
    const page = physical >>> 12, second = blocks.find((b) => b.physical >>> 12 !== page)?.physical;
    view.setUint32(entry + BLOCK_SECOND_PAGE, second === undefined ? 0 : (second >>> 12) + 1, true);
    blocks.forEach((b, i) => {
      const where = (b.physical & 0xfff) | (b.physical >>> 12 === page ? 0 : REGION_BLOCK_IN_SECOND_PAGE);
      view.setUint32(at + 4 * i, where | (b.length << 16), true);
    });
  }
}

/** Where the indirect branch at `site` went last, from the core's table at `slots` (assembly/jit/indirect-targets.ts). */
function lastIndirectTarget(core: CoreExports, slots: number, site: number): number | undefined {
  const view = new DataView(core.memory.buffer), slot = indirectTargetSlot(slots, site);
  return view.getUint32(slot, true) === site >>> 0 ? view.getUint32(slot + 4, true) : undefined;
}
