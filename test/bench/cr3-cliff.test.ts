// The CR3-cliff benchmark helper (src/bench/cr3-cliff.ts) on the real core and guests/multitask.elf:
// it runs, reports what the guest did, and its exit counts follow the CR3-target rule.
import { describe, expect, it } from "vitest";
import { WINDOW, formatCr3Cliff, measureCr3Cliff } from "../../src/bench/cr3-cliff.js";

describe("measureCr3Cliff", () => {
  it("measures ns and exits per address-space switch for each process count", async () => {
    const points = await measureCr3Cliff({ processes: [1, 4, 5, 8], switches: 400, runs: 2 });
    expect(points.map((p) => p.processes)).toEqual([1, 4, 5, 8]);
    for (const p of points) {
      // yield mode: every round ends in a switch, and each exit but the last switches once more
      expect(p.switches).toBe(p.processes * p.roundsPerProcess + p.processes - 1);
      expect(p.runs).toHaveLength(2);
      expect(p.nsPerSwitch).toBeGreaterThan(0);
      expect(p.cpuNsPerSwitch).toBeGreaterThan(0);
      expect(p.wholeRunCpuNsPerSwitch).toBeGreaterThan(0);
      // timed while the guest only switches: between its 25th and 85th percent of switches
      expect(p.timedSwitches / p.switches).toBeGreaterThan(WINDOW.to - WINDOW.from - 0.05);
      expect(p.timedSwitches / p.switches).toBeLessThan(WINDOW.to - WINDOW.from + 0.05);
      expect(p.instructionsPerSwitch).toBeGreaterThan(50);
      // one more CR3 load than switches: the first, made before paging is on
      expect(p.cr3Exits + p.targetHits).toBe(p.switches + 1);
      expect(p.crAccessExits).toBe(p.cr3Exits + 1); // and the CR0 write that turns paging on
    }
    const [one, four, five, eight] = points;
    expect([one.cr3Exits, four.cr3Exits]).toEqual([1, 4]); // each directory's first load only
    expect(five.cr3Exits).toBe(five.switches + 1); // LRU on a round-robin cycle of 5: always a miss
    expect(eight.cr3ExitsPerSwitch).toBeGreaterThan(1);
    expect(four.cr3ExitsPerSwitch).toBeLessThan(0.02);

    const table = formatCr3Cliff(points).split("\n");
    expect(table[0]).toMatch(/^processes +switches +CR3 exits +target hits +exits\/switch +ns\/switch +CPU ns\/switch +whole-run CPU ns\/switch +runs \(ns\/switch\)$/);
    expect(table).toHaveLength(2 + points.length);
    expect(table[4]).toMatch(new RegExp(`^ +5 +${five.switches} +${five.cr3Exits} +0 +1\\.00\\d `));
  }, 120_000);

  it("refuses a process count multitask cannot run", async () => {
    await expect(measureCr3Cliff({ processes: [9], switches: 10, runs: 1 })).rejects.toThrow(RangeError);
  });
});
