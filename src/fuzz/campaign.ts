// A fuzzing campaign: generate cases for a while (fresh ones, and mutations of cases that reached
// a sequence of exits not seen before), run them in worker threads, count what they reached, and
// save each new kind of problem to the corpus. Case n of seed s is generated from Rng(s, n), so a
// campaign with the same seed and pool decisions repeats.
import * as L from "../../assembly/vmcs-layout.js";
import { CaseRunner, type RunOutcome } from "./case-runner.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { problemKey, saveCase, savedProblemKeys } from "./corpus.js";
import type { FuzzCase } from "./fuzz-case.js";
import { randomCase } from "./random-case.js";
import { Rng } from "./rng.js";

export interface CampaignOptions {
  seconds: number;
  seed: number;
  /** Run every case with the compiling tier off and on and compare. */
  jit: boolean;
  workers: number;
  /** Where new problems are saved. */
  corpusDir: string;
  /** A case that runs longer than this has hung. */
  timeoutMs: number;
  /** The module whose worker-thread side serves cases (the fuzzer's entry point). */
  workerScript: URL;
  log: (line: string) => void;
}

export interface FoundProblem { problem: string; found: string; count: number; file?: string }

export interface CampaignReport {
  cases: number;
  executions: number;
  seconds: number;
  exitCounts: Map<number, number>;
  compiledBlocks: number;
  problems: FoundProblem[];
}

const POOL_LIMIT = 512;

export async function runCampaign(o: CampaignOptions): Promise<CampaignReport> {
  const runner = new CaseRunner(o.workerScript, o.workers, o.timeoutMs);
  const known = savedProblemKeys(o.corpusDir);
  const pool: FuzzCase[] = [];
  const seen = new Set<string>();
  const found = new Map<string, FoundProblem>();
  const report: CampaignReport = { cases: 0, executions: 0, seconds: 0, exitCounts: new Map(), compiledBlocks: 0, problems: [] };
  const start = performance.now();
  const deadline = start + o.seconds * 1000;
  let nextIndex = 0;
  let nextLog = start + 10_000;

  const record = (index: number, c: FuzzCase, outcome: RunOutcome): void => {
    report.cases++;
    report.executions += outcome.executions;
    report.compiledBlocks += outcome.compiledBlocks;
    for (const r of outcome.reasons) report.exitCounts.set(r, (report.exitCounts.get(r) ?? 0) + 1);
    const signature = outcome.reasons.slice(0, 12).join(",");
    if (!seen.has(signature)) {
      seen.add(signature);
      if (pool.length < POOL_LIMIT) pool.push(c);
      else pool[index % POOL_LIMIT] = c;
    }
    if (outcome.problems.length === 0) return;
    const problem = outcome.problems[0];
    const key = problemKey(problem);
    const entry = found.get(key);
    if (entry) { entry.count++; return; }
    const where = `seed ${o.seed} case ${index}${o.jit ? " --jit" : ""}`;
    // A kind of problem already in the corpus may still be a new bug: its case goes to the
    // temporary folder, so it can be replayed, not to the corpus.
    const file = saveCase(known.has(key) ? join(tmpdir(), "wasmvisor-fuzz") : o.corpusDir, c, problem, where);
    found.set(key, { problem, found: where, count: 1, file });
    o.log(`problem in ${where}: ${problem.split("\n")[0]} (saved as ${file}${known.has(key) ? "; its kind is already in the corpus" : ""})`);
  };

  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const index = nextIndex++;
      const rng = new Rng(o.seed, index);
      const mutate = pool.length > 0 && rng.chance(0.5);
      const c = mutate ? randomCase(rng, rng.pick(pool), rng.pick(pool)) : randomCase(rng);
      record(index, c, await runner.run({ kind: "case", fuzzCase: c, jitDifferential: o.jit }));
      if (performance.now() >= nextLog) {
        nextLog += 10_000;
        const s = (performance.now() - start) / 1000;
        o.log(`${s.toFixed(0)} s: ${report.cases} cases, ${report.executions} executions (${(report.executions / s).toFixed(0)}/s), pool ${pool.length}, ${found.size} problems`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.workers }, lane));
  await runner.close();
  report.seconds = (performance.now() - start) / 1000;
  report.problems = [...found.values()];
  return report;
}

const EXIT_NAMES: Record<number, string> = {
  [L.EXIT_EXCEPTION]: "exception", [L.EXIT_TRIPLE_FAULT]: "triple fault", [L.EXIT_INTERRUPT_WINDOW]: "interrupt window",
  [L.EXIT_CPUID]: "CPUID", [L.EXIT_HLT]: "HLT", [L.EXIT_INVLPG]: "INVLPG", [L.EXIT_RDTSC]: "RDTSC", [L.EXIT_VMCALL]: "VMCALL",
  [L.EXIT_CR_ACCESS]: "CR access", [L.EXIT_IO]: "I/O", [L.EXIT_RDMSR]: "RDMSR", [L.EXIT_WRMSR]: "WRMSR",
  [L.EXIT_WRITE_TRAP]: "write trap", [L.EXIT_PREEMPTION_TIMER]: "budget", [L.EXIT_CLI]: "CLI", [L.EXIT_STI]: "STI",
  [L.EXIT_PUSHF]: "PUSHF", [L.EXIT_POPF]: "POPF", [L.EXIT_IRET]: "IRET",
};

export function formatReport(r: CampaignReport): string {
  const lines = [
    `${r.cases} cases, ${r.executions} executions in ${r.seconds.toFixed(1)} s (${(r.executions / r.seconds).toFixed(0)} executions/s), ${r.compiledBlocks} blocks compiled`,
    "exits: " + [...r.exitCounts].sort((a, b) => a[0] - b[0]).map(([k, n]) => `${EXIT_NAMES[k] ?? k} ${n}`).join(", "),
  ];
  if (r.problems.length === 0) lines.push("no problems found");
  for (const p of r.problems) lines.push(`PROBLEM (${p.count}x, first in ${p.found}${p.file ? `, saved as ${p.file}` : ""}): ${p.problem.split("\n")[0]}`);
  return lines.join("\n");
}
