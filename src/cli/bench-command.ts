// `wasmvisor bench`: runs the benchmark guests (src/bench/) and prints a table of runs, a summary
// against the MIPS targets and the cost of CPUID, OUT and CR3 exits against theirs; --json FILE
// also writes the numbers for scripts. A missing benchmark guest is bad input (status 2); a guest
// that does not exit cleanly is status 3.

import { writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { BENCH_GUESTS, BenchGuestError, benchGuest, type BenchRun } from "../bench/bench.js";
import { EXIT_LOOP_GUEST, measureExitCosts, type ExitCost } from "../bench/exit-costs.js";
import { benchJson, formatExitCosts, formatRuns, formatSummaries, summarize } from "../bench/report.js";
import { packageFileUrl } from "../package-files.js";
import { EXIT_GUEST_DID_NOT_EXIT, UsageError } from "./exit-status.js";

export interface BenchOptions {
  runs: number;
  json?: string;
}

export async function benchCommand(options: BenchOptions): Promise<number> {
  for (const path of [...BENCH_GUESTS.map((g) => g.path), EXIT_LOOP_GUEST]) {
    if (!existsSync(packageFileUrl(path))) throw new UsageError(`benchmark guest ${path} not found (build it with \`npm run guests\`)`);
  }
  const allRuns: BenchRun[] = [];
  let exitCosts: ExitCost[];
  try {
    for (const guest of BENCH_GUESTS) allRuns.push(...(await benchGuest(guest, options.runs)));
    exitCosts = await measureExitCosts(options.runs);
  } catch (error) {
    if (!(error instanceof BenchGuestError)) throw error;
    process.stderr.write(`wasmvisor: benchmark guest failed: ${error.message}\n`);
    return EXIT_GUEST_DID_NOT_EXIT;
  }
  const summaries = BENCH_GUESTS.map((guest) => summarize(guest, allRuns.filter((r) => r.guest === guest.name)));
  process.stdout.write(`${formatRuns(allRuns)}\n\n${formatSummaries(summaries)}\n\n${formatExitCosts(exitCosts)}\n`);
  if (options.json !== undefined) await writeFile(options.json, benchJson(allRuns, summaries, exitCosts));
  return 0;
}
