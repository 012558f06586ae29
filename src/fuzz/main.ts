// The fuzzer's command line (`npm run fuzz -- ...`, which runs dist/fuzz.js):
//   --seconds N       how long to fuzz (default 60)
//   --seed S          the campaign's seed (default: random, printed)
//   --jit             run every case with the compiling tier off and on and compare the two
//   --differential    instead: user-level instruction sequences under wasmvisor and QEMU
//   --state-files     instead: forged state files (real saved machines with hostile values)
//   --workers N       worker threads (default 1)
//   --corpus DIR      where new problems are saved (default test/fuzz/corpus)
//   --timeout S       a case running longer than this has hung (default 5)
//   --replay PATH...  replay saved cases (files or directories) instead of fuzzing
// Exit status 0 when nothing was found, 1 when a problem was, 2 on bad options. In a worker
// thread this module serves fuzz cases instead (case-runner.ts).
import { isMainThread } from "node:worker_threads";
import { parseArgs } from "node:util";
import { formatReport, runCampaign } from "./campaign.js";
import { CaseRunner, serveCases } from "./case-runner.js";
import { corpusFiles, loadCase } from "./corpus.js";
import type { FuzzCase } from "./fuzz-case.js";
import { runQemuDifferential } from "./qemu/differential.js";
import { runStateCampaign } from "./state-campaign.js";

const USAGE = "usage: fuzz [--seconds N] [--seed S] [--jit] [--differential] [--state-files] [--workers N] [--corpus DIR] [--timeout S] [--replay PATH...]";

async function replay(paths: string[], timeoutMs: number): Promise<number> {
  let cases: { file: string; fuzzCase: FuzzCase }[];
  try {
    cases = corpusFiles(paths).map((file) => ({ file, fuzzCase: loadCase(file).fuzzCase }));
  } catch (error) {
    // a missing or unreadable case (its .json or its .bin), or one that is not JSON: one line
    console.error(`fuzz: cannot replay: ${(error as Error).message}`);
    return 2;
  }
  const runner = new CaseRunner(new URL(import.meta.url), 1, timeoutMs);
  let failed = 0;
  for (const { file, fuzzCase } of cases) {
    const outcome = await runner.run({ kind: "case", fuzzCase, jitDifferential: true });
    if (outcome.problems.length === 0) console.log(`ok ${file}`);
    else { failed++; console.log(`FAIL ${file}: ${outcome.problems[0]}`); }
  }
  await runner.close();
  return failed > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        seconds: { type: "string", default: "60" }, seed: { type: "string" }, jit: { type: "boolean", default: false },
        differential: { type: "boolean", default: false }, "state-files": { type: "boolean", default: false }, workers: { type: "string", default: "1" },
        corpus: { type: "string", default: "test/fuzz/corpus" }, timeout: { type: "string", default: "5" },
        replay: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    console.error(`fuzz: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const seconds = Number(v.seconds);
  const workers = Number(v.workers);
  const timeoutMs = Number(v.timeout) * 1000;
  const seed = v.seed === undefined ? Math.floor(Math.random() * 0x100000000) : Number(v.seed);
  if (!(seconds > 0) || !Number.isInteger(workers) || workers < 1 || !(timeoutMs > 0) || !Number.isInteger(seed)) {
    console.error(`fuzz: bad option value\n${USAGE}`);
    return 2;
  }
  if (v.replay) return replay(positionals.length > 0 ? positionals : [v.corpus], timeoutMs);
  if (v.differential) return runQemuDifferential({ seconds, seed, log: (line) => console.error(line) });
  if (v["state-files"]) {
    console.error(`fuzzing forged state files for ${seconds} s with seed ${seed}, ${workers} worker(s)`);
    const report = await runStateCampaign({ seconds, seed, workers, timeoutMs, workerScript: new URL(import.meta.url), log: (line) => console.error(line) });
    console.log(formatReport(report));
    return report.problems.length > 0 ? 1 : 0;
  }
  console.error(`fuzzing for ${seconds} s with seed ${seed}${v.jit ? ", compiling tier off and on" : ""}, ${workers} worker(s)`);
  const report = await runCampaign({
    seconds, seed, jit: v.jit, workers, corpusDir: v.corpus, timeoutMs,
    workerScript: new URL(import.meta.url), log: (line) => console.error(line),
  });
  console.log(formatReport(report));
  return report.problems.length > 0 ? 1 : 0;
}

if (isMainThread) main().then((status) => { process.exitCode = status; });
else serveCases();
