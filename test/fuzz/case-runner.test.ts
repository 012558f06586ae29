// The fuzzer's watchdog (CaseRunner): a case that never answers is a hang, but one that answered
// while the fuzzer's own thread was busy past the limit (forging the next case) is not.
import { afterEach, describe, expect, it } from "vitest";
import { CaseRunner, type Job } from "../../src/fuzz/case-runner.js";

const WORKER = new URL("./fixtures/scripted-worker.mjs", import.meta.url);
const TIMEOUT_MS = 1000;
const job = (replyAfterMs?: number) => ({ kind: "state", stateCase: { file: new Uint8Array(), disk: undefined }, replyAfterMs }) as unknown as Job;

function busyFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* the main thread does nothing else, as while forging a huge case */ }
}

describe("CaseRunner's watchdog", () => {
  let runner: CaseRunner | undefined;
  afterEach(async () => { await runner?.close(); });

  it("reports a case that never answers as hung", async () => {
    runner = new CaseRunner(WORKER, 1, TIMEOUT_MS);
    const outcome = await runner.run(job());
    expect(outcome.hung).toBe(true);
    expect(outcome.problems[0]).toMatch(/^hang: /);
  });

  it("gives the next case a fresh worker after a hang, unconfused by the old worker's exit", async () => {
    runner = new CaseRunner(WORKER, 1, TIMEOUT_MS);
    expect((await runner.run(job())).hung).toBe(true); // its worker is terminated and replaced
    for (let i = 0; i < 3; i++) {
      const outcome = await runner.run(job(20));
      expect(outcome.hung).toBe(false);
      expect(outcome.problems).toEqual([]);
    }
  });

  it("starts the watchdog when the worker is ready: a start longer than the limit is no hang", async () => {
    runner = new CaseRunner(new URL("./fixtures/slow-start-worker.mjs", import.meta.url), 1, TIMEOUT_MS);
    const outcome = await runner.run(job(20));
    expect(outcome.hung).toBe(false);
    expect(outcome.problems).toEqual([]);
  });

  /** A runner whose worker has started and answered once, so that the next job goes out at once. */
  async function warmRunner(): Promise<CaseRunner> {
    const warm = new CaseRunner(WORKER, 1, TIMEOUT_MS);
    expect((await warm.run(job(0))).hung).toBe(false);
    return warm;
  }

  it("does not blame a case for the main thread being busy past the limit", async () => {
    runner = await warmRunner();
    const running = runner.run(job(20));
    busyFor(3 * TIMEOUT_MS); // the reply and the timer are both due when the thread is free again
    const outcome = await running;
    expect(outcome.hung).toBe(false);
    expect(outcome.problems).toEqual([]);
  });

  it("gives the slot of a late-checked case to the next case intact", async () => {
    runner = await warmRunner();
    const first = runner.run(job(20));
    const second = runner.run(job(20)); // waits for the only slot
    busyFor(3 * TIMEOUT_MS);
    expect((await first).hung).toBe(false);
    expect((await second).hung).toBe(false);
  });
});
