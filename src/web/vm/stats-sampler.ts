// Turns the VM's cumulative counters into the samples the page charts: per exit reason the count
// and its rate over the last interval, exits per second, host nanoseconds per exit (the VMM's
// exit timer, on in the demo), guest MIPS, and the shadow MMU's counters with the CR3-target hits
// and misses (src/vmm/mmu-stats.ts), by their report labels.

import { MMU_STATISTIC_LABELS } from "../../vmm/mmu-stats.js";
import type { VirtualMachine } from "../../vmm/virtual-machine.js";
import type { StatsSample } from "../protocol.js";

interface Totals {
  wallMs: number;
  runSeconds: number;
  instructions: number;
  exits: number;
  timedMs: number;
  timedExits: number;
  byReason: Map<number, number>;
}

export class StatsSampler {
  private readonly bootMs = performance.now();
  private previous: Totals;

  constructor(private readonly vm: VirtualMachine) {
    this.previous = this.totals();
  }

  sample(): StatsSample {
    const now = this.totals();
    const last = this.previous;
    this.previous = now;
    const seconds = Math.max(1e-6, (now.wallMs - last.wallMs) / 1000);
    const stats = this.vm.statistics();
    const deltaTimedExits = now.timedExits - last.timedExits;
    const deltaRun = now.runSeconds - last.runSeconds;
    return {
      time: (now.wallMs - this.bootMs) / 1000,
      exits: stats.exits.map(({ reason, name, count, nsPerExit }) => ({
        reason,
        name,
        count,
        perSecond: (count - (last.byReason.get(reason) ?? 0)) / seconds,
        nsPerExit,
      })),
      totalExits: stats.totalExits,
      exitsPerSecond: (now.exits - last.exits) / seconds,
      nsPerExit: deltaTimedExits > 0 ? ((now.timedMs - last.timedMs) * 1e6) / deltaTimedExits : undefined,
      mips: deltaRun > 0 ? (now.instructions - last.instructions) / deltaRun / 1e6 : 0,
      averageMips: stats.mips,
      instructions: this.vm.instructionsRetired(),
      mmu: Object.fromEntries(MMU_STATISTIC_LABELS.map(([name, label]) => [label, stats.mmu[name]])),
    };
  }

  private totals(): Totals {
    const stats = this.vm.statistics();
    let timedMs = 0;
    let timedExits = 0;
    for (const entry of stats.exits) {
      // Exit timing is on from boot, and every run ends by charging its last exits: all are timed.
      if (entry.totalMs === undefined) continue;
      timedMs += entry.totalMs;
      timedExits += entry.count;
    }
    return {
      wallMs: performance.now(),
      runSeconds: stats.seconds,
      instructions: stats.instructions,
      exits: stats.totalExits,
      timedMs,
      timedExits,
      byReason: new Map(stats.exits.map((e) => [e.reason, e.count])),
    };
  }
}
