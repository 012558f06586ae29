// Fuzz cases run in worker threads under a watchdog, because the worst thing a guest can do to
// its host is to never give control back: a core that spins inside one run() cannot be stopped
// from its own thread. A case that has not answered within the time limit is reported as a hang,
// its worker terminated (V8 interrupts running WASM) and replaced. The worker side is
// serveCases(), started by the fuzzer's entry point in each worker thread.
import { parentPort, Worker } from "node:worker_threads";
import { checkCase, type CaseResult } from "./check-case.js";
import { loadCoreModule } from "./core-module.js";
import type { FuzzCase } from "./fuzz-case.js";

interface Request { id: number; fuzzCase: FuzzCase; jitDifferential: boolean }
interface Reply { id: number; result: CaseResult; ms: number }

// A case is a few thousand instructions at most: anything near a second means one instruction ran
// far longer than the budget can account for.
const SLOW_MS = 1000;

export interface RunOutcome extends CaseResult {
  /** The case did not finish within the time limit. */
  hung: boolean;
}

class Slot {
  worker: Worker;
  pending: ((reply: Reply | Error) => void) | undefined;
  constructor(private readonly script: URL) {
    this.worker = this.start();
  }
  start(): Worker {
    const worker = new Worker(this.script);
    worker.on("message", (reply: Reply) => { const done = this.pending; this.pending = undefined; done?.(reply); });
    worker.on("error", (error: Error) => { const done = this.pending; this.pending = undefined; done?.(error); });
    worker.unref();
    return worker;
  }
}

export class CaseRunner {
  private readonly idle: Slot[] = [];
  private readonly waiting: ((slot: Slot) => void)[] = [];
  private nextId = 0;

  /** `script`: the module whose worker-thread side calls serveCases(). */
  constructor(script: URL, workers: number, private readonly timeoutMs: number) {
    for (let i = 0; i < workers; i++) this.idle.push(new Slot(script));
  }

  async run(fuzzCase: FuzzCase, jitDifferential: boolean): Promise<RunOutcome> {
    const slot = this.idle.pop() ?? await new Promise<Slot>((resolve) => this.waiting.push(resolve));
    const id = this.nextId++;
    const reply = await new Promise<Reply | Error | undefined>((resolve) => {
      const timer = setTimeout(() => { slot.pending = undefined; resolve(undefined); }, this.timeoutMs);
      slot.pending = (r) => { clearTimeout(timer); resolve(r); };
      slot.worker.postMessage({ id, fuzzCase, jitDifferential } satisfies Request);
    });
    if (!reply || reply instanceof Error) {
      void slot.worker.terminate();
      slot.worker = slot.start();
    }
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.idle.push(slot);
    if (reply instanceof Error) return { hung: false, reasons: [], compiledBlocks: 0, executions: 1, problems: [`host exception: the worker died: ${reply.stack ?? reply}`] };
    if (reply && reply.ms > SLOW_MS && reply.result.problems.length === 0) {
      reply.result.problems.push(`slow: the case took ${(reply.ms / 1000).toFixed(1)} s of wall-clock time for a few thousand instructions of budget`);
    }
    if (reply) return { ...reply.result, hung: false };
    const seconds = this.timeoutMs / 1000;
    return { hung: true, reasons: [], compiledBlocks: 0, executions: 1, problems: [`hang: the case did not finish within ${seconds} s of wall-clock time (a run its instruction budget does not bound)`] };
  }

  async close(): Promise<void> {
    await Promise.all(this.idle.map((slot) => slot.worker.terminate()));
  }
}

/** The worker thread's side: answer each case with its result. */
export function serveCases(): void {
  const source = loadCoreModule();
  parentPort!.on("message", (request: Request) => {
    const start = performance.now();
    const result = checkCase(source, request.fuzzCase, request.jitDifferential);
    parentPort!.postMessage({ id: request.id, result, ms: performance.now() - start } satisfies Reply);
  });
}
