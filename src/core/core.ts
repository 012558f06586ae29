// The guest CPU as the VMM sees it: the exports of build/core.wasm (the AssemblyScript core in
// assembly/) and how to instantiate it. This is the VT-x "hardware" of the project: the VMM talks
// to it only through run() (VM entry), the exit handler the core calls at each VM exit
// (setExitHandler), and the VMCS in its linear memory.

import { packageFileUrl } from "../package-files.js";
import { BlockCompiler } from "../jit/block-compiler.js";
import { warmUpCompilingTier } from "../jit/warm-up.js";
import { checkCoreExports, CoreLoadError, type CoreExports } from "./core-exports.js";

export { CoreLoadError, type CoreExports };

/**
 * Called by the core at a VM exit, with the guest state in the VMCS: true resumes the guest (VT-x's
 * VMRESUME), false ends run(). Calling from the core, rather than returning from run() for each
 * exit, lets the guest go on inside the compiled block that exited.
 */
export type ExitHandler = (reason: number) => boolean;

const exitHandlers = new WeakMap<CoreExports, { handler: ExitHandler | undefined }>();

/** Sets the handler the core calls at each VM exit (undefined: run() returns at every exit). */
export function setExitHandler(core: CoreExports, handler: ExitHandler | undefined): void {
  const slot = exitHandlers.get(core);
  if (!slot) throw new CoreLoadError("the guest CPU core was not made by instantiateCore(): it has no exit handler to set");
  slot.handler = handler;
}

/** Host time the compiling tier spent in a core's jit.compile calls, read with a caller's clock. */
export interface CompileTime {
  /** Milliseconds by the clock given to timeCompiles(), since that call. */
  ms: number;
  /** jit.compile calls since then (a region compiled, a block entered in one compiled before, or found not compilable). */
  calls: number;
  /** Of those, the regions compiled, and the guest blocks they hold in all. */
  regions: number;
  blocks: number;
  /** When the last call ended, in ms since timeCompiles() by its clock (0 before the first). */
  lastEndMs: number;
}

/** "R regions holding B blocks compiled in X ms, Y µs a block": what --stats and the bench say of a CompileTime. */
export function describeCompileTime(c: Pick<CompileTime, "regions" | "blocks" | "ms">): string {
  const perBlock = c.blocks > 0 ? `, ${((c.ms * 1000) / c.blocks).toFixed(0)} µs a block` : "";
  return `${c.regions} regions holding ${c.blocks} blocks compiled in ${c.ms.toFixed(1)} ms${perBlock}`;
}

interface CompileTiming { clock: (() => number) | undefined; since: number; time: CompileTime }
const compileTimes = new WeakMap<CoreExports, CompileTiming>();

/**
 * From now on, times every block compile of `core` with `clock` (ms) and returns the running
 * total (the bench's cold start: what of a fresh VM's first exits is compiling the guest's code).
 */
export function timeCompiles(core: CoreExports, clock: () => number): CompileTime {
  const slot = compileTimes.get(core);
  if (!slot) throw new CoreLoadError("the guest CPU core was not made by instantiateCore(): its compiles cannot be timed");
  slot.clock = clock;
  slot.since = clock();
  slot.time = { ms: 0, calls: 0, regions: 0, blocks: 0, lastEndMs: 0 };
  return slot.time;
}

/**
 * The core's imports for compiled blocks and for its exit handler; alone, a bare core's (no VMM,
 * and by default run() returning at every VM exit: the fuzzer and the CPU tests drive it so).
 */
export function bareCoreImports(compile: (eip: number, physical: number, entry: number) => number, exit: ExitHandler = () => false): WebAssembly.Imports {
  // The handler is the import itself (its boolean becomes the i32 the core expects): a call less
  // at every exit, which counts while V8 still runs the VMM's code unoptimised.
  return { jit: { compile }, vmm: { exit } };
}

/** build/core.wasm of this package. */
export const defaultCoreWasmUrl = (): URL => packageFileUrl("build/core.wasm");

/** Thrown out of run() when the core hits an internal assertion (AssemblyScript's abort()). */
export class CoreAbortError extends Error {}

/**
 * Compiles and instantiates the core. `source` is the wasm bytes, a file URL/path (by default
 * build/core.wasm of this package), or the core already compiled by compileCore().
 */
export async function instantiateCore(source: BufferSource | WebAssembly.Module | URL | string = defaultCoreWasmUrl()): Promise<CoreExports> {
  const module = source instanceof WebAssembly.Module ? source : await compileCore(isBufferSource(source) ? source : await readWasmFile(source));
  let memory: WebAssembly.Memory | undefined;
  let compiler: BlockCompiler | undefined;
  const timing: CompileTiming = { clock: undefined, since: 0, time: { ms: 0, calls: 0, regions: 0, blocks: 0, lastEndMs: 0 } };
  const compile = (eip: number, physical: number, entry: number): number => {
    if (compiler === undefined) return 0;
    const clock = timing.clock;
    if (clock === undefined) return compiler.compile(eip, physical, entry);
    const start = clock(), blocksBefore = compiler.blocksCompiled(), regionsBefore = compiler.compiled;
    const slot = compiler.compile(eip, physical, entry);
    const end = clock(), time = timing.time;
    time.ms += end - start;
    time.calls++;
    time.regions += compiler.compiled - regionsBefore; // (not a block entered in a region compiled before)
    time.blocks += compiler.blocksCompiled() - blocksBefore;
    time.lastEndMs = end - timing.since;
    return slot;
  };
  const exitSlot: { handler: ExitHandler | undefined } = { handler: undefined };
  const exit: ExitHandler = (reason) => {
    const handler = exitSlot.handler;
    return handler !== undefined && handler(reason);
  };
  const instance = await WebAssembly.instantiate(module, coreImports(module, () => memory, compile, exit));
  const exports = checkCoreExports(instance.exports);
  memory = exports.memory;
  compiler = new BlockCompiler(exports);
  exitHandlers.set(exports, exitSlot);
  compileTimes.set(exports, timing);
  return exports;
}

let compilingTierWarm = false;

/**
 * Compiles the core's bytes once, for any number of instantiateCore() calls (each a new VM). The
 * process's first call also warms the compiling tier up (src/jit/warm-up.ts) while V8 compiles.
 */
export async function compileCore(bytes: BufferSource): Promise<WebAssembly.Module> {
  const compiling = WebAssembly.compile(bytes);
  if (!compilingTierWarm) {
    compilingTierWarm = true;
    warmUpCompilingTier();
  }
  try {
    return await compiling;
  } catch (error) {
    throw new CoreLoadError(`the guest CPU core is not a valid WebAssembly module: ${(error as Error).message}`);
  }
}

function isBufferSource(source: unknown): source is BufferSource {
  return source instanceof ArrayBuffer || ArrayBuffer.isView(source);
}

async function readWasmFile(location: URL | string): Promise<Uint8Array<ArrayBuffer>> {
  const { readFile } = await import("node:fs/promises");
  try {
    return await readFile(location);
  } catch (error) {
    const path = location instanceof URL ? decodeURIComponent(location.pathname) : location;
    const why = (error as NodeJS.ErrnoException).code === "ENOENT" ? "not found (run `npm run build:core`)" : (error as Error).message;
    throw new CoreLoadError(`guest CPU core ${path}: ${why}`);
  }
}

/**
 * The imports an AssemblyScript module may ask for: env.abort (assertion failures, with the message
 * and file as AssemblyScript strings: UTF-16 with the byte length at ptr-4), env.trace, env.seed.
 * Only those the module actually imports are provided.
 */
function coreImports(
  module: WebAssembly.Module,
  memory: () => WebAssembly.Memory | undefined,
  compile: (eip: number, physical: number, entry: number) => number,
  exit: ExitHandler,
): WebAssembly.Imports {
  const readString = (ptr: number): string => {
    const mem = memory();
    if (!mem || ptr === 0) return "";
    const length = new Uint32Array(mem.buffer, ptr - 4, 1)[0] >>> 1;
    return String.fromCharCode(...new Uint16Array(mem.buffer, ptr, length));
  };
  const available: Record<string, unknown> = {
    abort(message: number, file: number, line: number, column: number): never {
      throw new CoreAbortError(`guest CPU core aborted: ${readString(message)} at ${readString(file)}:${line}:${column}`);
    },
    trace(message: number, count: number, ...args: number[]): void {
      console.error(`core trace: ${readString(message)} ${args.slice(0, count).join(", ")}`);
    },
    seed: () => Date.now(),
  };
  const env: Record<string, unknown> = {};
  for (const wanted of WebAssembly.Module.imports(module)) {
    if ((wanted.module === "jit" && wanted.name === "compile") || (wanted.module === "vmm" && wanted.name === "exit")) continue;
    if (wanted.module !== "env" || !(wanted.name in available)) {
      throw new CoreLoadError(`the guest CPU core imports ${wanted.module}.${wanted.name}, which the VMM does not provide`);
    }
    env[wanted.name] = available[wanted.name];
  }
  // The compiling tier (src/jit/) and the VMM's exit handler, as a bare core has them.
  return { env, ...bareCoreImports(compile, exit) } as WebAssembly.Imports;
}
