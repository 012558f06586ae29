// Adams & Agesen's nanobenchmark rows of `wasmvisor bench` on the real guest: every nanobenchmark
// under every technique, measured. Their times depend on the machine; what the rows promise does
// not: the VM exits per iteration and, under bt, the callouts per iteration are counted, and must
// be what each technique does with the operation. The guest's words must also run on QEMU, the
// reference, and retire there the instructions they retire here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EXIT_BENCHMARKS, NANOBENCHMARKS, TECHNIQUES, VMEXIT_GUEST, mustBePositive, setupKey } from "../../src/bench/exit-benchmarks.js";
import { measureJobs, summarize, wasmvisorJobs, type Measurement } from "../../src/bench/exit-runs.js";
import type { HostStatus, RowResult } from "../../src/bench/exit-suite.js";
import { testTimings, type StampedLine } from "../../src/bench/marker-timing.js";
import { formatNanoTable, formatTranslationCounts, isNano } from "../../src/bench/nano-report.js";
import { findQemu } from "../../src/bench/peer-runners.js";
import { threadCpuClock } from "../../src/bench/thread-cpu-clock.js";
import { root, wasmvisor } from "../support/cli.js";

const read = (path: string) => readFileSync(`${root}/${path}`);
const nanoRows = EXIT_BENCHMARKS.filter(isNano);
const words = NANOBENCHMARKS.map((n) => n.name);

/** VM exits per iteration of each nanobenchmark under vt, trap, classic and bt. */
const EXITS: Record<string, [number, number, number, number]> = {
  syscall: [0, 1, 0, 0], // trap: the handler's IRET exits (0x104)
  in: [1, 1, 1, 1], // port I/O exits under every technique
  "cr0-ts": [0, 0, 0, 0], // TS is not in the CR0 guest/host mask: the core completes it
  "call-ret": [0, 0, 0, 0],
  pgfault: [0, 1, 0, 0], // the fault is delivered in the core; trap: the handler's IRET exits
  divzero: [0, 1, 0, 0],
  ptemod: [0, 0, 0, 0], // the shadow MMU's write tracking runs in the core
};

/** Under bt, the rewrites translated code performed per iteration instead of exiting. */
const BT_REWRITES: Record<string, Record<string, number>> = {
  syscall: { "callout IRET": 1 },
  in: {},
  "cr0-ts": { "callout MOV CR, CLTS, LMSW": 1 },
  "call-ret": {},
  pgfault: { "callout IRET": 1 },
  divzero: { "callout IRET": 1 },
  ptemod: {},
};

describe("the nanobenchmark rows", () => {
  it("are the seven nanobenchmarks under each technique, one boot per technique, with the peers", () => {
    expect(nanoRows.map((b) => b.name)).toEqual(words.flatMap((w) => TECHNIQUES.map((t) => `${w}/${t}`)));
    expect(new Set(nanoRows.map((b) => setupKey(b.setup))).size).toBe(TECHNIQUES.length);
    for (const b of nanoRows) expect([b.word, b.setup.ifMode, b.peers]).toEqual([b.nano!.benchmark, b.nano!.technique, true]);
  });

  it("measure what each technique does: its exits per iteration, and under bt its callouts instead; every row that faults or exits costs time", async () => {
    const { jobs, unsupported } = await wasmvisorJobs(nanoRows, read(VMEXIT_GUEST), read("build/core.wasm"), threadCpuClock);
    expect(unsupported.size).toBe(0);
    const results = await measureJobs(jobs, { iterations: 20_000, loopMs: 1, runs: 3 });
    const measured = (word: string, technique: string) => results.get(`wasmvisor ${word}/${technique}`)!;
    const exits = Object.fromEntries(words.map((w) => [w, TECHNIQUES.map((t) => Number(measured(w, t).l0Exits!.toFixed(2)))]));
    expect(exits).toEqual(EXITS);
    const rewrites = Object.fromEntries(words.map((w) => [w, Object.fromEntries(Object.entries(measured(w, "bt").translation!).filter(([, n]) => n >= 0.01).map(([k, n]) => [k, Number(n.toFixed(2))]))]));
    expect(rewrites).toEqual(BT_REWRITES);
    for (const t of ["vt", "trap", "classic"]) expect(measured("syscall", t).translation).toBeUndefined();
    // The fault and system-call rows cost hundreds of ns under every technique, the exits' more.
    for (const b of nanoRows.filter((b) => ["syscall", "pgfault", "divzero", "ptemod"].includes(b.word) || EXITS[b.word][TECHNIQUES.indexOf(b.nano!.technique)] > 0)) {
      expect(mustBePositive(b, "wasmvisor")).toBe(true);
      expect(measured(b.word, b.nano!.technique).median, b.name).toBeGreaterThan(0);
    }
  }, 600_000);

  // QEMU with its guest TSC counting instructions (-icount), as wasmvisor's does: the guest's tick
  // figures are then exact, and each word's must be what it is under every technique here. An
  // instruction that exits does not retire here (an exit is fault-like; docs/design.md "Exits the core
  // completes itself"), so `in` counts one tick less than on QEMU, which retires it.
  it("run on QEMU: each word completes its iterations, and its ticks in guest instructions are wasmvisor's under every technique", async () => {
    const qemu = findQemu(true);
    if (typeof qemu === "string") return expect(qemu).toMatch(/not installed/);
    const cmdline = words.map((w) => `200 ${w}`).join(" ");
    const ticks = (lines: StampedLine[]) => {
      const timings = testTimings(lines);
      return Object.fromEntries(words.map((w) => [w, { iterations: timings.get(w)?.iterations, difference: timings.get(w)?.guestTicks ?? NaN }]));
    };
    const onQemu = ticks(await qemu.run(`${root}/${VMEXIT_GUEST}`, cmdline, "wall"));
    expect(Object.values(onQemu).map((t) => t?.iterations)).toEqual(words.map(() => 200));
    for (const w of ["syscall", "pgfault", "divzero"]) expect(onQemu[w].difference, w).toBeGreaterThan(0); // the fault and its handler cost instructions
    const expected = { ...onQemu, in: { ...onQemu.in, difference: onQemu.in.difference - 1 } };
    for (const technique of TECHNIQUES) {
      const run = await wasmvisor("run", VMEXIT_GUEST, "--if-mode", technique, "--cmdline", cmdline);
      expect(run.status, run.stderr).toBe(0);
      expect(ticks(run.stdout.split("\n").map((text) => ({ text, at: 0 }))), technique).toEqual(expected);
    }
  }, 120_000);
});

describe("the nanobenchmark report", () => {
  const hosts: HostStatus[] = [{ host: "wasmvisor" }, { host: "qemu", version: "QEMU" }];
  const m = (median: number, extra: Partial<Measurement> = {}): Measurement => ({ ...summarize([median], 1000), ...extra });
  const rowsOf = (word: string, results: Array<RowResult["results"]>): RowResult[] =>
    nanoRows.filter((b) => b.word === word).map((benchmark, i) => ({ benchmark, results: results[i], skipped: {} }));
  const rows = [
    ...rowsOf("syscall", [
      { wasmvisor: m(300, { l0Exits: 0 }), qemu: m(250) },
      { wasmvisor: m(400, { l0Exits: 1 }), qemu: m(250) },
      { wasmvisor: m(290, { l0Exits: 0 }), qemu: m(250) },
      { wasmvisor: m(310, { l0Exits: 0, translation: { blocks: 0, "inline CLI": 0, "callout IRET": 1 } }), qemu: m(250) },
    ]),
    ...rowsOf("in", [{ wasmvisor: m(12, { l0Exits: 1.0004 }) }, {}, {}, { wasmvisor: m(15, { l0Exits: 1, translation: { blocks: 0 } }) }]),
  ];

  it("gives a line per nanobenchmark: each technique's figure with its exits, the peer's figure once", () => {
    const lines = formatNanoTable(rows, hosts).split("\n");
    expect(lines[0]).toMatch(/^nanobenchmark +one iteration +vt +trap +classic +bt +QEMU$/);
    expect(lines[2]).toMatch(/^syscall +INT 0x80 .* +300 ns ±0% \(0 exits\) +400 ns ±0% \(1 exit\) +290 ns ±0% \(0 exits\) +310 ns ±0% \(0 exits\) +250 ns ±0%$/);
    expect(lines[3]).toMatch(/^in +.* 12\.0 ns ±0% \(1 exit\) +- +- +15\.0 ns ±0% \(1 exit\) +skipped$/);
    expect(formatNanoTable(rows.filter((r) => !isNano(r.benchmark)), hosts)).toBe("");
  });

  it("lists under bt the counts that are not 0, or says there were none", () => {
    expect(formatTranslationCounts(rows).split("\n").slice(1)).toEqual(["  syscall   callout IRET 1", "  in        nothing (no translation, rewrite or invalidation)"]);
  });
});
