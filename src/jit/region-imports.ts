// What one region's module imports: only the core's globals and functions its code uses, numbered
// in the order the translator first asks for them. Under Node 20 a module's compile costs more per
// distinct signature among its imported functions, and the core's helpers and "link" have seven:
// a module with a five-byte body cost 0.5-0.75 ms of the process's CPU importing all of them, 0.2
// ms importing nothing (main thread: 0.25-0.45 ms against 0.2; the rest on V8's threads).
import { JIT_GLOBALS, JIT_I64_GLOBALS, JIT_FUNCTIONS, JIT_FUNCTION_PARAMS } from "../../assembly/jit-abi.js";
import type { ImportedGlobal } from "./wasm-module.js";
import type { CoreExports } from "../core/core-exports.js";

export interface ImportedFunction { name: string; params: number; results: number }

/** The functions a region may import: the core's helpers, then "link" (wasm-module.ts encodeLinkModule), which regions tail-call to go on in another region (translate.ts emitLink). */
export const REGION_FUNCTIONS: readonly ImportedFunction[] = [
  ...JIT_FUNCTIONS.map((name, i) => ({ name, params: JIT_FUNCTION_PARAMS[i], results: 1 })), { name: "link", params: 1, results: 0 },
];
const LINK = REGION_FUNCTIONS.length - 1;

/** Where each imported global and function sits in a region module's index spaces (translate.ts env.links). */
// (Typed by the core's export names: test/jit/abi.test.ts checks every link is one.)
export type Links = Readonly<Record<keyof CoreExports, number>>;

/** The imports of one region's module, made as its translation asks for them. */
export class RegionImports {
  readonly globals: ImportedGlobal[] = [];
  readonly functions: ImportedFunction[] = [];
  private readonly globalIndex = new Int32Array(JIT_GLOBALS.length).fill(-1);
  private readonly functionIndex = new Int32Array(REGION_FUNCTIONS.length).fill(-1);
  /** Each global's and core function's index, imported at the translator's first ask. */
  readonly links: Links = Object.create(LAZY_LINKS, { imports: { value: this } }) as Links;

  /** The index of "link", imported at the first ask. */
  get link(): number { return this.function(LINK); }

  global(i: number): number {
    if (this.globalIndex[i] < 0) {
      const name = JIT_GLOBALS[i];
      this.globalIndex[i] = this.globals.push({ name, i64: JIT_I64_GLOBALS.includes(name) }) - 1;
    }
    return this.globalIndex[i];
  }

  function(i: number): number {
    if (this.functionIndex[i] < 0) this.functionIndex[i] = this.functions.push(REGION_FUNCTIONS[i]) - 1;
    return this.functionIndex[i];
  }
}

// The prototype of every RegionImports' links: a getter per name, defined once.
const LAZY_LINKS: object = {};
JIT_GLOBALS.forEach((name, i) => Object.defineProperty(LAZY_LINKS, name, {
  get(this: { imports: RegionImports }) { return this.imports.global(i); },
}));
JIT_FUNCTIONS.forEach((name, i) => Object.defineProperty(LAZY_LINKS, name, {
  get(this: { imports: RegionImports }) { return this.imports.function(i); },
}));
