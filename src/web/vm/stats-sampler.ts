// Turns the VM's cumulative counters into the samples the page charts: per exit reason the count
// and its rate over the last interval, exits per second, host nanoseconds per exit (the VMM's
// exit timer, on in the demo), guest MIPS, the shadow MMU's counters (the STAT_* fields the core
// publishes in the VMCS at every exit) and CR3-target hits (counted by the core, which switches
// without an exit) and misses (each one a CR-access exit, counted by the VMM's list).

import {
  STAT_CR3_TARGET_HITS,
  STAT_GUEST_PAGE_FAULTS,
  STAT_HIDDEN_FAULTS,
  STAT_PT_WRITE_TRAPS,
  STAT_SHADOW_FLUSHES,
  STAT_SHADOW_PAGES,
  STAT_SHADOW_ROOTS_BUILT,
  STAT_SHADOW_ROOTS_REUSED,
  STAT_TLB_MISSES,
} from "../../../assembly/vmcs-layout.js";
import type { VirtualMachine } from "../../vmm/virtual-machine.js";
import type { StatsSample } from "../protocol.js";

const MMU_FIELDS: Array<[name: string, offset: number]> = [
  ["TLB misses", STAT_TLB_MISSES],
  ["hidden faults (shadow fills)", STAT_HIDDEN_FAULTS],
  ["guest page faults", STAT_GUEST_PAGE_FAULTS],
  ["page-table write traps", STAT_PT_WRITE_TRAPS],
  ["shadow pages in use", STAT_SHADOW_PAGES],
  ["shadow roots built", STAT_SHADOW_ROOTS_BUILT],
  ["shadow roots reused", STAT_SHADOW_ROOTS_REUSED],
  ["shadow flushes", STAT_SHADOW_FLUSHES],
];

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
    const { vmcs } = this.vm;
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
      mmu: Object.fromEntries(MMU_FIELDS.map(([name, offset]) => [name, vmcs.get(offset) >>> 0])),
      cr3Hits: vmcs.get(STAT_CR3_TARGET_HITS) >>> 0,
      cr3Misses: this.vm.cr3Targets.misses,
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
