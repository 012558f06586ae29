// Runs a guest in a VirtualMachine on a worker thread (vm-worker.mjs) under a watchdog: a run that
// has not ended when the watchdog fires is reported as hung and the worker terminated (V8 stops
// running WASM), so a guest that hangs its host fails a test instead of hanging the test run.
import { Worker } from "node:worker_threads";
import type { RunLimits, StopReason } from "../../src/index";
import { kernelElf, KERNEL_BASE } from "../support/images";
import { assemble } from "../core/harness";

export interface WorkerRun {
  hung: boolean;
  stop?: StopReason;
  instructions?: number;
  /** Wall-clock seconds of the run loop, as the VM measured them. */
  seconds?: number;
  /** Per pattern asked for: the dwords of guest RAM holding it at the end. */
  counts?: number[];
  /** Bytes of console output the guest produced. */
  consoleBytes?: number;
}

/** A Multiboot kernel whose entry point is `source` (AT&T assembly). */
export function guestKernel(source: string): Uint8Array {
  return kernelElf(assemble(source, KERNEL_BASE + 12));
}

export function runInWorker(kernel: Uint8Array, limits: Omit<RunLimits, "onSliceEnd">, watchdogSeconds: number,
  options: { memoryMiB?: number; diskMiB?: number; patterns?: number[] } = {}): Promise<WorkerRun> {
  const worker = new Worker(new URL("./vm-worker.mjs", import.meta.url), {
    workerData: { kernel, memoryMiB: options.memoryMiB ?? 8, diskMiB: options.diskMiB, limits, patterns: options.patterns ?? [] },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void worker.terminate(); resolve({ hung: true }); }, watchdogSeconds * 1000);
    worker.once("message", (m: Omit<WorkerRun, "hung">) => { clearTimeout(timer); void worker.terminate(); resolve({ hung: false, ...m }); });
    worker.once("error", (e) => { clearTimeout(timer); reject(e); });
  });
}
