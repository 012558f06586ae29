// The VMM's half of the level switches the core makes by itself (assembly/vm/level-switch.ts, svm-switch.ts): the
// core's level-switch area as words (the record of which level runs, NestedVmx and NestedSvm read
// and write it, and L0's controls for L1 set aside while L2 runs), whether the core may enter L2 at L1's VMRESUME, VMLAUNCH or VMRUN and reflect L2's CPUID into L1
// without calling the VMM, and the counts of those exits. It may only while nobody watches exits one by one (allow(), as for the exits the
// core completes, exits-in-core.ts) and no interrupt waits (arm(), before the guest runs on after
// each exit the VMM handled): the VMM's part of such a switch is then nothing but counting it.

import {
  LEVEL_SWITCH_BYTES, LS_ENABLED, LS_INTERRUPTS_WAIT, LS_L1_CONTROLS, LS_L1_LINK, LS_L1_VMCS, LS_L2_VMCS, LS_NONE, LS_REFLECTED_CPUID_LO, LS_SVM_L2, LS_VMLAUNCHES_LO,
  LS_VMRESUMES_LO, LS_SVM_CPUID_VMEXITS_LO, LS_SVM_VMRUNS_LO,
} from "../../../assembly/level-switch-layout.js";
import { C_PIN, EXIT_CPUID, EXIT_SVM_VMRUN, EXIT_VMLAUNCH, EXIT_VMRESUME } from "../../../assembly/vmcs-layout.js";
import { VMEXIT_CPUID } from "../../../assembly/vmcb-layout.js";
import type { CoreExports } from "../../core/core-exports.js";
import { EXIT_OF_L1, EXIT_REFLECTED, type ExitKind } from "../exit-level.js";
import type { CountRecorder } from "../exit-stats.js";

/** The level-switch area's words: the core's (a view made again when memory grew), or, without a core, plain ones. */
export type LevelWords = () => Uint32Array;

/** A fresh area's words for a VM without a core (tests' stand-ins): L1 runs, with no VMCS and no link. */
export function wordsWithoutCore(): LevelWords {
  const words = new Uint32Array(LEVEL_SWITCH_BYTES >> 2);
  words[LS_L2_VMCS >> 2] = LS_NONE;
  words[LS_L1_LINK >> 2] = LS_NONE;
  words[LS_L1_VMCS >> 2] = LS_NONE;
  return () => words;
}

/** L0's control word `field` (a C_* offset) for L1, set aside in the area while L2 runs (under VMX or SVM). */
export function savedL0Control(level: LevelWords, field: number): number {
  return level()[(LS_L1_CONTROLS + field - C_PIN) >> 2];
}

/** Whether a guest hypervisor's guest (L2) runs, under VMX or SVM (the core's l2Runs()). */
export function l2Runs(level: LevelWords): boolean {
  const words = level();
  return words[LS_L2_VMCS >> 2] !== LS_NONE || words[LS_SVM_L2 >> 2] !== 0;
}

/**
 * Each exit's reason, kind, what it is at its level (SVM's L1 sees #VMEXIT codes) and count's
 * offset: L2's CPUID reflected into L1, L1's entries into L2 (VMRESUME, VMLAUNCH, VMRUN).
 */
const COUNTERS: ReadonlyArray<[number, ExitKind, number, number]> = [
  [EXIT_CPUID, EXIT_REFLECTED, EXIT_CPUID, LS_REFLECTED_CPUID_LO],
  [EXIT_VMRESUME, EXIT_OF_L1, EXIT_VMRESUME, LS_VMRESUMES_LO],
  [EXIT_VMLAUNCH, EXIT_OF_L1, EXIT_VMLAUNCH, LS_VMLAUNCHES_LO],
  [EXIT_CPUID, EXIT_REFLECTED, VMEXIT_CPUID, LS_SVM_CPUID_VMEXITS_LO],
  [EXIT_SVM_VMRUN, EXIT_OF_L1, EXIT_SVM_VMRUN, LS_SVM_VMRUNS_LO],
];

export class CoreLevelSwitch {
  private view = new Uint32Array(0);
  private allowed = false;

  constructor(private readonly core: Pick<CoreExports, "memory" | "levelSwitchArea">) {}

  /** The area as 32-bit words, made again if memory grew since (a detached view has length 0). */
  readonly words: LevelWords = () => {
    if (this.view.length === 0) this.view = new Uint32Array(this.core.memory.buffer, this.core.levelSwitchArea(), LEVEL_SWITCH_BYTES >> 2);
    return this.view;
  };

  /** Whether the VMM may leave switches to the core (nobody watches exits one by one); false takes effect at once. */
  allow(on: boolean): void {
    this.allowed = on;
    if (!on) this.words()[LS_ENABLED >> 2] = 0;
  }

  /** Before the guest runs on: the core may switch levels until the VMM is called next, if allowed and `nothingWaits`. */
  arm(nothingWaits: boolean): void {
    const words = this.words();
    words[LS_ENABLED >> 2] = this.allowed && nothingWaits ? 1 : 0;
    words[LS_INTERRUPTS_WAIT >> 2] = nothingWaits ? 0 : 1; // L1's STGI exits for the VMM to deliver them
  }

  /** Hands the exits whose switch the core made since the last call to `record`, and clears their counts. */
  drainCounts(record: CountRecorder): void {
    const words = this.words();
    for (const [reason, kind, atLevel, counter] of COUNTERS) {
      const at = counter >> 2;
      const count = words[at] + words[at + 1] * 0x1_0000_0000;
      if (count === 0) continue;
      words[at] = 0;
      words[at + 1] = 0;
      record(reason, count, kind, atLevel);
    }
  }
}
