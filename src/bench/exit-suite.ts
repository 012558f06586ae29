// Runs the exit benchmarks (exit-benchmarks.ts) on wasmvisor and on every peer that is installed,
// `runs` times each, and reduces each row to a median and a spread (exit-runs.ts does the runs).
// One run of a peer is one boot of guests/vmexit.elf doing every test word the rows need;
// wasmvisor boots once per distinct configuration (interrupt-flag mode, --vga-trap, INVLPG exiting).

import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { defaultCoreWasmUrl } from "../core/core.js";
import { packageFileUrl } from "../package-files.js";
import { L1_GUEST, VMEXIT_GUEST, type ExitBenchmark } from "./exit-benchmarks.js";
import { measureJobs, wasmvisorJobs, type Job, type Measurement, type RunOptions } from "./exit-runs.js";
import { testTimings, type ClockKind } from "./marker-timing.js";
import { findPeer, type PeerName } from "./peer-runners.js";
import { benchClock } from "./thread-cpu-clock.js";

export type Host = "wasmvisor" | PeerName;
export const HOSTS: readonly Host[] = ["wasmvisor", "qemu", "v86"];

export interface HostStatus {
  host: Host;
  version?: string;
  /** Why this host did not run (not installed): reported, never a failure. */
  skipped?: string;
  /** Why a peer's boot failed (QEMU killed at the guest timeout, ...): its rows are left empty and the bench goes on. */
  failed?: string;
}

export interface RowResult {
  benchmark: ExitBenchmark;
  results: Partial<Record<Host, Measurement>>;
  /** Hosts that could not run this row, and why. */
  skipped: Partial<Record<Host, string>>;
}

export interface SuiteOptions extends RunOptions {
  benchmarks: readonly ExitBenchmark[];
  peers: readonly PeerName[];
  clock: ClockKind;
}

export async function runExitSuite(options: SuiteOptions): Promise<{ hosts: HostStatus[]; rows: RowResult[] }> {
  const rows: RowResult[] = options.benchmarks.map((benchmark) => ({ benchmark, results: {}, skipped: {} }));
  const { hosts, jobs } = await planJobs(options, rows);
  const measurements = await measureJobs(jobs, {
    ...options,
    onJobFailed: (job, reason) => {
      const status = hosts.find((h) => h.host === job.host);
      if (status) status.failed = reason;
      for (const row of rows) if (job.rows.includes(row.benchmark)) row.skipped[job.host] ??= `failed: ${reason}`;
    },
  });
  for (const row of rows) {
    for (const host of HOSTS) {
      const measurement = measurements.get(`${host} ${row.benchmark.name}`);
      if (measurement) row.results[host] = measurement;
    }
  }
  return { hosts, rows };
}

/** The boots one run needs: wasmvisor once per configuration, each installed peer once. */
async function planJobs(options: SuiteOptions, rows: RowResult[]): Promise<{ hosts: HostStatus[]; jobs: Job[] }> {
  const { benchmarks, clock } = options;
  const kernelUrl = packageFileUrl(VMEXIT_GUEST);
  const kernel = await readFile(kernelUrl);
  const core = await readFile(defaultCoreWasmUrl());
  const skip = (which: (b: ExitBenchmark) => boolean, host: Host, reason: string) => {
    for (const row of rows) if (which(row.benchmark)) row.skipped[host] ??= reason;
  };
  const hosts: HostStatus[] = [{ host: "wasmvisor", version: `wasmvisor (node ${process.version})` }];
  const jobs: Job[] = [];

  const l1 = benchmarks.some((b) => b.setup.throughL1) ? await readFile(packageFileUrl(L1_GUEST)) : undefined;
  const ours = await wasmvisorJobs(benchmarks, kernel, core, benchClock(clock), l1);
  for (const [benchmark, reason] of ours.unsupported) skip((b) => b === benchmark, "wasmvisor", reason);
  jobs.push(...ours.jobs);

  const peerRows = benchmarks.filter((b) => b.peers);
  for (const name of options.peers) {
    skip((b) => !b.peers && b.setup.nested === "vmx", name, "VMX is #UD without wasmvisor --nested vmx");
    skip((b) => !b.peers && b.setup.nested === "svm", name, "SVM is #UD without wasmvisor --cpu amd --nested svm");
    skip((b) => !b.peers, name, "VMCALL is #UD without wasmvisor");
    const peer = await findPeer(name);
    if (typeof peer === "string") {
      hosts.push({ host: name, skipped: peer });
      skip((b) => b.peers, name, peer);
    } else {
      hosts.push({ host: name, version: peer.version });
      if (peerRows.length > 0) jobs.push({ host: name, rows: peerRows, mayFail: true, run: async (cmdline) => testTimings(await peer.run(fileURLToPath(kernelUrl), cmdline, clock)) });
    }
  }
  return { hosts, jobs };
}

