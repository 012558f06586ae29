// The CR3-target cliff (docs/design.md, "Paging"): guests/multitask.elf runs N = 1..8 user processes,
// each in its own page directory, switching round-robin with a yield system call, and every
// switch is a MOV to CR3. With the VMM's four CR3-target slots, up to four address spaces switch
// inside the core with no VM exit once each has been loaded; from five on, LRU refill on a
// round-robin cycle misses every time, so each switch costs a CR-access exit to the VMM (which
// finds the existing shadow and refills a slot). This measures, per N, nanoseconds per address-
// space switch (wall time of the run loop / switches the guest reports) and exits per switch
// (CR3 loads that missed the target list, from the VMM's CR3-target list; CR-access exits of any
// kind, from the VM's exit statistics), and the same per-switch time in the CPU time of the thread
// that runs the guest, which other processes on the machine disturb less than wall time.
//
// The guest runs in `light` mode by default: each round writes and checks one dword per private
// page, so a round is little more than its switch (system call, kernel scheduler, CR3 load, IRET,
// and the TLB refills the new address space needs). ns per switch still includes that work; the
// cliff is the difference between N = 4 and N = 5.

import { readFileSync } from "node:fs";
import { EXIT_CR_ACCESS, STAT_CR3_TARGET_HITS } from "../../assembly/vmcs-layout.js";
import { defaultCoreWasmUrl } from "../core/core.js";
import { packageFileUrl } from "../package-files.js";
import { describeStop } from "../vmm/stop-reason.js";
import { VirtualMachine } from "../vmm/virtual-machine.js";
import type { Cr3Policy } from "../vmm/vm-config.js";
import { BenchGuestError } from "./bench-guest-error.js";
import { threadCpuClock } from "./thread-cpu-clock.js";
import { median } from "./report.js";

export const MULTITASK_GUEST = "guests/multitask.elf";

export interface Cr3CliffOptions {
  /** Process counts to measure (default 1-8). */
  processes?: readonly number[];
  /** Address-space switches per run, shared out as rounds per process (default 20,000). */
  switches?: number;
  /** Runs per process count; the median ns per switch is reported (default 3). */
  runs?: number;
  /** One dword per page per round (default) instead of one in 64. */
  light?: boolean;
  /** CR3-target slots (default 4, the VMM's default) and their refill policy. */
  cr3Targets?: number;
  cr3Policy?: Cr3Policy;
  /** The core's wasm bytes (default build/core.wasm). */
  core?: BufferSource;
  /** Bounds each run (default 300 s). */
  timeoutSeconds?: number;
  /**
   * Untimed runs first (default 1), so that V8 has optimised the core before anything is
   * measured (it reuses the compiled module for the same bytes): otherwise the first process
   * counts measured would pay for the baseline tier.
   */
  warmupRuns?: number;
}

export interface Cr3CliffPoint {
  processes: number;
  roundsPerProcess: number;
  /** Address-space switches (CR3 loads by the guest's scheduler), as the guest reports them. */
  switches: number;
  /** CR3 loads that missed the CR3-target list: each one a VM exit (the first run's). */
  cr3Exits: number;
  /** CR3 loads that hit the list and switched inside the core (the first run's). */
  targetHits: number;
  /** CR-access exits of every kind (CR3 misses plus the guest's CR0 write enabling paging). */
  crAccessExits: number;
  cr3ExitsPerSwitch: number;
  exitsPerSwitch: number;
  /** Median over the runs of run-loop wall time / switches. */
  nsPerSwitch: number;
  /** ns per switch of each run. */
  runs: number[];
  /**
   * Median over the runs of this thread's CPU time in the run loop / switches (marker-timing.ts):
   * the same figure, less disturbed when other processes share the machine's CPUs.
   */
  cpuNsPerSwitch: number;
  /** CPU ns per switch of each run. */
  cpuRuns: number[];
  instructionsPerSwitch: number;
}

const SWITCHES_LINE = /^multitask: (\d+) switches$/m;

export async function measureCr3Cliff(options: Cr3CliffOptions = {}): Promise<Cr3CliffPoint[]> {
  const { processes = [1, 2, 3, 4, 5, 6, 7, 8], switches = 20_000, runs = 3, light = true, cr3Targets, cr3Policy, timeoutSeconds = 300, warmupRuns = 1 } = options;
  const kernel = readFileSync(packageFileUrl(MULTITASK_GUEST));
  const core = options.core ?? readFileSync(defaultCoreWasmUrl());
  for (const n of processes) {
    if (!Number.isInteger(n) || n < 1 || n > 8) throw new RangeError(`multitask runs 1 to 8 processes, not ${n}`);
  }
  const cmdlineFor = (n: number, rounds: number) => `${MULTITASK_GUEST} ${n} ${rounds} yield${light ? " light" : ""}`;

  /** One run: the VM (for its counters), the run's result and CPU time, the switches it printed. */
  const runOnce = async (n: number, rounds: number, label: string) => {
    const cmdline = cmdlineFor(n, rounds);
    let output = "";
    const vm = await VirtualMachine.boot(kernel, { core, cmdline, cr3Targets, cr3Policy, serialOutput: (byte) => (output += String.fromCharCode(byte)) });
    const cpuBefore = threadCpuClock();
    const result = vm.run({ timeoutSeconds });
    const cpuMs = threadCpuClock() - cpuBefore;
    const done = SWITCHES_LINE.exec(output);
    if (result.stop.kind !== "guest-exit" || result.stop.code !== 0 || done === null) {
      throw new BenchGuestError(`${MULTITASK_GUEST} "${cmdline}" ${label}: ${describeStop(result.stop)}${done === null ? " (no switch count printed)" : ""}`);
    }
    return { vm, result, cpuNs: cpuMs * 1e6, switched: Number(done[1]) };
  };

  for (let run = 1; run <= warmupRuns && processes.length > 0; run++) await runOnce(processes[0], Math.max(1, Math.round(switches / processes[0])), `warm-up run ${run}`);

  const points: Cr3CliffPoint[] = [];
  for (const n of processes) {
    const rounds = Math.max(1, Math.round(switches / n));
    const perRun: number[] = [];
    const cpuPerRun: number[] = [];
    let first: Omit<Cr3CliffPoint, "nsPerSwitch" | "runs" | "cpuNsPerSwitch" | "cpuRuns"> | undefined;
    for (let run = 1; run <= runs; run++) {
      const { vm, result, cpuNs, switched } = await runOnce(n, rounds, `run ${run}`);
      perRun.push((result.seconds * 1e9) / switched);
      cpuPerRun.push(cpuNs / switched);
      if (first === undefined) {
        const cr3Exits = vm.cr3Targets.misses;
        const crAccessExits = vm.stats.count(EXIT_CR_ACCESS);
        first = {
          processes: n,
          roundsPerProcess: rounds,
          switches: switched,
          cr3Exits,
          targetHits: vm.vmcs.get(STAT_CR3_TARGET_HITS),
          crAccessExits,
          cr3ExitsPerSwitch: cr3Exits / switched,
          exitsPerSwitch: crAccessExits / switched,
          instructionsPerSwitch: result.instructions / switched,
        };
      }
    }
    points.push({ ...first!, nsPerSwitch: median(perRun), runs: perRun, cpuNsPerSwitch: median(cpuPerRun), cpuRuns: cpuPerRun });
  }
  return points;
}

/** One row per process count: the cliff as a table. */
export function formatCr3Cliff(points: readonly Cr3CliffPoint[]): string {
  const header = ["processes", "switches", "CR3 exits", "target hits", "exits/switch", "ns/switch", "CPU ns/switch", "runs (ns/switch)"];
  const rows = points.map((p) => [
    String(p.processes),
    String(p.switches),
    String(p.cr3Exits),
    String(p.targetHits),
    p.cr3ExitsPerSwitch.toFixed(3),
    p.nsPerSwitch.toFixed(0),
    p.cpuNsPerSwitch.toFixed(0),
    p.runs.map((ns) => ns.toFixed(0)).join(" "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padStart(widths[i]))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
