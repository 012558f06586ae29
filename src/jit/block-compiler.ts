// The host half of the compiling tier (see assembly/jit/block-cache.ts for the core half): when the core
// finds a hot block it calls compile(); we translate the block to a WASM function, instantiate
// it against the core's memory, globals and helpers, put it in the core's function table and
// fill the block-cache entry (instruction count, length and a copy of the bytes). The core then
// enters the block with call_indirect and never calls us again for it.
import { VMCS_BASE, G_REGS } from "../../assembly/vmcs-layout.js";
import { encodeModule } from "./wasm-module.js";
import { translateBlock } from "./translate.js";

/** What the compiling tier needs from the core's exports. */
export interface JitCoreExports {
  readonly memory: WebAssembly.Memory;
  readonly table: WebAssembly.Table;
  ramBase(): number;
  ramSize(): number;
  jitCondition(cc: number): number;
  jitCarry(): number;
  jitEflags(): number;
  jitLoadCr3(value: number, page: number, frame: number): number;
  jitPortIo(port: number, info: number, remaining: number, entry: number): number;
  jitExit(reason: number, length: number, remaining: number, entry: number): number;
  flushCompiledBlocks(): void;
  readonly [global: string]: unknown;
}

const GLOBALS = ["eip", "budget", "flagsWord", "lazyMask", "lfOp", "lfA", "lfB", "lfRes", "lfSign", "tlbBank", "rangeExit"] as const;
const FUNCTIONS = [
  { name: "jitCondition", params: 1, results: 1 }, { name: "jitCarry", params: 0, results: 1 },
  { name: "jitEflags", params: 0, results: 1 }, { name: "jitLoadCr3", params: 3, results: 1 },
  { name: "jitPortIo", params: 4, results: 1 }, { name: "jitExit", params: 4, results: 1 },
];
/** Where each imported global and function sits in a block module's index space. */
export const LINKS = {
  eip: 0, budget: 1, flagsWord: 2, lazyMask: 3, lfOp: 4, lfA: 5, lfB: 6, lfRes: 7, lfSign: 8, tlbBank: 9, rangeExit: 10,
  jitCondition: 0, jitCarry: 1, jitEflags: 2, jitLoadCr3: 3, jitPortIo: 4, jitExit: 5,
};
// Entry fields (assembly/jit/block-cache.ts)
const E_INSTRUCTIONS = 12;
const E_MODE = 13;
const E_LENGTH = 14;
const E_BYTES = 16;
// Table slots for compiled blocks; when they run out every block is forgotten and slots reused.
const MAX_BLOCKS = 16384;

export class BlockCompiler {
  private readonly firstSlot: number;
  private nextSlot: number;
  private readonly imports: WebAssembly.Imports;
  compiled = 0;

  constructor(private readonly core: JitCoreExports) {
    this.firstSlot = core.table.length;
    this.nextSlot = this.firstSlot;
    const linked: Record<string, unknown> = { memory: core.memory };
    for (const f of FUNCTIONS) linked[f.name] = core[f.name];
    for (const g of GLOBALS) linked[g] = core[g];
    this.imports = { core: linked } as WebAssembly.Imports;
  }

  /** The core's jit.compile import: returns the table index of the compiled block, or 0. */
  compile(linearEip: number, physical: number, entry: number): number {
    const core = this.core;
    const ram = new Uint8Array(core.memory.buffer, core.ramBase(), core.ramSize());
    const mode = new Uint8Array(core.memory.buffer)[entry + E_MODE];
    const t = translateBlock({
      code: ram, eip: linearEip, physical, paging: (mode & 1) !== 0, cpl: mode >> 1,
      ramBase: core.ramBase(), ramSize: core.ramSize(), regs: VMCS_BASE + G_REGS, entry, links: LINKS,
    });
    if (!t) return 0;
    const module = new WebAssembly.Module(encodeModule({ globals: GLOBALS, functions: FUNCTIONS, body: t.body }) as Uint8Array<ArrayBuffer>);
    const run = new WebAssembly.Instance(module, this.imports).exports.run as () => void;
    if (this.nextSlot >= this.firstSlot + MAX_BLOCKS) {
      core.flushCompiledBlocks();
      this.nextSlot = this.firstSlot;
    }
    const slot = this.nextSlot++;
    if (slot < core.table.length) core.table.set(slot, run);
    else core.table.grow(1, run);
    const view = new DataView(core.memory.buffer);
    view.setUint8(entry + E_INSTRUCTIONS, t.instructions);
    view.setUint16(entry + E_LENGTH, t.length, true);
    new Uint8Array(core.memory.buffer, entry + E_BYTES, t.length).set(ram.subarray(physical, physical + t.length));
    this.compiled++;
    return slot;
  }
}
