// The CR3-cliff benchmark helper (src/bench/cr3-cliff.ts) on the real core and guests/multitask.elf:
// it runs, reports what the guest did, and its exit counts follow the CR3-target rule.
import { describe, expect, it } from "vitest";
import { WINDOW, formatCr3Cliff, measureCr3Cliff } from "../../src/bench/cr3-cliff.js";
import { peerNsPerSwitch, switchSpan } from "../../src/bench/cr3-cliff-peers.js";
import { findPeer, type PeerRunner } from "../../src/bench/peer-runners.js";

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

describe("the CR3 cliff on the peers", () => {
  /** A peer whose guest spends `setupMs` before the first line, then `nsPerSwitch` a switch (yield mode's count), and `endMs` after. */
  const scripted = (nsPerSwitch: number, setupMs: number) => {
    const cmdlines: string[] = [];
    const peer: PeerRunner = {
      name: "qemu",
      version: "scripted",
      run: async (_kernel, cmdline) => {
        cmdlines.push(cmdline);
        const [n, rounds] = cmdline.split(" ").slice(1).map(Number);
        const switches = n * rounds + n - 1;
        return [
          { text: `multitask: ${n} processes, ${rounds} rounds each, yield, light`, at: setupMs },
          { text: `multitask: ${switches} switches`, at: setupMs + 7 + (switches * nsPerSwitch) / 1e6 },
        ];
      },
    };
    return { peer, cmdlines };
  };

  it("takes ns per switch as the difference of a short and a long run, so boot and setup cancel", async () => {
    const { peer, cmdlines } = scripted(3800, 250);
    const cost = await peerNsPerSwitch(peer, "guests/multitask.elf", (rounds) => `multitask.elf 5 ${rounds} yield light`, 1000, 2, "cpu");
    expect(cmdlines).toEqual(["multitask.elf 5 1000 yield light", "multitask.elf 5 5000 yield light", "multitask.elf 5 1000 yield light", "multitask.elf 5 5000 yield light"]);
    expect(cost.runs).toHaveLength(2);
    expect(cost.nsPerSwitch).toBeCloseTo(3800, 6);
  });

  it("says which line a peer's run did not print", () => {
    expect(() => switchSpan([{ text: "multitask: 4 processes, 10 rounds each, yield", at: 1 }], "run")).toThrow("run: no switch count printed");
    expect(() => switchSpan([{ text: "multitask: 4 processes, 10 rounds each, yield", at: NaN }, { text: "multitask: 43 switches", at: 2 }], "run")).toThrow("a line came without a time stamp");
  });

  it("runs multitask on QEMU beside wasmvisor (QEMU's vCPU time): a switch there costs more than wasmvisor's, at 4 and 5 processes alike", async () => {
    const qemu = await findPeer("qemu");
    if (typeof qemu === "string") return expect(qemu).toMatch(/not installed/);
    const points = await measureCr3Cliff({ processes: [4, 5], switches: 4000, runs: 1, peers: [qemu], clock: "cpu" });
    for (const p of points) {
      const onQemu = p.peers.qemu!;
      expect(onQemu.runs).toHaveLength(1);
      // QEMU flushes its TLB at every CR3 load and refills it: a switch costs microseconds, more than wasmvisor's.
      expect(onQemu.nsPerSwitch).toBeGreaterThan(p.cpuNsPerSwitch);
      expect(onQemu.nsPerSwitch).toBeLessThan(100_000);
    }
    const table = formatCr3Cliff(points, "CPU").split("\n");
    expect(table[0]).toMatch(/whole-run CPU ns\/switch +QEMU ns\/switch +runs/);
    expect(table.at(-1)).toBe("QEMU: CPU ns per switch from two runs of different lengths (their difference); no CR3-target list and no exits: a TLB flush at every MOV to CR3");
  }, 120_000);
});
