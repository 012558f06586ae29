// "Measure exit costs": the bench's exit loops (src/bench/exit-runs.ts, as `wasmvisor bench`
// runs them) in this worker, on guests/vmexit.elf beside the worker script, timed with the
// worker's performance.now(). Each figure is ((operation loop) - (same loop without it)) /
// iterations over loops calibrated to LOOP_MS, so even the coarse 100 µs clock of a page that is
// not cross-origin isolated costs at most ~0.5 % of a loop. The live guest's bursts can only run
// between two boots of the benchmark guest, never inside a timed loop (each loop is one vm.run).

import { VMEXIT_GUEST, selectBenchmarks } from "../../bench/exit-benchmarks.js";
import { measureJobs, wasmvisorJobs } from "../../bench/exit-runs.js";
import { wallClock } from "../../bench/marker-timing.js";
import type { ExitCost } from "../protocol.js";
// The stored `wasmvisor bench` run that README.md's results describe: its figures under Node, for scale.
import { date as nodeRunDate, exits as nodeRows } from "../../../docs/bench-results.json";

export { nodeRunDate };

/** The rows the page measures: the CPUID, OUT and CR3 miss, and their neighbours. */
export const PAGE_EXIT_BENCHMARKS = /^(cpuid|vmcall|out|in|cr0|cr3-miss)$/;
const LOOP_MS = 40;
const RUNS = 3;

export async function measureExitCosts(core: Uint8Array<ArrayBuffer>, onProgress: (label: string) => void): Promise<ExitCost[]> {
  const url = new URL(VMEXIT_GUEST, import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load the benchmark guest ${url.pathname}: HTTP ${response.status}`);
  const kernel = new Uint8Array(await response.arrayBuffer());
  const benchmarks = selectBenchmarks(PAGE_EXIT_BENCHMARKS);
  const { jobs } = await wasmvisorJobs(benchmarks, kernel, core, wallClock);
  const measurements = await measureJobs(jobs, { loopMs: LOOP_MS, runs: RUNS, onProgress: (_done, _total, label) => onProgress(label) });
  return benchmarks.flatMap((b) => {
    const m = measurements.get(`wasmvisor ${b.name}`);
    const nodeNs = nodeRows.find((row) => row.name === b.name)?.results.wasmvisor.median;
    return m ? [{ name: b.name, what: b.what, ns: m.median, spread: m.spread, runs: m.runs, iterations: m.iterations, nodeNs }] : [];
  });
}
