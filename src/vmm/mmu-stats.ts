// The shadow MMU's statistics (docs/design.md, "Paging"): the counters the core publishes in the VMCS
// statistics area at every exit (STAT_*), and the CR3-target misses the VMM counts (each one a
// CR-access exit; hits switch inside the core, which counts them). Read whole by
// VirtualMachine.statistics() for `--stats`, `--stats-json` and the browser demo's panel.

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
} from "../../assembly/vmcs-layout.js";
import type { Vmcs } from "../core/vmcs.js";

export interface MmuStatistics {
  /** Accesses the software TLB could not answer (each one looked at the shadow). */
  tlbMisses: number;
  /** Shadow misses resolved by walking the guest's tables, unseen by the guest. */
  hiddenFaults: number;
  /** Page faults the guest's own tables raised, injected into the guest. */
  guestPageFaults: number;
  /** Guest writes to its own page tables (the shadow entries derived from them dropped). */
  pageTableWriteTraps: number;
  shadowPagesInUse: number;
  /** Address spaces given a new shadow, and switches that found an existing one. */
  shadowRootsBuilt: number;
  shadowRootsReused: number;
  /** Times every shadow was dropped (paging-mode changes, the shadow pool exhausted). */
  shadowFlushes: number;
  /** MOV to CR3 that matched a CR3-target value: switched in the core with no exit. */
  cr3TargetHits: number;
  /** MOV to CR3 that missed the list: each one a CR-access exit. */
  cr3TargetMisses: number;
}

const CORE_COUNTERS: Array<[keyof MmuStatistics, number]> = [
  ["tlbMisses", STAT_TLB_MISSES],
  ["hiddenFaults", STAT_HIDDEN_FAULTS],
  ["guestPageFaults", STAT_GUEST_PAGE_FAULTS],
  ["pageTableWriteTraps", STAT_PT_WRITE_TRAPS],
  ["shadowPagesInUse", STAT_SHADOW_PAGES],
  ["shadowRootsBuilt", STAT_SHADOW_ROOTS_BUILT],
  ["shadowRootsReused", STAT_SHADOW_ROOTS_REUSED],
  ["shadowFlushes", STAT_SHADOW_FLUSHES],
  ["cr3TargetHits", STAT_CR3_TARGET_HITS],
];

/** How each counter is labelled in reports, in report order. */
export const MMU_STATISTIC_LABELS: Array<[keyof MmuStatistics, string]> = [
  ["cr3TargetHits", "CR3-target hits (no exit)"],
  ["cr3TargetMisses", "CR3-target misses (exits)"],
  ["tlbMisses", "TLB misses"],
  ["hiddenFaults", "hidden faults (shadow fills)"],
  ["guestPageFaults", "guest page faults"],
  ["pageTableWriteTraps", "page-table write traps"],
  ["shadowPagesInUse", "shadow pages in use"],
  ["shadowRootsBuilt", "shadow roots built"],
  ["shadowRootsReused", "shadow roots reused"],
  ["shadowFlushes", "shadow flushes"],
];

export function readMmuStatistics(vmcs: Vmcs, cr3TargetMisses: number): MmuStatistics {
  const stats = { cr3TargetMisses } as MmuStatistics;
  for (const [name, offset] of CORE_COUNTERS) stats[name] = vmcs.get(offset);
  return stats;
}

/** Whether the guest ever paged (no counter moves without paging). */
export function pagingSeen(stats: MmuStatistics): boolean {
  return stats.shadowRootsBuilt > 0 || stats.cr3TargetMisses > 0;
}
