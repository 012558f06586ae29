// Statistics of VM exits by reason, the first thing to look at when a guest is slow, since every
// exit is a round trip from the core to a TypeScript handler: how many, how much host time they
// took (when exit timing is on, see exit-timer.ts) and how many guest instructions ran between
// them; plus the guest instructions and run-loop time of all runs, for MIPS. Counting costs one
// typed-array increment per exit. A saved machine keeps the counts, which the guest can read
// (hypercall 4); times and MIPS belong to the host process that measured them. Under nesting the
// same figures are kept apart by level (exit-level.ts): L1's exits, L2's that L0 handled, L2's
// reflected into L1; these too are the process's own (a machine is saved only while L1 runs).

import { EXIT_REASON_LIMIT, exitReasonCode, exitReasonName } from "./exits/table.js";
import { StatePath } from "../devices/saved-values.js";
import type { MmuStatistics } from "./mmu-stats.js";
import type { TranslationStatistics } from "./bt/translation-stats.js";
import type { InterpretedForm } from "./interpreted-forms.js";
import { EXIT_HELD_INTERRUPT, EXIT_KINDS, EXIT_OF_L1, type ExitKind } from "./exit-level.js";

export interface ExitReasonStats {
  reason: number;
  name: string;
  /** The reason's number as its manual writes it: 10, the core's 0x104, or under SVM, at the reflected level, the #VMEXIT code 0x72. */
  code: string;
  count: number;
  /** Host time charged to these exits, in ms: from each exit to the next (undefined if not timed). */
  totalMs?: number;
  nsPerExit?: number;
  /** Guest instructions retired between one of these exits and the next, on average. */
  instructionsPerExit?: number;
}

export interface VmStatistics {
  /** Reasons that occurred, most frequent first. */
  exits: ExitReasonStats[];
  totalExits: number;
  /** Guest instructions retired, and wall-clock time in the run loop, over all runs. */
  instructions: number;
  seconds: number;
  mips: number;
  /** Whether exits were timed (VirtualMachineOptions.timeExits). */
  timed: boolean;
  /** The shadow MMU's counters and the CR3-target hits and misses. */
  mmu: MmuStatistics;
  /** How much of the guest's work compiled blocks did, since boot (a restored VM's included). */
  compiledCode: CompiledCodeStatistics;
  /**
   * Entries the core ended early for the host work the guest caused (shadow-table scans,
   * compiling), so the run loop could look at the wall clock: not exits, the guest sees none.
   */
  hostWorkYields: number;
  /** Under `--if-mode bt`: what binary translation did (bt/translation-stats.ts). */
  translation?: TranslationStatistics;
  /** Once a guest hypervisor's guest (L2) has exited: the exits by level, since this process made or restored the VM. */
  levels?: LevelStatistics;
}

/** The exits by level under nesting (exit-level.ts), each list by reason, most frequent first. */
export interface LevelStatistics {
  /** Exits of L1, the guest L0 runs: L0 handles them. */
  l1: ExitReasonStats[];
  /** Exits of L2 that L1 did not ask for: L0 handled them and L2 resumed. */
  l2: ExitReasonStats[];
  /**
   * Exits of L2 reflected into L1 (L1 asked for them): what L1 saw, by the reason written into its
   * VMCS (under SVM: by the #VMEXIT code written into its VMCB, named as the APM names it). Interrupts for L1 held while L2 ran are here too (reason 1), with no exit of the core's.
   */
  reflected: ExitReasonStats[];
}

export interface CompiledCodeStatistics {
  /** Guest instructions retired since boot, and those of them that compiled blocks retired. */
  retired: number;
  compiledInstructions: number;
  /** compiledInstructions / retired (0 before the first instruction). */
  share: number;
  /**
   * With VirtualMachineOptions.countInterpretedForms: the instructions the interpreter performed
   * where compiled code could have run, by form, most frequent first (this process's runs only).
   */
  interpretedForms?: InterpretedForm[];
  /**
   * With VirtualMachineOptions.timeExits: the regions the compiling tier compiled since the VM was
   * made, the guest blocks they hold, and the host ms (wall) the compiles took.
   */
  compiling?: { regions: number; blocks: number; ms: number };
}

export function compiledCodeStatistics(
  retired: number, compiledInstructions: number, interpretedForms?: InterpretedForm[], compiling?: CompiledCodeStatistics["compiling"],
): CompiledCodeStatistics {
  return {
    retired, compiledInstructions, share: retired > 0 ? compiledInstructions / retired : 0, ...(interpretedForms && { interpretedForms }),
    ...(compiling && { compiling: { regions: compiling.regions, blocks: compiling.blocks, ms: compiling.ms } }),
  };
}

/** Counts and times of one set of exits, by reason. */
class ReasonTable {
  readonly counts = new Float64Array(EXIT_REASON_LIMIT);
  readonly timeMs = new Float64Array(EXIT_REASON_LIMIT);
  readonly timedCounts = new Float64Array(EXIT_REASON_LIMIT);
  readonly instructionsBetween = new Float64Array(EXIT_REASON_LIMIT);

  charge(reason: number, exits: number, ms: number, instructions: number): void {
    this.timeMs[reason] += ms;
    this.timedCounts[reason] += exits;
    this.instructionsBetween[reason] += instructions;
  }

  /** Reasons that occurred, most frequent first; those of `also` added in (both counts and times). */
  entries(also?: ReasonTable, name: (reason: number) => string = exitReasonName, code: (reason: number) => string = exitReasonCode): ExitReasonStats[] {
    const list: ExitReasonStats[] = [];
    this.counts.forEach((own, reason) => {
      const count = own + (also?.counts[reason] ?? 0);
      if (count === 0) return;
      const entry: ExitReasonStats = { reason, name: name(reason), code: code(reason), count };
      const timedCount = this.timedCounts[reason] + (also?.timedCounts[reason] ?? 0);
      if (timedCount > 0) {
        const ms = this.timeMs[reason] + (also?.timeMs[reason] ?? 0);
        entry.totalMs = ms;
        entry.nsPerExit = (ms * 1e6) / timedCount;
        entry.instructionsPerExit = (this.instructionsBetween[reason] + (also?.instructionsBetween[reason] ?? 0)) / timedCount;
      }
      list.push(entry);
    });
    return list.sort((a, b) => b.count - a.count || a.reason - b.reason);
  }

  get total(): number {
    return this.counts.reduce((sum, n) => sum + n, 0);
  }
}

/** Hands over `count` exits of `reason` of one kind (exit-level.ts; L1's when not said), `atLevel` at their level (ExitStats.record). */
export type CountRecorder = (reason: number, count: number, kind?: ExitKind, atLevel?: number) => void;

export class ExitStats {
  /** Every exit the core reported, whatever its level; what is saved and what the guest can read. */
  private readonly all = new ReasonTable();
  private readonly counts = this.all.counts;
  /** The same exits by kind (exit-level.ts), plus the held interrupts reflected into L1. */
  private readonly kinds = Array.from({ length: EXIT_KINDS }, () => new ReasonTable());
  private runInstructions = 0;
  private runSeconds = 0;
  private timed = false;
  private hostWorkYields = 0;
  /** Exits counted elsewhere (the core's own: exits-in-core.ts, the level switch), taken over whenever counts are read. */
  private readonly countedElsewhere: Array<(record: CountRecorder) => void> = [];
  /** The exits the core completes are L1's, unless their source says they were L2's reflected into L1. */
  private readonly takeOver: CountRecorder = (reason, count, kind = EXIT_OF_L1, atLevel = reason) => {
    this.counts[reason] += count;
    this.kinds[kind].counts[atLevel] += count;
  };
  /** The names and numbers of the reflected level's reasons: the core's, or the codes L1 sees (LevelStage.codeName, codeNumber). */
  private reflectedName: (reason: number) => string = exitReasonName;
  private reflectedNumber: (reason: number) => string = exitReasonCode;

  /** Adds the counts `drain` hands over (clearing them at their source) to these, before every read. */
  countAlso(drain: (record: CountRecorder) => void): void {
    this.countedElsewhere.push(drain);
  }

  private takeOverCounts(): void {
    for (const drain of this.countedElsewhere) drain(this.takeOver);
  }

  /**
   * An exit of `kind` (exit-level.ts). Reasons past the table's range are not counted; the run
   * loop stops on them anyway. A held interrupt reflected into L1 is no exit of the core's: it
   * counts at its level only.
   */
  record(reason: number, kind: ExitKind = EXIT_OF_L1, atLevel = reason): void {
    if (reason >= EXIT_REASON_LIMIT || atLevel >= EXIT_REASON_LIMIT) return;
    if (kind !== EXIT_HELD_INTERRUPT) this.counts[reason]++;
    this.kinds[kind].counts[atLevel]++;
  }

  /** How the reflected level names and numbers its reasons (ExitDispatcher.setLevelStage). */
  nameReflected(name: (reason: number) => string, code: (reason: number) => string): void {
    this.reflectedName = name;
    this.reflectedNumber = code;
  }

  /** An entry the core ended for host work (VmStatistics.hostWorkYields). */
  recordHostWorkYield(): void {
    this.hostWorkYields++;
  }

  /** The exit counts of the reasons that occurred. */
  saveCounts(): { reason: number; count: number }[] {
    this.takeOverCounts();
    const counts: { reason: number; count: number }[] = [];
    this.counts.forEach((count, reason) => count > 0 && counts.push({ reason, count }));
    return counts;
  }

  /** `at` is where the counts' list sits, for messages. */
  restoreCounts(counts: { reason: number; count: number }[], at = new StatePath("vmm")): void {
    at.list("exitCounts", counts, EXIT_REASON_LIMIT, (list, { reason, count }, i) => {
      list.at(i).integer("reason", reason, 0, EXIT_REASON_LIMIT - 1);
      list.at(i).counter("count", count);
    });
    this.takeOverCounts(); // the counts restored replace them too
    this.counts.fill(0);
    for (const table of this.kinds) table.counts.fill(0); // the levels count this process's exits
    for (const { reason, count } of counts) this.counts[reason] = count;
  }

  count(reason: number): number {
    this.takeOverCounts();
    return this.counts[reason] ?? 0;
  }

  get total(): number {
    this.takeOverCounts();
    return this.counts.reduce((sum, n) => sum + n, 0);
  }

  /** `exits` consecutive exits of `reason` and `kind` took `ms` of host time, the guest retiring `instructions` in it. */
  charge(reason: number, exits: number, ms: number, instructions: number, kind: ExitKind = EXIT_OF_L1, atLevel = reason): void {
    if (reason >= EXIT_REASON_LIMIT || atLevel >= EXIT_REASON_LIMIT) return;
    this.timed = true;
    if (kind !== EXIT_HELD_INTERRUPT) this.all.charge(reason, exits, ms, instructions);
    this.kinds[kind].charge(atLevel, exits, ms, instructions);
  }

  /** A run of the VM ended. */
  addRun(instructions: number, seconds: number): void {
    this.runInstructions += instructions;
    this.runSeconds += seconds;
  }

  /** Reasons that occurred, most frequent first. */
  entries(): ExitReasonStats[] {
    this.takeOverCounts();
    return this.all.entries();
  }

  /** The exits by level, once L2 has exited (or L0 reflected an interrupt into L1); undefined before. */
  levels(): LevelStatistics | undefined {
    this.takeOverCounts();
    const [l1, l2, reflected, held] = this.kinds;
    if (l2.total + reflected.total + held.total === 0) return undefined;
    return { l1: l1.entries(), l2: l2.entries(), reflected: reflected.entries(held, this.reflectedName, this.reflectedNumber) };
  }

  snapshot(mmu: MmuStatistics, compiledCode: CompiledCodeStatistics): VmStatistics {
    const levels = this.levels();
    return {
      exits: this.entries(),
      totalExits: this.total,
      instructions: this.runInstructions,
      seconds: this.runSeconds,
      mips: this.runSeconds > 0 ? this.runInstructions / this.runSeconds / 1e6 : 0,
      timed: this.timed,
      mmu,
      compiledCode,
      hostWorkYields: this.hostWorkYields,
      ...(levels && { levels }),
    };
  }
}
