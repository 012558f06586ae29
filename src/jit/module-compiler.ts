// Where the compiling tier's modules are compiled off the guest's thread (block-compiler.ts hands
// them a batch's bytes and later takes the finished modules without waiting). Two ways:
// - promiseModuleCompiler: WebAssembly.compile(), which V8 runs on background threads; its result
//   arrives when the event loop turns (in the browser demo's worker, between bursts of guest time);
// - node-module-compiler.ts: a worker thread, whose results the guest's thread collects
//   synchronously at any poll (Node's receiveMessageOnPort), without waiting for the event loop.

/** A module compiled for batch `id`, or why it failed (a bug in the code generator). */
export interface CompiledModule {
  id: number;
  module?: WebAssembly.Module;
  error?: string;
  /** Milliseconds the compiler took, off the guest's thread. */
  compileMs: number;
}

export interface ModuleCompiler {
  /** Starts compiling `bytes` (which it may take over); the result comes out of take() later. */
  submit(id: number, bytes: Uint8Array<ArrayBuffer>): void;
  /** The modules finished since the last call, without waiting for any. */
  take(): CompiledModule[];
  /** Stops compiling (what was submitted is dropped). */
  close(): void;
}

/** WebAssembly.compile() on V8's background threads; results land as the event loop turns. */
export function promiseModuleCompiler(): ModuleCompiler {
  let finished: CompiledModule[] = [];
  let closed = false;
  return {
    submit(id, bytes) {
      const start = performance.now();
      WebAssembly.compile(bytes).then(
        (module) => { if (!closed) finished.push({ id, module, compileMs: performance.now() - start }); },
        (error: Error) => { if (!closed) finished.push({ id, error: error.message, compileMs: performance.now() - start }); },
      );
    },
    take() {
      const done = finished;
      finished = [];
      return done;
    },
    close() {
      closed = true;
      finished = [];
    },
  };
}
