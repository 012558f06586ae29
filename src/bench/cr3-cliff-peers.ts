// The CR3 cliff's switches on the peers, for scale. Neither has a CR3-target list or VM exits:
// both flush their software TLB at a MOV to CR3, so every switch pays the refills of the pages the
// next process touches, whatever the number of address spaces: no cliff. A peer counts no retired instructions to place a timing window by, as
// cr3-cliff.ts does for wasmvisor, so its time per switch is the difference of two runs of
// different lengths between the same two lines: the first (printed before the processes are
// built) and the switch count (printed after they end). Boot, setup and the final checks cancel.

import { fileURLToPath } from "node:url";
import { packageFileUrl } from "../package-files.js";
import { BenchGuestError } from "./bench-guest-error.js";
import type { ClockKind, StampedLine } from "./marker-timing.js";
import type { PeerName, PeerRunner } from "./peer-runners.js";
import { median } from "./report.js";

/** The longer run has this many times the rounds of the shorter. */
const LONG_RUN_FACTOR = 5;
const FIRST_LINE = /^multitask: \d+ processes/;
/** multitask's last count: the switches it made (`m`: also found in a whole run's output). */
export const SWITCHES_LINE = /^multitask: (\d+) switches$/m;

export interface PeerSwitchCost {
  /** Median over the runs of ns per address-space switch. */
  nsPerSwitch: number;
  /** ns per switch of each run (each a short and a long boot). */
  runs: number[];
}

/**
 * ns per switch of the multitask guest (`guest`, a package path) on `peer`, `runs` times: each run
 * boots it with `rounds` and LONG_RUN_FACTOR x `rounds` rounds per process.
 */
export async function peerNsPerSwitch(peer: PeerRunner, guest: string, cmdlineFor: (rounds: number) => string, rounds: number, runs: number, clock: ClockKind): Promise<PeerSwitchCost> {
  const kernel = fileURLToPath(packageFileUrl(guest));
  const span = async (cmdline: string) => switchSpan(await peer.run(kernel, cmdline, clock, SWITCHES_LINE, "done-line"), `${kernel} "${cmdline}" on ${peer.name}`);
  const perRun: number[] = [];
  for (let run = 0; run < runs; run++) {
    const short = await span(cmdlineFor(rounds));
    const long = await span(cmdlineFor(rounds * LONG_RUN_FACTOR));
    if (long.switches <= short.switches) throw new BenchGuestError(`multitask on ${peer.name}: ${long.switches} switches in the long run, ${short.switches} in the short`);
    perRun.push(((long.ms - short.ms) * 1e6) / (long.switches - short.switches));
  }
  return { nsPerSwitch: median(perRun), runs: perRun };
}

/** The ms between the first line and the switch count, and the switches. */
export function switchSpan(lines: readonly StampedLine[], what: string): { ms: number; switches: number } {
  const first = lines.find((l) => FIRST_LINE.test(l.text));
  const last = lines.find((l) => SWITCHES_LINE.test(l.text));
  if (first === undefined || last === undefined) throw new BenchGuestError(`${what}: no ${first === undefined ? "first line" : "switch count"} printed`);
  if (!Number.isFinite(first.at) || !Number.isFinite(last.at)) throw new BenchGuestError(`${what}: a line came without a time stamp`);
  return { ms: last.at - first.at, switches: Number(SWITCHES_LINE.exec(last.text)![1]) };
}

export type PeerCliff = Partial<Record<PeerName, PeerSwitchCost>>;
