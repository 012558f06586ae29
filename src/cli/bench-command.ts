// `wasmvisor bench`: runs the benchmark guests (src/bench/) and prints a table of runs and a
// summary against the MIPS targets; --json FILE also writes the numbers for scripts. A missing
// benchmark guest is bad input (status 2); a guest that does not exit cleanly is status 3.

import { writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { BENCH_GUESTS, BenchGuestError, benchGuest, type BenchRun } from "../bench/bench.js";
import { benchJson, formatRuns, formatSummaries, summarize } from "../bench/report.js";
import { packageFileUrl } from "../package-files.js";
import { EXIT_GUEST_DID_NOT_EXIT, UsageError } from "./exit-status.js";

export interface BenchOptions {
  runs: number;
  json?: string;
}

export async function benchCommand(options: BenchOptions): Promise<number> {
  for (const guest of BENCH_GUESTS) {
    if (!existsSync(packageFileUrl(guest.path))) throw new UsageError(`benchmark guest ${guest.path} not found (build it with \`npm run guests\`)`);
  }
  const allRuns: BenchRun[] = [];
  try {
    for (const guest of BENCH_GUESTS) allRuns.push(...(await benchGuest(guest, options.runs)));
  } catch (error) {
    if (!(error instanceof BenchGuestError)) throw error;
    process.stderr.write(`wasmvisor: benchmark guest failed: ${error.message}\n`);
    return EXIT_GUEST_DID_NOT_EXIT;
  }
  const summaries = BENCH_GUESTS.map((guest) => summarize(guest, allRuns.filter((r) => r.guest === guest.name)));
  process.stdout.write(`${formatRuns(allRuns)}\n\n${formatSummaries(summaries)}\n`);
  if (options.json !== undefined) await writeFile(options.json, benchJson(allRuns, summaries));
  return 0;
}
