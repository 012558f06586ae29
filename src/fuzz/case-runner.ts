// Fuzz cases run in worker threads under a watchdog, because the worst thing a guest (or a forged
// state file) can do to its host is to never give control back: a core that spins inside one
// run() cannot be stopped from its own thread. A case that has not answered within the time limit
// is reported as a hang, its worker terminated (V8 interrupts running WASM) and replaced. The
// worker side is serveCases(), started by the fuzzer's entry point in each worker thread. A job
// is an instruction-stream case on the bare core, or a state file for the VMM to restore and run.
import { readFileSync } from "node:fs";
import { parentPort, Worker } from "node:worker_threads";
import { packageFileUrl } from "../package-files.js";
import { checkCase, type CaseResult } from "./check-case.js";
import { loadCoreModule } from "./core-module.js";
import type { FuzzCase } from "./fuzz-case.js";
import { checkStateCase, STATE_CASE_SLOW_MS, type StateCase } from "./state-check.js";

export type Job = { kind: "case"; fuzzCase: FuzzCase; jitDifferential: boolean } | { kind: "state"; stateCase: StateCase };
interface Request { id: number; job: Job }
/** `ms`: the wall-clock time the job took in the worker. */
interface Reply { id: number; result: CaseResult; ms: number }

// Host time a case's guest may take (CaseResult.guestMs: in the core, not in the fuzzer's checks):
// a base, and a cost per unit of the work it was allowed (CaseResult.work: its instruction budgets
// and the host work the core charged). A unit costs ~5-50 ns; 2 us leaves room for a loaded
// machine, while host work that nothing charges (a scan or a loop the budget does not see)
// overruns it.
const BASE_MS = 50;
const MS_PER_UNIT = 0.002;
const hostCostBudgetMs = (work: number): number => BASE_MS + work * MS_PER_UNIT;

/** The problem with a case whose guest took `ms` (the faster of two runs) for `work` units, if it overran. */
export function hostCostProblem(ms: number, work: number): string | undefined {
  const allowed = hostCostBudgetMs(work);
  if (ms <= allowed) return undefined;
  return `host cost: the guest took ${ms.toFixed(0)} ms of host time, twice, for ${work} units of work (allowed: ${allowed.toFixed(0)} ms)`;
}

export interface RunOutcome extends CaseResult {
  /** The case did not finish within the time limit. */
  hung: boolean;
}

/** What a worker posts once it has loaded the core and listens for jobs. */
const READY = "ready";

class Slot {
  worker!: Worker;
  pending: ((reply: Reply | Error) => void) | undefined;
  /**
   * Resolves when the worker is ready for its first job, or with the error it died of on the way.
   * The watchdog starts only then: a fresh worker's start (the fuzzer's bundle, the core compiled)
   * took seconds on a loaded machine and made the first case of a worker look hung.
   */
  ready!: Promise<Error | undefined>;
  /** Whether `ready` has resolved (and with what): a job for a started worker goes out at once, with no await between it and its timer. */
  started = false;
  startError: Error | undefined;
  constructor(private readonly script: URL) {
    this.start();
  }
  /** `ready`, keeping the process alive meanwhile (the worker is unref()'d, and nothing else may be pending). */
  async whenReady(): Promise<Error | undefined> {
    this.worker.ref();
    try {
      return await this.ready;
    } finally {
      this.worker.unref();
    }
  }
  start(): void {
    const worker = new Worker(this.script);
    let resolveReady: (error?: Error) => void;
    this.started = false;
    this.ready = new Promise((resolve) => (resolveReady = resolve));
    this.startError = undefined;
    this.worker = worker;
    // A replaced worker's late events (its exit after terminate()) are not this worker's: they
    // would mark the new one started before it is, or answer the new one's job.
    const current = () => this.worker === worker;
    let ready = false;
    const started = (error?: Error) => {
      if (ready || !current()) return;
      ready = this.started = true;
      this.startError = error;
      resolveReady(error);
    };
    const answer = (reply: Reply | Error) => {
      if (!current()) return;
      const done = this.pending;
      this.pending = undefined;
      done?.(reply);
    };
    worker.on("message", (reply: Reply | typeof READY) => (reply === READY ? started() : answer(reply)));
    worker.on("error", (error: Error) => {
      started(error);
      answer(error);
    });
    worker.on("exit", (code) => started(new Error(`the worker exited with code ${code} before it was ready`)));
    worker.unref();
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

  async run(job: Job): Promise<RunOutcome> {
    const slot = this.idle.pop() ?? await new Promise<Slot>((resolve) => this.waiting.push(resolve));
    const id = this.nextId++;
    const startError = slot.started ? slot.startError : await slot.whenReady();
    const reply = startError ?? await new Promise<Reply | Error | undefined>((resolve) => {
      // When the timer fires, the reply may already be queued: the main thread can have been busy
      // past the limit (forging the next case, a GC pause). Worker messages are delivered in the
      // poll phase, which runs before setImmediate's callbacks, so the case is declared hung only
      // if none is there by then.
      let answered = false;
      const timer = setTimeout(() => setImmediate(() => {
        if (answered) return;
        slot.pending = undefined;
        resolve(undefined);
      }), this.timeoutMs);
      slot.pending = (r) => { answered = true; clearTimeout(timer); resolve(r); };
      slot.worker.postMessage({ id, job } satisfies Request);
    });
    if (!reply || reply instanceof Error) {
      void slot.worker.terminate();
      slot.start();
    }
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.idle.push(slot);
    if (reply instanceof Error) return { hung: false, reasons: [], compiledBlocks: 0, executions: 1, work: 0, guestMs: 0, problems: [`host exception: the worker died: ${reply.stack ?? reply}`] };
    if (reply) {
      if (reply.result.problems.length === 0) {
        const overrun = job.kind === "case"
          ? hostCostProblem(reply.result.guestMs, reply.result.work)
          : reply.ms > STATE_CASE_SLOW_MS ? `slow: the case took ${(reply.ms / 1000).toFixed(1)} s of wall-clock time, more than its budget of ${STATE_CASE_SLOW_MS / 1000} s` : undefined;
        if (overrun) reply.result.problems.push(overrun);
      }
      return { ...reply.result, hung: false };
    }
    const seconds = this.timeoutMs / 1000;
    return { hung: true, reasons: [], compiledBlocks: 0, executions: 1, work: 0, guestMs: 0, problems: [`hang: the case did not finish within ${seconds} s of wall-clock time (a run its instruction budget does not bound)`] };
  }

  async close(): Promise<void> {
    await Promise.all(this.idle.map((slot) => slot.worker.terminate()));
  }
}

/** The worker thread's side: answer each job with its result. */
export function serveCases(): void {
  const source = loadCoreModule();
  const coreBytes = readFileSync(packageFileUrl("build/core.wasm"));
  const check = (job: Job) => job.kind === "case" ? checkCase(source, job.fuzzCase, job.jitDifferential) : checkStateCase(coreBytes, job.stateCase);
  parentPort!.on("message", async ({ id, job }: Request) => {
    const start = performance.now();
    const result = await check(job);
    const ms = performance.now() - start;
    // Over budget: run it again and keep the faster time, so a pause of the machine is not blamed on the case.
    if (job.kind === "case" && result.guestMs > hostCostBudgetMs(result.work)) result.guestMs = Math.min(result.guestMs, (await check(job)).guestMs);
    parentPort!.postMessage({ id, result, ms } satisfies Reply);
  });
  parentPort!.postMessage(READY);
}
