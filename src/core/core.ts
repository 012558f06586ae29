// The guest CPU as the VMM sees it: the exports of build/core.wasm (the AssemblyScript core in
// assembly/) and how to instantiate it. This is the VT-x "hardware" of the project: the VMM talks
// to it only through run() (VM entry until the next VM exit) and the VMCS in its linear memory.

import { packageFileUrl } from "../package-files.js";

/** What assembly/index.ts exports. */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  /** Allocates `ramBytes` of guest RAM (growing memory, which detaches old views) and resets the CPU. */
  init(ramBytes: number): void;
  /** Byte offset in WASM memory of guest-physical address 0. */
  ramBase(): number;
  ramSize(): number;
  /** VM entry: runs the guest from the VMCS guest-state area until a VM exit; returns the exit reason. */
  run(): number;
  /** Guest-physical address of a linear address, or -1 if the guest's page tables do not map it. */
  translateLinear(linear: number, write: number): number;
  instructionsRetired(): number;
}

/** build/core.wasm of this package. */
export const defaultCoreWasmUrl = (): URL => packageFileUrl("build/core.wasm");

/** Thrown when build/core.wasm is missing or is not the core this VMM was written against. */
export class CoreLoadError extends Error {}

/** Thrown out of run() when the core hits an internal assertion (AssemblyScript's abort()). */
export class CoreAbortError extends Error {}

const REQUIRED_EXPORTS = ["memory", "init", "ramBase", "ramSize", "run", "translateLinear", "instructionsRetired"];

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
  const instance = await WebAssembly.instantiate(module, coreImports(module, () => memory));
  const exports = instance.exports as Record<string, unknown>;
  const missing = REQUIRED_EXPORTS.filter((name) => !(name in exports));
  if (missing.length > 0) throw new CoreLoadError(`the guest CPU core does not export ${missing.join(", ")}`);
  memory = exports.memory as WebAssembly.Memory;
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
function coreImports(module: WebAssembly.Module, memory: () => WebAssembly.Memory | undefined): WebAssembly.Imports {
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
    if (wanted.module !== "env" || !(wanted.name in available)) {
      throw new CoreLoadError(`the guest CPU core imports ${wanted.module}.${wanted.name}, which the VMM does not provide`);
    }
    env[wanted.name] = available[wanted.name];
  }
  return { env } as WebAssembly.Imports;
}
