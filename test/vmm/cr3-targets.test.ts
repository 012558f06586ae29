import { describe, expect, it } from "vitest";
import { C_CR3_TARGET_COUNT, VMCS_SIZE } from "../../assembly/vmcs-layout.js";
import { Vmcs } from "../../src/core/vmcs.js";
import { Cr3TargetList } from "../../src/vmm/cr3-targets.js";
import type { Cr3Policy } from "../../src/vmm/vm-config.js";

/** Runs a guest's sequence of CR3 loads against the list, as the core would: returns the misses. */
function misses(count: number, policy: Cr3Policy, loads: number[]): number[] {
  const vmcs = new Vmcs(new Int32Array(VMCS_SIZE >> 2));
  const list = new Cr3TargetList(vmcs, count, policy);
  let current = 0;
  const missed: number[] = [];
  for (const value of loads) {
    if (!list.values().includes(value)) {
      missed.push(value);
      list.miss(current, value);
    }
    current = value;
  }
  return missed;
}

const cycle = (spaces: number, rounds: number) => Array.from({ length: spaces * rounds }, (_, i) => 0x1000 * ((i % spaces) + 1));

describe("Cr3TargetList", () => {
  it("programs the CR3-target count", () => {
    const vmcs = new Vmcs(new Int32Array(VMCS_SIZE >> 2));
    new Cr3TargetList(vmcs, 3, "lru");
    expect(vmcs.get(C_CR3_TARGET_COUNT)).toBe(3);
  });

  it.each([0, 1, 2, 3, 4])("count %i: up to that many address spaces miss once each, then switch for free", (count) => {
    expect(misses(count, "lru", cycle(Math.max(count, 1), 10))).toHaveLength(count === 0 ? 10 : count);
  });

  it.each([1, 2, 3, 4])("count %i, LRU: one address space more and every switch of a round-robin cycle misses", (count) => {
    expect(misses(count, "lru", cycle(count + 1, 10))).toHaveLength((count + 1) * 10);
  });

  it("LRU keeps what the guest keeps coming back to (learning recency at misses); FIFO evicts it once it is oldest", () => {
    // A kernel address space K visited between every two processes, with 4 processes and 4 slots.
    const loads = [1, 2, 3, 4].flatMap((p) => [0x1000, 0x1000 * (p + 1)]).concat([0x1000, 0x2000, 0x1000]);
    expect(misses(4, "lru", loads).filter((v) => v === 0x1000)).toHaveLength(1);
    expect(misses(4, "fifo", loads).filter((v) => v === 0x1000).length).toBeGreaterThan(1);
  });

  it("fills empty slots before evicting anything", () => {
    const vmcs = new Vmcs(new Int32Array(VMCS_SIZE >> 2));
    const list = new Cr3TargetList(vmcs, 4, "lru");
    expect([list.miss(0, 0x1000), list.miss(0x1000, 0x2000), list.miss(0x2000, 0x3000), list.miss(0x3000, 0x4000)]).toEqual([0, 1, 2, 3]);
    expect(list.values()).toEqual([0x1000, 0x2000, 0x3000, 0x4000]);
  });

  it("counts misses, and resize() changes the count and empties the slots", () => {
    const vmcs = new Vmcs(new Int32Array(VMCS_SIZE >> 2));
    const list = new Cr3TargetList(vmcs, 4, "lru");
    list.miss(0, 0x1000);
    list.miss(0x1000, 0x2000);
    expect(list.misses).toBe(2);
    list.resize(1);
    expect(vmcs.get(C_CR3_TARGET_COUNT)).toBe(1);
    expect(list.values()).toEqual([0]);
    expect(list.miss(0x2000, 0x3000)).toBe(0);
    list.resize(0);
    expect(list.miss(0x3000, 0x4000)).toBe(-1);
    expect(list.misses).toBe(4);
  });
});
