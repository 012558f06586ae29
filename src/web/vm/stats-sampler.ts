// Turns the VM's cumulative counters into the samples the page charts: per exit reason the count
// and its rate over the last interval, exits per second, host nanoseconds per exit in the VMM
// (handler-timer.ts: the handler's time, never the guest's run between exits; undefined while the
// browser's clock is too coarse for the exits so far), guest MIPS and the share of it compiled code
// retired, and the shadow MMU's counters
// with the CR3-target hits and misses (src/vmm/mmu-stats.ts), by their report labels. Under
// nesting, once L2 has exited, the same counters per level (src/vmm/exit-level.ts): L1's exits,
// L2's reflected into L1, L2's that L0 handled, each with the VMM's ns per exit at that level.
// Under bt, each kind of rewrite translated code performed (inline or callout), with its rate: the
// work that took the place of exits.

import type { HandlerTime, HandlerTimer } from "../../vmm/handler-timer.js";
import { compiledCodeStatistics, type ExitReasonStats, type LevelStatistics } from "../../vmm/exit-stats.js";
import { EXIT_HELD_INTERRUPT, EXIT_OF_L1, EXIT_OF_L2, EXIT_REFLECTED, type ExitKind } from "../../vmm/exit-level.js";
import { MMU_STATISTIC_LABELS } from "../../vmm/mmu-stats.js";
import type { VirtualMachine } from "../../vmm/virtual-machine.js";
import { rewriteCounts } from "../../vmm/bt/translation-stats.js";
import type { ExitCounter, LevelCounters, RewriteCounter, StatsSample } from "../protocol.js";

interface Totals {
  wallMs: number;
  runSeconds: number;
  instructions: number;
  /** Since boot, all and those compiled code retired (the compiled-share counters). */
  retiredSinceBoot: number;
  compiled: number;
  exits: number;
  handling: HandlerTime;
  byReason: Map<number, number>;
  /** Per level's list (LevelStatistics' keys), the counts by reason. */
  byLevel: Map<string, number>;
  /** Under bt: each rewrite's count, by its name ("inline CLI"). */
  rewrites: Map<string, number>;
}


const LEVEL_KINDS: Record<keyof LevelStatistics, ExitKind[]> = { l1: [EXIT_OF_L1], reflected: [EXIT_REFLECTED, EXIT_HELD_INTERRUPT], l2: [EXIT_OF_L2] };
const levelKey = (level: keyof LevelStatistics, reason: number) => `${level} ${reason}`;

export class StatsSampler {
  private readonly bootMs = performance.now();
  private previous: Totals;

  constructor(
    private readonly vm: VirtualMachine,
    private readonly timer: HandlerTimer,
  ) {
    this.previous = this.totals();
  }

  sample(): StatsSample {
    const now = this.totals();
    const last = this.previous;
    this.previous = now;
    const seconds = Math.max(1e-6, (now.wallMs - last.wallMs) / 1000);
    const stats = this.vm.statistics();
    const deltaRun = now.runSeconds - last.runSeconds;
    return {
      time: (now.wallMs - this.bootMs) / 1000,
      exits: stats.exits.map(({ reason, name, code, count }) => ({
        reason,
        name,
        code,
        count,
        perSecond: (count - (last.byReason.get(reason) ?? 0)) / seconds,
        nsPerExit: this.timer.nsPerExit(this.timer.time(reason)),
      })),
      ...(stats.levels && { levels: this.levelCounters(stats.levels, last, seconds) }),
      ...(stats.translation && { rewrites: this.rewriteCounters(now, last, seconds) }),
      totalExits: stats.totalExits,
      exitsPerSecond: (now.exits - last.exits) / seconds,
      nsPerExit: this.timer.nsPerExit({ exits: now.handling.exits - last.handling.exits, ms: now.handling.ms - last.handling.ms }),
      clock: { stepNs: this.timer.resolutionMs * 1e6, readingNs: this.timer.clockCostMs * 1e6 },
      mips: deltaRun > 0 ? (now.instructions - last.instructions) / deltaRun / 1e6 : 0,
      averageMips: stats.mips,
      instructions: this.vm.instructionsRetired(),
      compiledShare: compiledCodeStatistics(now.retiredSinceBoot - last.retiredSinceBoot, now.compiled - last.compiled).share,
      mmu: Object.fromEntries(MMU_STATISTIC_LABELS.map(([name, label]) => [label, stats.mmu[name]])),
    };
  }

  private levelCounters(levels: LevelStatistics, last: Totals, seconds: number): LevelCounters {
    const counters = (level: keyof LevelStatistics): ExitCounter[] =>
      levels[level].map(({ reason, name, code, count }) => {
        const time = LEVEL_KINDS[level].map((kind) => this.timer.time(reason, kind)).reduce((a, b) => ({ exits: a.exits + b.exits, ms: a.ms + b.ms }));
        return { reason, name, code, count, perSecond: (count - (last.byLevel.get(levelKey(level, reason)) ?? 0)) / seconds, nsPerExit: this.timer.nsPerExit(time) };
      });
    return { l1: counters("l1"), reflected: counters("reflected"), l2: counters("l2") };
  }

  private rewriteCounters(now: Totals, last: Totals, seconds: number): RewriteCounter[] {
    return [...now.rewrites].map(([name, count]) => ({ name, count, perSecond: (count - (last.rewrites.get(name) ?? 0)) / seconds }));
  }

  private totals(): Totals {
    const stats = this.vm.statistics();
    return {
      wallMs: performance.now(),
      runSeconds: stats.seconds,
      instructions: stats.instructions,
      retiredSinceBoot: stats.compiledCode.retired,
      compiled: stats.compiledCode.compiledInstructions,
      exits: stats.totalExits,
      handling: this.timer.total(),
      byReason: new Map(stats.exits.map((e) => [e.reason, e.count])),
      rewrites: new Map(stats.translation ? rewriteCounts(stats.translation) : []),
      byLevel: new Map(
        Object.entries(stats.levels ?? {}).flatMap(([level, list]: [string, ExitReasonStats[]]) => list.map((e) => [levelKey(level as keyof LevelStatistics, e.reason), e.count] as const)),
      ),
    };
  }
}
