// The CR3-target cliff (docs/design.md, "Paging"): guests/multitask.elf runs N = 1..8 user processes,
// each in its own page directory, switching round-robin with a yield system call, and every
// switch is a MOV to CR3. With the VMM's four CR3-target slots, up to four address spaces switch
// inside the core with no VM exit once each has been loaded; from five on, LRU refill on a
// round-robin cycle misses every time, so each switch costs a CR-access exit to the VMM (which
// finds the existing shadow and refills a slot). This measures, per N, nanoseconds per address-
// space switch and exits per switch (CR3 loads that missed the target list, from the VMM's
// CR3-target list; CR-access exits of any kind, from the VM's exit statistics), in wall time and
// in the CPU time of the thread that runs the guest, which other processes on the machine disturb
// less than wall time.
//
// The time per switch is taken while the guest does nothing but switch: from its 25th to its 85th
// percent of switches (WINDOW), which a first, untimed run of the same guest places in retired
// instructions (the guest is deterministic); switches are counted as CR3 loads (target hits plus
// misses). Boot, setting up the address spaces, compiling the blocks and the final checks are
// outside it. Dividing a whole run's time by its switches, as this did before, spread those
// one-off costs (~15 ms of CPU under load: ~0.8 µs a switch at 20,000 switches) evenly over every
// N, which flattened the cliff; that figure is still reported (whole-run CPU ns/switch).
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
import { VirtualMachine, type RunResult } from "../vmm/virtual-machine.js";
import type { Cr3Policy } from "../vmm/vm-config.js";
import { BenchGuestError } from "./bench-guest-error.js";
import { SWITCHES_LINE, peerNsPerSwitch, type PeerCliff } from "./cr3-cliff-peers.js";
import type { ClockKind } from "./marker-timing.js";
import { HOST_TITLES } from "./exit-report.js";
import { PEER_NAMES, type PeerRunner } from "./peer-runners.js";
import { threadCpuClock } from "./thread-cpu-clock.js";
import { median } from "./report.js";

export const MULTITASK_GUEST = "guests/multitask.elf";

export interface Cr3CliffOptions {
  /** Process counts to measure (default 1-8). */
  processes?: readonly number[];
  /** Address-space switches per run, shared out as rounds per process (default 20,000). */
  switches?: number;
  /** Timed runs per process count, after an untimed one; the median ns per switch is reported (default 3). */
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
  /** Peers to run PEER_PROCESS_COUNTS on, for scale (cr3-cliff-peers.ts), by `clock`. */
  peers?: readonly PeerRunner[];
  clock?: ClockKind;
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
  /** Median over the runs of the run loop's wall time in the WINDOW / the switches in it. */
  nsPerSwitch: number;
  /** ns per switch of each run. */
  runs: number[];
  /**
   * The same in this thread's CPU time in the run loop (thread-cpu-clock.ts): less disturbed when
   * other processes share the machine's CPUs.
   */
  cpuNsPerSwitch: number;
  /** CPU ns per switch of each run. */
  cpuRuns: number[];
  /** Median over the runs of their whole CPU time / their switches: boot and block compiles included. */
  wholeRunCpuNsPerSwitch: number;
  /** Switches in the WINDOW (the first timed run's; the guest is deterministic). */
  timedSwitches: number;
  instructionsPerSwitch: number;
  /** ns per switch on each peer that ran, by the bench's clock. */
  peers: PeerCliff;
}

/** The process counts the peers run: either side of the cliff (their boots take seconds, v86's through SeaBIOS). */
export const PEER_PROCESS_COUNTS: readonly number[] = [4, 5];
/** The part of a run that is timed, as shares of its switches: steady switching, no boot and no end. */
export const WINDOW = { from: 0.25, to: 0.85 } as const;
/** Instructions per step of the untimed run that finds where the WINDOW lies. */
const SIZING_STEP = 2_000;

export async function measureCr3Cliff(options: Cr3CliffOptions = {}): Promise<Cr3CliffPoint[]> {
  const { processes = [1, 2, 3, 4, 5, 6, 7, 8], switches = 20_000, runs = 3, light = true, cr3Targets, cr3Policy, timeoutSeconds = 300, warmupRuns = 1, peers = [], clock = "wall" } = options;
  const kernel = readFileSync(packageFileUrl(MULTITASK_GUEST));
  const core = options.core ?? readFileSync(defaultCoreWasmUrl());
  for (const n of processes) {
    if (!Number.isInteger(n) || n < 1 || n > 8) throw new RangeError(`multitask runs 1 to 8 processes, not ${n}`);
  }
  const cmdlineFor = (n: number, rounds: number) => `${MULTITASK_GUEST} ${n} ${rounds} yield${light ? " light" : ""}`;

  const boot = (n: number, rounds: number) => {
    const cmdline = cmdlineFor(n, rounds);
    const run = { cmdline, output: "" };
    const vm = VirtualMachine.boot(kernel, { core, cmdline, cr3Targets, cr3Policy, serialOutput: (byte) => (run.output += String.fromCharCode(byte)) });
    return { run, vm };
  };
  /** Runs `vm` to instruction `until` (or to its end); throws unless it got there, or exited cleanly at its end. */
  const runTo = (vm: VirtualMachine, run: { cmdline: string; output: string }, label: string, until?: number): RunResult => {
    const result = vm.run({ timeoutSeconds, maxInstructions: until });
    if (until === undefined || result.stop.kind !== "instruction-limit") checkEnded(result, run, label);
    return result;
  };
  const checkEnded = (result: RunResult, run: { cmdline: string; output: string }, label: string) => {
    const done = SWITCHES_LINE.exec(run.output);
    if (result.stop.kind !== "guest-exit" || result.stop.code !== 0 || done === null) {
      throw new BenchGuestError(`${MULTITASK_GUEST} "${run.cmdline}" ${label}: ${describeStop(result.stop)}${done === null ? " (no switch count printed)" : ""}`);
    }
  };
  const switchesPrinted = (output: string) => Number(SWITCHES_LINE.exec(output)![1]);
  const cr3Loads = (vm: VirtualMachine) => vm.vmcs.get(STAT_CR3_TARGET_HITS) + vm.cr3Targets.misses;

  /** An untimed run in steps: its counters, and the retired instructions where the WINDOW begins and ends. */
  const sizingRun = async (n: number, rounds: number, label: string) => {
    const { run, vm: booting } = boot(n, rounds);
    const vm = await booting;
    let from: number | undefined;
    let to: number | undefined;
    const marks: { instructions: number; loads: number }[] = [];
    for (;;) {
      const result = runTo(vm, run, label, vm.instructionsRetired() + SIZING_STEP);
      marks.push({ instructions: vm.instructionsRetired(), loads: cr3Loads(vm) });
      if (result.stop.kind !== "instruction-limit") break;
    }
    const switched = switchesPrinted(run.output);
    for (const mark of marks) {
      if (from === undefined && mark.loads >= switched * WINDOW.from) from = mark.instructions;
      if (to === undefined && mark.loads >= switched * WINDOW.to) to = mark.instructions;
    }
    if (from === undefined || to === undefined || to <= from) throw new BenchGuestError(`${MULTITASK_GUEST} "${run.cmdline}" ${label}: too few switches (${switched}) to time`);
    return { vm, switched, from, to };
  };

  /** One timed run: wall and CPU ns per switch in the WINDOW, and the whole run's CPU ns per switch. */
  const timedRun = async (n: number, rounds: number, window: { from: number; to: number }, label: string) => {
    const { run, vm: booting } = boot(n, rounds);
    const vm = await booting;
    const cpuStart = threadCpuClock();
    runTo(vm, run, label, window.from);
    const [cpuFrom, wallFrom, loadsFrom] = [threadCpuClock(), performance.now(), cr3Loads(vm)];
    runTo(vm, run, label, window.to);
    const [cpuTo, wallTo, loadsTo] = [threadCpuClock(), performance.now(), cr3Loads(vm)];
    runTo(vm, run, label);
    const cpuEnd = threadCpuClock();
    const between = loadsTo - loadsFrom;
    return { between, ns: ((wallTo - wallFrom) * 1e6) / between, cpuNs: ((cpuTo - cpuFrom) * 1e6) / between, wholeRunCpuNs: ((cpuEnd - cpuStart) * 1e6) / switchesPrinted(run.output) };
  };

  for (let run = 1; run <= warmupRuns && processes.length > 0; run++) {
    const { run: guest, vm } = boot(processes[0], Math.max(2, Math.round(switches / processes[0])));
    runTo(await vm, guest, `warm-up run ${run}`);
  }

  const points: Cr3CliffPoint[] = [];
  for (const n of processes) {
    const rounds = Math.max(2, Math.round(switches / n));
    const { vm, switched, from, to } = await sizingRun(n, rounds, "first run");
    const cr3Exits = vm.cr3Targets.misses;
    const crAccessExits = vm.stats.count(EXIT_CR_ACCESS);
    const timed: Awaited<ReturnType<typeof timedRun>>[] = [];
    for (let run = 1; run <= runs; run++) timed.push(await timedRun(n, rounds, { from, to }, `run ${run}`));
    const onPeers: PeerCliff = {};
    if (PEER_PROCESS_COUNTS.includes(n)) for (const peer of peers) onPeers[peer.name] = await peerNsPerSwitch(peer, MULTITASK_GUEST, (r) => cmdlineFor(n, r), rounds, runs, clock);
    points.push({
      processes: n,
      roundsPerProcess: rounds,
      switches: switched,
      cr3Exits,
      targetHits: vm.vmcs.get(STAT_CR3_TARGET_HITS),
      crAccessExits,
      cr3ExitsPerSwitch: cr3Exits / switched,
      exitsPerSwitch: crAccessExits / switched,
      instructionsPerSwitch: vm.instructionsRetired() / switched,
      nsPerSwitch: median(timed.map((t) => t.ns)),
      runs: timed.map((t) => t.ns),
      cpuNsPerSwitch: median(timed.map((t) => t.cpuNs)),
      cpuRuns: timed.map((t) => t.cpuNs),
      wholeRunCpuNsPerSwitch: median(timed.map((t) => t.wholeRunCpuNs)),
      timedSwitches: timed[0].between,
      peers: onPeers,
    });
  }
  return points;
}

/** One row per process count: the cliff as a table; `clockName` is the clock the peers' columns were measured by. */
export function formatCr3Cliff(points: readonly Cr3CliffPoint[], clockName = "wall"): string {
  const peerNames = PEER_NAMES.filter((name) => points.some((p) => p.peers[name] !== undefined));
  const header = ["processes", "switches", "CR3 exits", "target hits", "exits/switch", "ns/switch", "CPU ns/switch", "whole-run CPU ns/switch", ...peerNames.map((name) => `${HOST_TITLES[name]} ns/switch`), "runs (ns/switch)"];
  const rows = points.map((p) => [
    String(p.processes),
    String(p.switches),
    String(p.cr3Exits),
    String(p.targetHits),
    p.cr3ExitsPerSwitch.toFixed(3),
    p.nsPerSwitch.toFixed(0),
    p.cpuNsPerSwitch.toFixed(0),
    p.wholeRunCpuNsPerSwitch.toFixed(0),
    ...peerNames.map((name) => p.peers[name]?.nsPerSwitch.toFixed(0) ?? "-"),
    p.runs.map((ns) => ns.toFixed(0)).join(" "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padStart(widths[i]))).join("  ");
  const note = peerNames.length === 0 ? [] : [
    `${peerNames.map((name) => HOST_TITLES[name]).join(" and ")}: ${clockName} ns per switch from two runs of different lengths (their difference); no CR3-target list and no exits: a TLB flush at every MOV to CR3`,
  ];
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), ...note].join("\n");
}
