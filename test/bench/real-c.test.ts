// The real-C rows of wasmvisor bench (src/bench/real-c.ts): that a phase's figure is that phase's
// work, that every figure comes from a run with the right checksums, and how rows, ratios and
// targets are shown. The guest-running checks count retired instructions instead of time, so
// that they are exact on a loaded machine: the console is stamped with the VM's instruction count
// through the same marker timing as with a clock.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { benchChart } from "../../src/bench/bench-chart.js";
import { readPreviousRun } from "../../src/bench/bench-results.js";
import { BenchGuestError } from "../../src/bench/bench-guest-error.js";
import { sceneToSvg } from "../../src/bench/chart-render.js";
import { summarize } from "../../src/bench/exit-runs.js";
import { LineStamper, phaseCosts, type StampedLine } from "../../src/bench/marker-timing.js";
import { findPeer } from "../../src/bench/peer-runners.js";
import { formatPhaseTable, realCTargetLines } from "../../src/bench/real-c-report.js";
import type { Host, HostStatus } from "../../src/bench/exit-suite.js";
import { PHASE_GUESTS, REALC, checkedPhases, compilesApart, measureGuests, phaseDescriptions, phaseRows, readGolden, wasmvisorRunner, type GuestRun, type HostRunner, type PhaseRow } from "../../src/bench/real-c.js";
import { runGuestOnWasmvisor } from "../../src/bench/wasmvisor-runner.js";

const root = new URL("../../", import.meta.url);
const core = readFileSync(new URL("build/core.wasm", root));
const kernel = readFileSync(new URL(REALC.path, root));
const PHASES = ["fib", "fptr", "switch", "string", "narrow", "muldiv", "qsort", "crc", "matmul", "sieve"];
const GUEST_MS = 240_000;
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** Instructions retired in each phase of realc run with `args`, on wasmvisor. */
async function phaseInstructions(args: string): Promise<Map<string, number>> {
  const run = await runGuestOnWasmvisor(REALC.path, kernel, core, args, {}, () => 0, REALC.done);
  return phaseCosts(run.retired);
}

describe("realc phase figures measure their phase", () => {
  it("a phase's figure grows by the same amount with each round, and is the same whatever runs beside it", async () => {
    const [two, three, four, fibAlone, crcAlone] = await Promise.all(["2 fib crc", "3 fib crc", "4 fib crc", "3 fib", "3 crc"].map(phaseInstructions));
    for (const phase of ["fib", "crc"]) {
      const round = three.get(phase)! - two.get(phase)!;
      expect(four.get(phase)! - three.get(phase)!, `${phase}: fourth round`).toBe(round);
      // the first round does the same work, less the comparison with itself and the loop's set-up
      expect(Math.abs(two.get(phase)! - 2 * round) / round, `${phase}: two rounds`).toBeLessThan(1e-4);
      expect(round, phase).toBeGreaterThan(10_000_000);
    }
    expect(two.get("fib")).not.toBe(two.get("crc"));
    // markers attributed to the right phase: a phase costs the same alone as beside another
    expect(fibAlone.get("fib")).toBe(three.get("fib"));
    expect(crcAlone.get("crc")).toBe(three.get("crc"));
    expect([...fibAlone.keys()]).toEqual(["fib"]);
  }, GUEST_MS);

  it("every phase prints the golden checksum with the compiling tier on and off, and the share of compiled code says which ran", async () => {
    const [on, off] = await Promise.all([true, false].map((jit) => wasmvisorRunner(core, "wall", jit).run(REALC, "1")));
    for (const run of [on, off]) expect([...run.phases.keys()]).toEqual(PHASES);
    // the same instructions in each phase either way, and all of them interpreted with the tier off
    expect(off.retired).toEqual(on.retired);
    expect([...off.compiled!.values()].every((n) => n === 0)).toBe(true);
    expect(off.compiledShare).toBe(0);
    expect(on.compiledShare).toBeGreaterThan(0.5);
    for (const phase of PHASES) expect(on.compiled!.get(phase)!, phase).toBeLessThanOrEqual(on.retired!.get(phase)!);
    // the compiling tier's time: none with it off; with it on, part of each phase's time and of the run's
    expect(off.compiles).toMatchObject({ ms: 0, calls: 0, regions: 0, blocks: 0 });
    expect([...off.compiling!.values()].every((ms) => ms === 0)).toBe(true);
    const c = on.compiles!;
    expect(c.regions).toBeGreaterThan(10);
    expect(c.blocks).toBeGreaterThanOrEqual(c.regions);
    expect(c.calls).toBeGreaterThanOrEqual(c.regions);
    expect(c.ms).toBeGreaterThan(0);
    expect(c.lastEndMs).toBeLessThanOrEqual(on.runMs!);
    for (const phase of PHASES) {
      expect(on.compiling!.get(phase)!, phase).toBeGreaterThanOrEqual(0);
      expect(on.compiling!.get(phase)!, phase).toBeLessThanOrEqual(on.phases.get(phase)!);
    }
    expect(sum([...on.compiling!.values()])).toBeLessThanOrEqual(c.ms + 1e-9);
  }, GUEST_MS);

  it("times every compile call with the clock given, and nothing else", async () => {
    // A clock that advances one "ms" per reading: the compiling tier's figure is then one per
    // compile call (its start and end readings), however long anything else took.
    let readings = 0;
    const run = await runGuestOnWasmvisor(REALC.path, kernel, core, "1 fib", {}, () => readings++, REALC.done);
    expect(run.compiles.calls).toBeGreaterThan(0);
    expect(run.compiles.ms).toBe(run.compiles.calls);
    expect(run.compiles.lastEndMs).toBeLessThan(run.runMs);
  }, GUEST_MS);
});

describe("compiles in a phase's second piece", () => {
  it("are added back to the phase, and are not the phase's compiling time", () => {
    // @1 at 0, @2 at 100 (10 ms of compiles inside), @3 at 110 (6 of its 10 ms compiling: printing code turning hot)
    const lines = (stamps: number[]) => ["@1 fib", "@2 fib", "@3 fib"].map((text, i) => ({ text, at: stamps[i] }));
    const { phases, compiling } = compilesApart(phaseCosts(lines([0, 100, 110])), lines([0, 10, 16]));
    expect(phases.get("fib")).toBe(100 - (10 - 6));
    expect(compiling.get("fib")).toBe(10);
  });
});

/** The lines of `text`, the nth stamped 10 n. */
const stamped = (text: string): StampedLine[] => text.split("\n").filter((l) => l !== "").map((l, i) => ({ text: l, at: i * 10 }));

describe("checking a run against the golden copy", () => {
  it("times each phase as (t2 - t1) - (t3 - t2) and refuses a wrong checksum or a missing marker", async () => {
    const golden = await readGolden(REALC);
    expect(golden.labels).toEqual(PHASES);
    let now = 0;
    const stamper = new LineStamper(() => now);
    for (const line of golden.text.split("\n").filter((l) => l !== "")) {
      now += line === "@2 crc" ? 500 : line === "@3 crc" ? 3 : 1;
      for (const c of `${line}\n`) stamper.byte(c.charCodeAt(0));
    }
    const phases = checkedPhases(stamper.lines, golden, "test");
    expect(phases.get("crc")).toBe(500 - 3);
    expect(phases.get("fib")).toBe(0);

    const wrong = stamper.lines.map((l) => (l.text.startsWith("crc:") ? { ...l, text: l.text.replace(/[0-9a-f]{8}$/, "00000000") } : l));
    expect(() => checkedPhases(wrong, golden, "test")).toThrow(BenchGuestError);
    expect(() => checkedPhases(wrong, golden, "test")).toThrow(/line 8 is "crc: .*: 00000000", not "crc: .*" as in the golden copy/);
    expect(() => checkedPhases(stamper.lines.filter((l) => l.text !== "@3 qsort"), golden, "test")).toThrow("test: no complete markers for qsort");
    expect(() => checkedPhases(stamper.lines.slice(0, -2), golden, "test")).toThrow(/<end of output>/);
  });

  it("gives a guest without markers in its golden copy one phase, its name", async () => {
    const compute = PHASE_GUESTS.find((g) => g.name === "compute")!;
    const golden = await readGolden(compute);
    expect(golden.labels).toEqual(["compute"]);
    const lines = stamped(golden.text.replace("compute: integer benchmark\n", "compute: integer benchmark\n@1 compute\n").replace("compute: done", "@2 compute\n@3 compute\ncompute: done"));
    expect(checkedPhases(lines, golden, "test")).toEqual(new Map([["compute", 50 - 10]])); // @1 at 10, @2 at 60, @3 at 70
  });
});

describe("real-C rows and targets", () => {
  const run = (phases: Record<string, number>, extra: Partial<GuestRun> = {}): GuestRun => ({ phases: new Map(Object.entries(phases)), ...extra });
  const counts = (n: Record<string, number>) => new Map(Object.entries(n));
  const samples = new Map<string, GuestRun[]>([
    ["realc wasmvisor", [run({ fib: 30, crc: 12 }, { retired: counts({ fib: 1000, crc: 3000 }), compiled: counts({ fib: 500, crc: 3000 }), compiledShare: 0.8,
      compiling: counts({ fib: 4, crc: 1 }), compiles: { ms: 6, calls: 12, regions: 10, blocks: 25, lastEndMs: 40 }, runMs: 50, toPeak: counts({ fib: 7 }) }),
    run({ fib: 34, crc: 10 }, { toPeak: counts({ fib: 5 }) }), run({ fib: 32, crc: 11 }, { toPeak: counts({ fib: 9 }) })]],
    ["realc qemu", [run({ fib: 10, crc: 10 }), run({ fib: 10, crc: 10 }), run({ fib: 11, crc: 9 })]],
    ["compute wasmvisor", [run({ compute: 90 }, { compiledShare: 0.99 })]],
    ["compute qemu", [run({ compute: 100 })]],
  ]);
  const guests = [REALC, PHASE_GUESTS.find((g) => g.name === "compute")!];
  const { rows, guests: summaries } = phaseRows(guests, ["wasmvisor", "qemu"], samples, new Map([["fib", "recursion"], ["crc", "CRC"]]));
  const row = (guest: string, phase: string) => rows.find((r) => r.guest === guest && r.phase === phase)!;

  it("reduces the runs to medians, adds realc's total run by run, and takes instruction counts from wasmvisor's first run", () => {
    expect(rows.map((r) => `${r.guest} ${r.phase}`)).toEqual(["realc fib", "realc crc", "realc total", "compute compute"]);
    expect(row("realc", "fib").results.wasmvisor).toEqual(summarize([30, 34, 32], 1));
    expect(row("realc", "total").results.wasmvisor!.runs).toEqual([42, 44, 43]);
    expect(row("realc", "total").results.qemu!.median).toBe(20);
    expect(row("realc", "fib")).toMatchObject({ what: "recursion", instructions: 1000, compiledShare: 0.5 });
    expect(row("realc", "total")).toMatchObject({ instructions: 4000, compiledShare: 0.875, compilingMs: 5 });
    expect(row("realc", "fib").compilingMs).toBe(4);
    expect(row("realc", "fib").toPeakMs).toBe(7); // the median of the runs'
    expect(row("realc", "crc").toPeakMs).toBeUndefined(); // no run could tell
    expect(row("realc", "total").toPeakMs).toBeUndefined();
    expect(summaries).toEqual([
      { guest: "realc", compiledShare: 0.8, compiles: { ms: 6, calls: 12, regions: 10, blocks: 25, lastEndMs: 40 }, runMs: 50 },
      { guest: "compute", compiledShare: 0.99 },
    ]);
  });

  it("shows our time over the peer's and judges the issue's targets on it", () => {
    const table = formatPhaseTable(rows, [{ host: "wasmvisor" }, { host: "qemu", version: "QEMU" }]).split("\n");
    expect(table[0]).toMatch(/^phase +what +wasmvisor +QEMU +ours\/QEMU +instructions +compiled +compiling +to peak$/);
    expect(table[2]).toMatch(/^realc fib +recursion +32\.0 ms ±6% +10\.0 ms ±5% +3\.20x +1000 +50\.0 % +4\.0 ms +7\.0 ms$/);
    expect(table[5]).toMatch(/^compute +sieve, CRC-32, matmul, heapsort \(whole guest\) +90\.0 ms ±0% +100 ms ±0% +0\.90x/);
    const targets = realCTargetLines(rows, summaries);
    expect(targets[0]).toBe("  real C (guests/realc.elf) in total at most 1.25x QEMU TCG's time: 2.15x: missed");
    expect(targets[1]).toBe("  no real-C phase above 2x QEMU: 1 of 2 above (fib 3.20x): missed");
    expect(targets[2]).toBe("  compute.elf at or above QEMU's speed (time at most 1x QEMU's): 0.90x: met");
    expect(targets[3]).toBe("  (retired instructions in compiled code, whole run with boot, wasmvisor: realc 80.0 %, compute 99.0 %)");
    expect(targets[4]).toBe("  (compiling tier, realc: 10 regions holding 25 blocks compiled in 6.0 ms, 240 µs a block, 12.0 % of the run; the last compile over 40 ms into the 50 ms run)");
    const unmeasured = realCTargetLines(rows.map((r): PhaseRow => ({ ...r, results: { wasmvisor: r.results.wasmvisor } })), []);
    expect(unmeasured[0]).toMatch(/: -: not measured$/);
  });

  it("shows the change since a previous run of the same rows", () => {
    const previous = { medians: new Map(), phaseMedians: new Map([["realc fib", 40], ["compute", 90]]) };
    const table = formatPhaseTable(rows, [{ host: "wasmvisor" }, { host: "qemu", version: "QEMU" }], previous).split("\n");
    expect(table[0]).toMatch(/ +compiled +compiling +to peak +before +change$/);
    expect(table[2]).toMatch(/ +40\.0 ms +-20%$/);
    expect(table[3]).toMatch(/ +-$/); // realc crc: not in the previous run
    expect(table[5]).toMatch(/ +90\.0 ms +\+0%$/);
  });

  it("reads a previous run's real-C medians from its JSON for --compare", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "wasmvisor-realc-")), "old.json");
    writeFileSync(path, JSON.stringify({ exits: [], realC: { rows } }));
    const previous = await readPreviousRun(path);
    expect([...previous.phaseMedians]).toEqual([["realc fib", 32], ["realc crc", 11], ["realc total", 43], ["compute", 90]]);
  });

  it("charts each phase's time over QEMU's, a bar per other host, and leaves out rows QEMU did not run", () => {
    const withV86 = rows.map((r): PhaseRow => ({ ...r, results: { ...r.results, v86: summarize([r.results.qemu!.median * 1.5], 1) } }));
    const noQemu: PhaseRow = { ...rows[0], phase: "lonely", results: { wasmvisor: rows[0].results.wasmvisor } };
    const scene = benchChart([], new Map(), ["wasmvisor", "qemu", "v86"], [...withV86, noQemu]);
    const svg = sceneToSvg(scene);
    expect(svg).toContain("real C: time per phase relative to QEMU TCG");
    expect(svg).not.toContain("ns per exit-causing operation"); // no exit rows ran: no exit panel
    expect(svg).not.toContain(">realc lonely</text>");
    const bars = (colour: string) => scene.shapes.filter((s) => s.kind === "rect" && s.fill === colour && s.height === 8).map((s) => (s.kind === "rect" ? s.width : 0));
    const ours = bars("#2a7ab0");
    const v86 = bars("#3c9a4a");
    expect(ours).toHaveLength(4);
    expect(v86).toHaveLength(4);
    // fib: 32 ms against QEMU's 10 is 3.2x; v86 at 1.5x: the bars' lengths are in that ratio.
    expect(ours[0] / v86[0]).toBeCloseTo(3.2 / 1.5, 5);
    expect(ours[3] / v86[3]).toBeCloseTo(0.9 / 1.5, 5); // compute: faster than QEMU
    for (const label of ["QEMU", "limit for the total, 1.25x", "limit for a phase, 2x"]) expect(svg).toContain(`>${label}</text>`);
  });

  it("describes each realc phase from its golden copy", async () => {
    const descriptions = phaseDescriptions(await readGolden(REALC));
    expect([...descriptions.keys()]).toEqual(PHASES);
    expect(descriptions.get("qsort")).toMatch(/qsort/);
  });
});

describe("the peers run realc to the golden checksums", () => {
  for (const name of ["qemu", "v86"] as const) {
    it(`${name}: every phase framed and timed`, async (context) => {
      const peer = await findPeer(name);
      if (typeof peer === "string") return context.skip();
      const lines = await peer.run(fileURLToPath(new URL(REALC.path, root)), "1", "cpu", REALC.done);
      const phases = checkedPhases(lines, await readGolden(REALC), name);
      expect([...phases.keys()]).toEqual(PHASES);
      for (const [phase, ms] of phases) expect(Number.isFinite(ms), phase).toBe(true);
    }, GUEST_MS);
  }
});

describe("a peer that fails on the real-C rows", () => {
  const guest = PHASE_GUESTS.find((g) => g.name === "compute")!;
  const runner = (host: Host, failOnRun?: number): HostRunner => {
    let runs = 0;
    return {
      host,
      async run() {
        if (++runs === failOnRun) throw new BenchGuestError("did not finish within 300 s");
        return { phases: new Map([["compute", 10 * runs]]) };
      },
    };
  };

  it("is dropped with its reason and none of its figures, and the others' rows are all measured", async () => {
    const hosts: HostStatus[] = [{ host: "wasmvisor" }, { host: "qemu", version: "QEMU" }];
    const samples = await measureGuests([runner("wasmvisor"), runner("qemu", 2)], hosts, { guests: [guest], runs: 3, rounds: 1 });
    expect(samples.get("compute wasmvisor")!.map((r) => r.phases.get("compute"))).toEqual([10, 20, 30]);
    expect(samples.has("compute qemu")).toBe(false);
    expect(hosts[1].failed).toBe("did not finish within 300 s");
    const { rows } = phaseRows([guest], ["wasmvisor", "qemu"], samples, new Map());
    const table = formatPhaseTable(rows, hosts);
    expect(rows[0].results.qemu).toBeUndefined();
    expect(table).toContain("QEMU: failed, its real-C figures left out: did not finish within 300 s");
  });

  it("on wasmvisor ends the bench", async () => {
    await expect(measureGuests([runner("wasmvisor", 1)], [{ host: "wasmvisor" }], { guests: [guest], runs: 1, rounds: 1 })).rejects.toThrow(BenchGuestError);
  });
});
