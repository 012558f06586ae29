// The bare guest CPU as the fuzzer drives it: build/core.wasm compiled once, a fresh instance per
// case (nothing carries over from one case to the next), the compiling tier attached as the VMM
// attaches it, and the layout facts the isolation checks need: where the core's initialised data
// (its read-only tables) lies, read from the module's data section.
import { readFileSync } from "node:fs";
import { VMCS_BASE, VMCS_SIZE } from "../../assembly/vmcs-layout.js";
import { bareCoreImports, type ExitHandler } from "../core/core.js";
import { checkCoreExports, type CoreExports } from "../core/core-exports.js";
import { Vmcs } from "../core/vmcs.js";
import { BlockCompiler } from "../jit/block-compiler.js";
import { packageFileUrl } from "../package-files.js";
import { programFieldTable } from "../vmm/nested/vmcs-shadowing.js";

export interface CoreModule {
  module: WebAssembly.Module;
  /** [start, end) of every active data segment: tables the core only reads. */
  dataSegments: [number, number][];
}

export function loadCoreModule(path: URL | string = packageFileUrl("build/core.wasm")): CoreModule {
  const bytes = new Uint8Array(readFileSync(path));
  return { module: new WebAssembly.Module(bytes), dataSegments: activeDataSegments(bytes) };
}

/** A fresh core with `ramBytes` of RAM. */
export class BareCore {
  readonly exports: CoreExports;
  readonly compiler: BlockCompiler;

  /** `exitHandler`: called by the core at each exit, as the VMM's is (by default run() returns at each). */
  constructor(readonly source: CoreModule, ramBytes: number, exitHandler?: ExitHandler) {
    let compiler: BlockCompiler | undefined;
    const compile = (eip: number, physical: number, entry: number): number => compiler?.compile(eip, physical, entry) ?? 0;
    const instance = new WebAssembly.Instance(source.module, bareCoreImports(compile, exitHandler));
    this.exports = checkCoreExports(instance.exports);
    this.exports.init(ramBytes);
    programFieldTable(this.exports); // as the VMM does: VMCS shadowing is off until a case's controls turn it on
    compiler = new BlockCompiler(this.exports);
    this.compiler = compiler;
  }

  /** All of the core's linear memory (a new view each time: memory may have grown). */
  get bytes(): Uint8Array { return new Uint8Array(this.exports.memory.buffer); }
  get ram(): Uint8Array { return new Uint8Array(this.exports.memory.buffer, this.exports.ramBase(), this.exports.ramSize()); }
  vmcs(offset: number): number { return new Uint32Array(this.exports.memory.buffer, VMCS_BASE + offset, 1)[0]; }
  /** A 64-bit counter (low word at `offset`). */
  vmcs64(offset: number): number { return this.vmcs(offset) + this.vmcs(offset + 4) * 2 ** 32; }
  /** Through the VMM's accessor, so the write clears its clean-fields bit as the VMM's writes do. */
  setVmcs(offset: number, value: number): void { new Vmcs(new Int32Array(this.exports.memory.buffer, VMCS_BASE, VMCS_SIZE >> 2)).set(offset, value); }
}

// ---- The data section (WebAssembly binary format, section 11) ----------------------------------
function activeDataSegments(wasm: Uint8Array): [number, number][] {
  let at = 8;
  const leb = (): number => {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = wasm[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  while (at < wasm.length) {
    const id = wasm[at++];
    const size = leb();
    const end = at + size;
    if (id !== 11) { at = end; continue; }
    const segments: [number, number][] = [];
    for (let count = leb(); count > 0; count--) {
      const flags = leb();
      if (flags === 1) { at += leb(); continue; } // passive: not placed in memory
      if (flags === 2) leb(); // memory index
      if (wasm[at++] !== 0x41) throw new Error("core.wasm: a data segment's offset is not an i32.const");
      const offset = leb(); // non-negative offsets only: the segments sit above memoryBase
      at++; // end
      const length = leb();
      segments.push([offset, offset + length]);
      at += length;
    }
    return segments;
  }
  return [];
}
