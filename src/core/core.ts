// The guest CPU as the VMM sees it: the exports of build/core.wasm (the AssemblyScript core in
// assembly/) and how to instantiate it. This is the VT-x "hardware" of the project: the VMM talks
// to it only through run() (VM entry), the exit handler the core calls at each VM exit
// (setExitHandler), and the VMCS in its linear memory.

import { packageFileUrl } from "../package-files.js";
import { BlockCompiler, type JitCoreExports } from "../jit/block-compiler.js";

/** What assembly/index.ts exports. */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  /** Allocates `ramBytes` of guest RAM (growing memory, which detaches old views) and resets the CPU. */
  init(ramBytes: number): void;
  /** Byte offset in WASM memory of guest-physical address 0. */
  ramBase(): number;
  ramSize(): number;
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
}

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

/**
 * The core's imports for compiled blocks and for its exit handler; alone, a bare core's (no VMM,
 * and by default run() returning at every VM exit: the fuzzer and the CPU tests drive it so).
 */
export function bareCoreImports(compile: (eip: number, physical: number, entry: number) => number, exit: ExitHandler = () => false): WebAssembly.Imports {
  return { jit: { compile }, vmm: { exit: (reason: number) => (exit(reason) ? 1 : 0) } };
}

/** build/core.wasm of this package. */
export const defaultCoreWasmUrl = (): URL => packageFileUrl("build/core.wasm");

/** Thrown when build/core.wasm is missing or is not the core this VMM was written against. */
export class CoreLoadError extends Error {}

/** Thrown out of run() when the core hits an internal assertion (AssemblyScript's abort()). */
export class CoreAbortError extends Error {}

const REQUIRED_EXPORTS = ["memory", "init", "ramBase", "ramSize", "run", "translateLinear", "emulate", "instructionsRetired", "adoptSavedCounters"];

/**
 * Compiles and instantiates the core. `source` is the wasm bytes or a file URL/path; by default
 * build/core.wasm of this package.
 */
export async function instantiateCore(source: BufferSource | URL | string = defaultCoreWasmUrl()): Promise<CoreExports> {
  const bytes = isBufferSource(source) ? source : await readWasmFile(source);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (error) {
    throw new CoreLoadError(`the guest CPU core is not a valid WebAssembly module: ${(error as Error).message}`);
  }
  let memory: WebAssembly.Memory | undefined;
  let compiler: BlockCompiler | undefined;
  const compile = (eip: number, physical: number, entry: number): number => compiler?.compile(eip, physical, entry) ?? 0;
  const exitSlot: { handler: ExitHandler | undefined } = { handler: undefined };
  const exit: ExitHandler = (reason) => exitSlot.handler?.(reason) ?? false;
  const instance = await WebAssembly.instantiate(module, coreImports(module, () => memory, compile, exit));
  const exports = instance.exports as Record<string, unknown>;
  const missing = REQUIRED_EXPORTS.filter((name) => !(name in exports));
  if (missing.length > 0) throw new CoreLoadError(`the guest CPU core does not export ${missing.join(", ")}`);
  memory = exports.memory as WebAssembly.Memory;
  compiler = new BlockCompiler(exports as unknown as JitCoreExports);
  exitHandlers.set(exports as unknown as CoreExports, exitSlot);
  return exports as unknown as CoreExports;
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
