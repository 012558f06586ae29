// The VMM's half of the exits the core completes itself (assembly/vm/exits-in-core.ts): CPUID
// answered from the VM's CPU model, which this writes into the core's area when the VM is made,
// and IN/OUT to latched ports, registers that only hold what was last written, which devices keep
// in cells of that area (latch()). The exits still happen, and are counted: the core counts them,
// and ExitStats takes the counts over whenever it is read (drainCounts). The exit dispatcher allows
// it only while nobody watches exits one by one (allow()), so a trace, exit timing, a listener or
// a pre-dispatch stage sees every exit as before.

import {
  CPUID_RANGE_SIZE,
  EXITS_IN_CORE_BYTES,
  IC_CPUID_EXITS_LO,
  IC_CPUID_RANGE_COUNT,
  IC_CPUID_RANGES,
  IC_ENABLED,
  IC_IO_EXITS_LO,
  IC_LATCH_COUNT,
  IC_LATCHES,
  IN_CORE_CPUID,
  IN_CORE_IO,
  LATCH_MASK,
  LATCH_PORT,
  LATCH_SIZE,
  LATCH_VALUE,
  MAX_CPUID_RANGES,
  MAX_LATCHES,
} from "../../assembly/exits-in-core-layout.js";
import { EXIT_CPUID, EXIT_IO } from "../../assembly/vmcs-layout.js";
import type { CoreExports } from "../core/core.js";
import type { Latch } from "../devices/latch.js";
import type { CpuidRange } from "./exits/cpuid.js";

/** Each kind's exit reason and the word of its count. */
const COUNTERS = [[EXIT_CPUID, IC_CPUID_EXITS_LO >> 2], [EXIT_IO, IC_IO_EXITS_LO >> 2]] as const;

export class ExitsInCore {
  private words = new Uint32Array(0);
  /** What the area supports: CPUID when the model fits, I/O once a port is latched. */
  private kinds = 0;
  private allowed = false;

  constructor(private readonly core: Pick<CoreExports, "memory" | "exitsInCoreArea">) {}

  /** The area as 32-bit words, made again if memory grew since (a detached view has length 0). */
  private area(): Uint32Array {
    if (this.words.length === 0) this.words = new Uint32Array(this.core.memory.buffer, this.core.exitsInCoreArea(), EXITS_IN_CORE_BYTES >> 2);
    return this.words;
  }

  /** Writes the CPU model's answers; a model with more ranges than the area holds stays with the VMM. */
  programCpuid(ranges: readonly CpuidRange[]): void {
    if (ranges.length > MAX_CPUID_RANGES) return;
    const words = this.area();
    ranges.forEach(({ first, last, result }, i) => words.set([first, last, ...result], (IC_CPUID_RANGES + i * CPUID_RANGE_SIZE) >> 2));
    words[IC_CPUID_RANGE_COUNT >> 2] = ranges.length;
    this.support(IN_CORE_CPUID);
  }

  /**
   * A cell for the register at `port` that keeps the bits of `mask`: the device model keeps the
   * register there, and the core completes IN and OUT to the port itself. Throws past MAX_LATCHES.
   */
  latch(port: number, mask: number): Latch {
    const words = this.area();
    const index = words[IC_LATCH_COUNT >> 2];
    if (index >= MAX_LATCHES) throw new RangeError(`at most ${MAX_LATCHES} latched ports`);
    const at = (IC_LATCHES + index * LATCH_SIZE) >> 2;
    words[at + (LATCH_PORT >> 2)] = port;
    words[at + (LATCH_MASK >> 2)] = mask;
    words[IC_LATCH_COUNT >> 2] = index + 1;
    this.support(IN_CORE_IO);
    const value = at + (LATCH_VALUE >> 2);
    const area = () => this.area();
    return {
      get value() {
        return area()[value];
      },
      set value(byte: number) {
        area()[value] = byte & mask;
      },
    };
  }

  /** Lets the core complete the exits it can (true), or sends every exit to the VMM (false). */
  allow(on: boolean): void {
    this.allowed = on;
    this.area()[IC_ENABLED >> 2] = on ? this.kinds : 0;
  }

  private support(kind: number): void {
    this.kinds |= kind;
    this.allow(this.allowed);
  }

  /** Hands the exits the core completed since the last call to `record` (reason, count), and clears them. */
  drainCounts(record: (reason: number, count: number) => void): void {
    const words = this.area();
    for (const [reason, at] of COUNTERS) {
      const count = words[at] + words[at + 1] * 0x1_0000_0000;
      if (count === 0) continue;
      words[at] = 0;
      words[at + 1] = 0;
      record(reason, count);
    }
  }
}
