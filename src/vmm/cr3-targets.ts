// The CR3-target list, VT-x's cache of address spaces that need no VM exit (SDM 24.6.7, 25.1.3):
// with "CR3-load exiting" on, a MOV to CR3 whose value equals one of the first C_CR3_TARGET_COUNT
// values in C_CR3_TARGETS completes inside the core; any other value exits (reason 28) and the VMM
// decides. Ours puts the new value in a slot, so that switching back to it is free, replacing the
// least recently used slot (or, with the `fifo` policy, the oldest). A guest with up to `count`
// address spaces therefore switches for free after its first visits; one more and, under LRU,
// every switch in a round-robin cycle misses: the cliff of docs/design.md, "Paging".
//
// Hits happen inside the core and the VMM never sees them (the core counts them in
// STAT_CR3_TARGET_HITS), so recency is learned at misses: the CR3 being switched away from was in
// use until that moment. Slots start out holding 0, the CR3 the guest boots with. The count can be
// changed while the guest runs (the browser demo's control), which starts the list afresh. A saved
// machine keeps the slots' ages and the miss count (saveState); the values are in the VMCS.

import { C_CR3_TARGET_COUNT, C_CR3_TARGETS } from "../../assembly/vmcs-layout.js";
import type { Vmcs } from "../core/vmcs.js";
import { StatePath } from "../devices/saved-values.js";
import type { Cr3Policy } from "./vm-config.js";

/** Marks a slot that holds no address space yet: any slot in use is more recent. */
const EMPTY = -1;

export interface Cr3TargetListState {
  stamps: number[];
  clock: number;
  misses: number;
}

export class Cr3TargetList {
  /** Per slot: when it was last used (LRU) or filled (FIFO), on a counter of misses; EMPTY if unused. */
  private stamps: number[] = [];
  private clock = 0;
  /** CR3 loads that missed the list (each one a VM exit). */
  misses = 0;

  constructor(
    private readonly vmcs: Pick<Vmcs, "get" | "set">,
    count: number,
    readonly policy: Cr3Policy,
  ) {
    this.resize(count);
  }

  saveState(): Cr3TargetListState {
    return { stamps: [...this.stamps], clock: this.clock, misses: this.misses };
  }

  /** The slots' ages and the misses; the values and the count come back with the VMCS. */
  restoreState(state: Cr3TargetListState, at = new StatePath("cr3Targets")): void {
    at.counter("clock", state.clock);
    at.counter("misses", state.misses);
    at.list("stamps", state.stamps, this.count, (list, stamp, slot) => list.integer(slot, stamp, EMPTY, state.clock));
    this.stamps = [...state.stamps];
    this.clock = state.clock;
    this.misses = state.misses;
  }

  get count(): number {
    return this.stamps.length;
  }

  /** Sets the CR3-target count (0-4) and empties every slot. */
  resize(count: number): void {
    this.stamps = new Array<number>(count).fill(EMPTY);
    this.vmcs.set(C_CR3_TARGET_COUNT, count);
    for (let slot = 0; slot < 4; slot++) this.vmcs.set(C_CR3_TARGETS + 4 * slot, 0);
  }

  /** The values the core compares a CR3 load against, slot by slot. */
  values(): number[] {
    return this.stamps.map((_, slot) => this.vmcs.get(C_CR3_TARGETS + 4 * slot));
  }

  /**
   * A CR3 load of `value` missed while `outgoing` was the guest's CR3: remember `value` in the slot
   * the policy gives up, so that the next load of it is a hit. Returns that slot, or -1 with no slots.
   */
  miss(outgoing: number, value: number): number {
    this.misses++;
    if (this.count === 0) return -1;
    this.clock++;
    if (this.policy === "lru") this.touch(outgoing);
    const victim = this.victim();
    this.vmcs.set(C_CR3_TARGETS + 4 * victim, value);
    this.stamps[victim] = this.clock;
    return victim;
  }

  /** Marks the slot holding `value` as just used (a loop, not values(): this runs at every miss). */
  private touch(value: number): void {
    for (let slot = 0; slot < this.count; slot++) {
      if (this.stamps[slot] !== EMPTY && this.vmcs.get(C_CR3_TARGETS + 4 * slot) === value >>> 0) {
        this.stamps[slot] = this.clock;
        return;
      }
    }
  }

  /** The slot with the smallest stamp: empty slots first, then least recently used or oldest. */
  private victim(): number {
    let victim = 0;
    for (let slot = 1; slot < this.count; slot++) if (this.stamps[slot] < this.stamps[victim]) victim = slot;
    return victim;
  }
}
