// The compiling tier's modules compiled on a Node worker thread (module-compiler.ts): the guest's
// thread posts a batch's bytes and, at its next poll, takes the modules that came back with
// receiveMessageOnPort, which does not wait for the event loop (the CLI turns it only every 50 ms).
// One worker serves every VM of the process, each over a channel of its own; it is unref'd, so it
// never keeps the process alive.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import type { CompiledModule, ModuleCompiler } from "./module-compiler.js";
import { COMPILE_AT_REQUEST, type CompileMode } from "./block-compiler.js";
import { threadCpuClock } from "../bench/thread-cpu-clock.js";

// The worker's whole program (CommonJS, evaluated): for each channel it is sent, compile each
// batch that comes over it and post the module back.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", (port) => port.on("message", ({ id, bytes }) => {
  const start = performance.now();
  let module, error;
  try { module = new WebAssembly.Module(bytes); } catch (e) { error = String(e && e.message || e); }
  port.postMessage({ id, module, error, compileMs: performance.now() - start });
}));
`;

let worker: Worker | undefined;
let failure: string | undefined;

function sharedWorker(): Worker {
  if (worker === undefined) {
    worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on("error", (error: Error) => (failure = error.message));
  }
  return worker;
}

export function workerModuleCompiler(): ModuleCompiler {
  const { port1, port2 } = new MessageChannel();
  sharedWorker().postMessage(port2, [port2 as MessagePort]);
  port1.unref();
  return {
    submit(id, bytes) {
      port1.postMessage({ id, bytes }, [bytes.buffer]);
    },
    take() {
      const done: CompiledModule[] = [];
      for (let m = receiveMessageOnPort(port1); m !== undefined; m = receiveMessageOnPort(port1)) done.push(m.message as CompiledModule);
      if (failure !== undefined) throw new Error(`the compiling tier's worker thread failed: ${failure}`);
      return done;
    },
    close() {
      port1.close();
    },
  };
}

/** When the CLI's and the bench's VMs compile hot blocks (their --compile). */
export const COMPILE_WHEN = ["background", "at-request"] as const;
export type CompileWhen = (typeof COMPILE_WHEN)[number];

/** background: batched on the worker thread, the guest never waiting; at-request: each block alone, at once. */
export function nodeCompileMode(when: CompileWhen): CompileMode {
  const mode: CompileMode = when === "background" ? { kind: "background", compiler: workerModuleCompiler() } : COMPILE_AT_REQUEST;
  return { ...mode, threadCpuClock };
}
