// The host half of the compiling tier (see assembly/jit/block-cache.ts for the core half): when the core
// finds a hot block it calls compile(); we translate the block to a WASM function, instantiate
// it against the core's memory, globals and helpers, put it in the core's function table and
// fill the block-cache entry (instruction count and length). The core then enters the block with
// call_indirect and never calls us again for it, until a write into its bytes (or another block
// taking its cache entry) forgets it.
import { VMCS_BASE, G_REGS } from "../../assembly/vmcs-layout.js";
import {
  JIT_GLOBALS, JIT_FUNCTIONS, BLOCK_INSTRUCTIONS, BLOCK_MODE, BLOCK_REGION_BLOCKS, BLOCK_MODE_PAGING,
  BLOCK_MODE_CPL_SHIFT, BLOCK_CACHE_ENTRIES, BLOCK_ENTRY_SIZE, REGION_BLOCKS_OFFSET, REGION_BLOCKS_STRIDE,
  INDIRECT_TARGETS_OFFSET, BLOCK_SECOND_PAGE, REGION_BLOCK_IN_SECOND_PAGE,
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

/** A translated region's WASM module: one function, linked to the core's globals and helpers it imports. */
export function regionModule(t: Translation, imports: RegionImports): WebAssembly.Module {
  return new WebAssembly.Module(encodeModule({ globals: imports.globals, functions: imports.functions, body: t.body }));
}

export class BlockCompiler {
  private readonly firstSlot: number;
  private readonly imports: WebAssembly.Imports;
  compiled = 0; // functions (regions)
  regionBlocks = 0; // blocks they hold beyond their first

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
    const indirectTargets = core.blockCacheBase() + INDIRECT_TARGETS_OFFSET;
    const imports = new RegionImports();
    const t = translateBlock({
      code: ram, eip: linearEip, physical, paging: (mode & BLOCK_MODE_PAGING) !== 0, cpl: mode >> BLOCK_MODE_CPL_SHIFT,
      ramBase: core.ramBase(), ramSize: core.ramSize(), codePageMasks: core.codePageMasks(), regs: VMCS_BASE + G_REGS, entry, links: imports.links,
      reached: (linear, p) => core.blockReached(linear, p, mode) !== 0,
      regionLinks: { blockCache: core.blockCacheBase(), get link() { return imports.link; } }, indirectTargets, lastIndirectTarget: (site) => lastIndirectTarget(core, indirectTargets, site),
    });
    if (!t) return 0;
    const run = new WebAssembly.Instance(regionModule(t, imports), this.imports).exports.run as () => void;
    const index = (entry - core.blockCacheBase()) / BLOCK_ENTRY_SIZE;
    const slot = this.firstSlot + index;
    core.table.set(slot, run);
    const view = new DataView(core.memory.buffer);
    view.setUint8(entry + BLOCK_INSTRUCTIONS, t.instructions);
    view.setUint8(entry + BLOCK_REGION_BLOCKS, t.blocks.length);
    // where each block lies, for the core's write tracking (jit-abi.ts REGION_BLOCKS_OFFSET, BLOCK_SECOND_PAGE)
    const blocks = core.blockCacheBase() + REGION_BLOCKS_OFFSET + index * REGION_BLOCKS_STRIDE;
    const page = physical >>> 12, second = t.blocks.find((b) => b.physical >>> 12 !== page)?.physical;
    view.setUint32(entry + BLOCK_SECOND_PAGE, second === undefined ? 0 : (second >>> 12) + 1, true);
    t.blocks.forEach((b, i) => {
      const where = (b.physical & 0xfff) | (b.physical >>> 12 === page ? 0 : REGION_BLOCK_IN_SECOND_PAGE);
      view.setUint32(blocks + 4 * i, where | (b.length << 16), true);
    });
    this.compiled++;
    this.regionBlocks += t.blocks.length - 1;
    return slot;
  }
}

/** Where the indirect branch at `site` went last, from the core's table at `slots` (assembly/jit/indirect-targets.ts). */
function lastIndirectTarget(core: CoreExports, slots: number, site: number): number | undefined {
  const view = new DataView(core.memory.buffer), slot = indirectTargetSlot(slots, site);
  return view.getUint32(slot, true) === site >>> 0 ? view.getUint32(slot + 4, true) : undefined;
}
