// The exit benchmarks' parts that need no guest: timing the vmexit guest's marker lines, the
// command lines it is given, the report table with peers as ratios, the targets, the noise
// warning, and the chart in both formats.
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { benchChart } from "../../src/bench/bench-chart.js";
import { benchResults, markdownReport } from "../../src/bench/bench-results.js";
import { sceneToPng, sceneToSvg } from "../../src/bench/chart-render.js";
import { EXIT_BENCHMARKS, iterationsFor, selectBenchmarks, setupKey, vmexitCmdline } from "../../src/bench/exit-benchmarks.js";
import { formatExitTable, formatSkipped, formatTargets, noiseWarning, noisyFigures } from "../../src/bench/exit-report.js";
import { BenchGuestError } from "../../src/bench/bench-guest-error.js";
import { measureJobs, summarize, type Job } from "../../src/bench/exit-runs.js";
import type { HostStatus, RowResult } from "../../src/bench/exit-suite.js";
import { LineStamper, mips, nsPerIteration, testTimings } from "../../src/bench/marker-timing.js";

const bench = (name: string) => EXIT_BENCHMARKS.find((b) => b.name === name)!;

describe("marker timing", () => {
  it("stamps each line when its newline arrives and times both loops of a test", () => {
    let now = 0;
    const stamper = new LineStamper(() => now);
    const say = (text: string, at: number) => {
      now = at;
      for (const c of `${text}\r\n`) stamper.byte(c.charCodeAt(0));
    };
    say("@1 cpuid", 10);
    say("@2 cpuid", 30); // 20 ms for the CPUID loop
    say("@3 cpuid", 32); // 2 ms for the loop alone
    say("cpuid: 1000 iterations, 50 ticks each, loop alone 3, difference 47", 33);
    say("vmexit: done", 34);
    expect(stamper.done).toBe(true);
    const timing = testTimings(stamper.lines).get("cpuid")!;
    expect(timing).toEqual({ iterations: 1000, opMs: 20, baseMs: 2, guestTicks: 47 });
    expect(nsPerIteration(timing)).toBeCloseTo(18_000);
    expect(mips({ ...timing, baseMs: 0 }, 8)).toBeCloseTo(0.4);
  });

  it("ignores a test whose markers are incomplete", () => {
    const stamper = new LineStamper(() => 1);
    stamper.chunk(new TextEncoder().encode("@1 out\n@3 out\nout: 5 iterations, 1 ticks each, loop alone 1, difference 0\n"));
    expect(testTimings(stamper.lines).size).toBe(0);
  });
});

describe("exit benchmark selection", () => {
  it("selects rows by a case-insensitive pattern and gives the guest each word once", () => {
    expect(selectBenchmarks(/^CLI-STI/i).map((b) => b.name)).toEqual(["cli-sti/vt", "cli-sti/trap", "cli-sti/classic", "cli-sti/bt"]);
    const rows = selectBenchmarks(/^(cpuid|hlt|cr3)/);
    expect(vmexitCmdline(iterationsFor(rows, 100_000))).toBe("100000 cpuid 25000 cr3:4 25000 cr3:5 100 hlt");
    expect(iterationsFor([bench("hlt")], 1000).get("hlt")).toBe(20); // never below MIN_ITERATIONS
  });

  it("groups rows by how wasmvisor is set up, whatever the order of the fields", () => {
    expect(setupKey({ ifMode: "trap", displayUpdate: "trap" })).toBe(setupKey({ displayUpdate: "trap", ifMode: "trap" }));
    expect(setupKey(bench("cpuid").setup)).not.toBe(setupKey(bench("invlpg").setup));
  });
});

const hosts: HostStatus[] = [
  { host: "wasmvisor", version: "wasmvisor" },
  { host: "qemu", version: "QEMU 7.2 (TCG)" },
  { host: "v86", skipped: "the v86 package is not installed" },
];
const rows: RowResult[] = [
  { benchmark: bench("cpuid"), results: { wasmvisor: summarize([16, 20, 18], 1000), qemu: summarize([84, 84], 1000) }, skipped: { v86: "the v86 package is not installed" } },
  { benchmark: bench("out"), results: { wasmvisor: summarize([100, 200], 1000), qemu: summarize([50], 1000) }, skipped: { v86: "the v86 package is not installed" } },
  { benchmark: bench("vmcall"), results: { wasmvisor: summarize([30], 1000) }, skipped: { qemu: "VMCALL is #UD without wasmvisor" } },
  { benchmark: bench("compute"), results: { wasmvisor: summarize([300], 1000), qemu: summarize([600], 1000) }, skipped: {} },
];
const cliff = new Map([1, 2, 3, 4, 5, 6, 7, 8].map((n) => [n, summarize([n <= 4 ? 300 : 900], 1000)]));

describe("exit report", () => {
  it("shows our median and spread, each peer as a ratio to ours, and the project's targets", () => {
    const lines = formatExitTable(rows, hosts).split("\n");
    expect(lines[0]).toMatch(/^benchmark +what one iteration does \(wasmvisor\) +wasmvisor +QEMU +\/ours +v86 +\/ours +target$/);
    expect(lines[2]).toMatch(/^cpuid +CPUID exit \(10\) +18\.0 ns ±11% +84\.0 ns ±0% +4\.67x +skipped +< 20 ns$/);
    expect(lines[3]).toMatch(/ 150 ns ±33% +50\.0 ns ±0% +0\.33x +skipped +< 25 ns MISSED$/);
    expect(lines[4]).toMatch(/^vmcall .* 30\.0 ns ±0% +skipped +skipped$/);
    expect(lines[5]).toMatch(/ 300 MIPS ±0% +600 MIPS ±0% +2\.00x +skipped$/);
  });

  it("gives no ratio to a figure of ours that is not clearly positive", () => {
    const free = { benchmark: bench("vga"), results: { wasmvisor: summarize([-1, 5], 1000), qemu: summarize([100], 1000) }, skipped: {} };
    expect(formatExitTable([free], hosts.slice(0, 2)).split("\n")[2]).toMatch(/ 2\.0 ns ±150% +100 ns ±0%$/);
  });

  it("shows the change since a previous run", () => {
    const lines = formatExitTable(rows, hosts, { medians: new Map([["cpuid", 36]]), phaseMedians: new Map() }).split("\n");
    expect(lines[0]).toMatch(/target +before +change$/);
    expect(lines[2]).toMatch(/36\.0 ns +-50%$/);
    expect(lines[3]).toMatch(/ -$/);
  });

  it("judges the issue's targets without asserting them", () => {
    const targets = formatTargets(rows, cliff);
    expect(targets).toContain("CPUID exit (10) under 20 ns: 18.0 ns: met");
    expect(targets).toContain("I/O exit (30), OUT to a latched port (UART scratch) under 25 ns: 150.0 ns: missed");
    expect(targets).not.toMatch(/v86's|QEMU TCG's/); // no target is relative to a peer: they never exit
    expect(targets).toContain("never exit");
    expect(targets).toContain("300.0 ns per switch with 4, 900.0 ns with 5: met");
  });

  it("lists what did not run and why, a skipped host once", () => {
    expect(formatSkipped(rows, hosts).split("\n")).toEqual(["not run:", "  v86: skipped: the v86 package is not installed", "  vmcall on QEMU: skipped: VMCALL is #UD without wasmvisor"]);
  });

  it("calls a figure noisy when its runs disagree by more than 15 %", () => {
    expect(noisyFigures(rows, cliff)).toEqual(["out on wasmvisor"]);
    expect(noiseWarning(["out on wasmvisor"], 9, [3.25, 1, 1], 2, "wall")).toBe(
      "warning: 1 of 9 figures varied by more than ±15% between runs (load average 3.3 on 2 CPUs): the machine was busy. " +
        "More --runs, --clock cpu (CPU time instead of wall time) or a quiet machine give steadier figures. They are: out on wasmvisor.",
    );
    expect(noiseWarning(["out on wasmvisor"], 9, [3.25, 1, 1], 2, "cpu")).toMatch(/busy\. More --runs or a quiet machine/);
    expect(noiseWarning([], 9, [3.25, 1, 1], 2, "cpu")).toBe("");
  });
});

describe("exit runs", () => {
  /** A job of one row whose boots give these ns per iteration in turn (a fixed 1,000 iterations). */
  const scripted = (host: Job["host"], name: string, nsPerRun: number[]) => {
    const b = bench(name);
    const job: Job & { boots: number } = {
      host,
      rows: [b],
      boots: 0,
      run: async () => new Map([[b.word, { iterations: 1000, opMs: 1 + nsPerRun[job.boots++] / 1000, baseMs: 1, guestTicks: 0 }]]),
    };
    return job;
  };

  it("runs a boot again when a figure that must cost time came out at or below zero, and says so", async () => {
    // The warm-up boot first (wasmvisor's first job), then two runs; vmcall's median is -4 ns.
    const vmcall = scripted("wasmvisor", "vmcall", [0, -10, 2, 50, 52]);
    const cpuid = scripted("qemu", "cpuid", [40, 41]);
    const results = await measureJobs([vmcall, cpuid], { iterations: 1000, loopMs: 15, runs: 2 });
    expect(vmcall.boots).toBe(5);
    expect(cpuid.boots).toBe(2);
    const again = results.get("wasmvisor vmcall")!;
    expect(again.runs.map((r) => Math.round(r))).toEqual([-10, 2, 50, 52]);
    expect(again.median).toBeCloseTo(26, 6);
    expect(again.remeasured).toBe(true);
    expect(results.get("qemu cpuid")!.remeasured).toBeUndefined();
    const row: RowResult = { benchmark: bench("vmcall"), results: { wasmvisor: { ...again, spread: 0 } }, skipped: {} };
    expect(noisyFigures([row], new Map())).toEqual(["vmcall on wasmvisor (measured twice as often: its first runs came out at or below zero)"]);
  });

  it("takes a peer's figure at or below zero as it is: the peers never exit, and an operation they emulate inline may cost nothing", async () => {
    const ptemod = scripted("qemu", "vmcall", [-1, 0.5, -0.2]);
    const results = await measureJobs([ptemod], { iterations: 1000, loopMs: 15, runs: 3 });
    expect(ptemod.boots).toBe(3);
    expect(results.get("qemu vmcall")!.remeasured).toBeUndefined();
  });

  it("drops a peer whose boot fails, says why, and goes on with the others", async () => {
    const cpuid = scripted("wasmvisor", "cpuid", [10, 11, 12]);
    const peer = scripted("qemu", "cpuid", [40]);
    const hung = { ...peer, mayFail: true, run: async (cmdline: string) => (peer.boots === 1 ? Promise.reject(new BenchGuestError(`vmexit.elf "${cmdline}" on QEMU: status 0 terminating on signal 15`)) : peer.run(cmdline)) };
    const failures: string[] = [];
    const results = await measureJobs([cpuid, hung], { iterations: 1000, loopMs: 15, runs: 2, onJobFailed: (job, reason) => failures.push(`${job.host}: ${reason}`) });
    expect(cpuid.boots).toBe(3); // warm-up and both runs
    expect(peer.boots).toBe(1); // run 1 worked, run 2 failed; no third try
    expect(results.get("wasmvisor cpuid")!.runs.map(Math.round)).toEqual([11, 12]);
    expect(results.has("qemu cpuid")).toBe(false); // one run is not what was asked for
    expect(failures).toEqual(['qemu: vmexit.elf "1000 cpuid" on QEMU: status 0 terminating on signal 15']);
  });

  it("ends the bench when wasmvisor's own boot fails, or a peer's fails with an unexpected error", async () => {
    const ours = { ...scripted("wasmvisor", "cpuid", [10]), run: () => Promise.reject(new BenchGuestError("wasmvisor: the guest stopped")) };
    await expect(measureJobs([ours], { iterations: 1000, loopMs: 15, runs: 1 })).rejects.toThrow("wasmvisor: the guest stopped");
    const peer = { ...scripted("qemu", "cpuid", [10]), mayFail: true, run: () => Promise.reject(new TypeError("a bug")) };
    await expect(measureJobs([peer], { iterations: 1000, loopMs: 15, runs: 1 })).rejects.toThrow("a bug");
  });

  it("notes a failed host once, not under every row", () => {
    const failedHosts: HostStatus[] = [{ host: "wasmvisor" }, { host: "qemu", version: "QEMU 7.2", failed: "killed at the guest timeout" }];
    const failedRows: RowResult[] = [{ benchmark: bench("cpuid"), results: {}, skipped: { qemu: "failed: killed at the guest timeout" } }];
    expect(formatSkipped(failedRows, failedHosts).split("\n")).toEqual(["not run:", "  QEMU: failed, its figures left out: killed at the guest timeout"]);
  });

  it("warms every wasmvisor job up, not only the first: each setup runs VMM code of its own", async () => {
    const plain = scripted("wasmvisor", "cpuid", [0, 10, 11]);
    const nested = scripted("wasmvisor", "l2-cpuid", [0, 2000, 2100]);
    const peer = scripted("qemu", "cpuid", [40, 41]);
    await measureJobs([plain, nested, peer], { iterations: 1000, loopMs: 15, runs: 2 });
    expect([plain.boots, nested.boots, peer.boots]).toEqual([3, 3, 2]);
  });

  it("calibrates from the growth between rounds, so a fresh boot's fixed cost does not shrink the loops", async () => {
    // 2 us per iteration plus 8 ms that every boot pays inside its first loop (compiling blocks):
    // one round of 200 iterations alone would say 42 us per iteration and choose 952 for 40 ms.
    const b = bench("l2-cpuid");
    const counts: number[] = [];
    const job: Job = {
      host: "wasmvisor",
      rows: [{ ...b, scale: 1 / 10 }],
      run: async (cmdline) => {
        const n = Number(cmdline.split(" ")[0]);
        counts.push(n);
        return new Map([[b.word, { iterations: n, opMs: 8 + n * 0.002, baseMs: 0, guestTicks: 0 }]]);
      },
    };
    await measureJobs([job], { loopMs: 40, runs: 1 });
    expect(counts).toEqual([2000, 200, 4000, 20_000]); // warm-up, two calibration rounds, the run
  });

  it("never lets noise that ate the growth between rounds blow the loop up beyond 20 times its calibrated length", async () => {
    const b = bench("cpuid");
    const counts: number[] = [];
    const job: Job = {
      host: "qemu",
      rows: [b],
      run: async (cmdline) => {
        const n = Number(cmdline.split(" ")[0]);
        counts.push(n);
        return new Map([[b.word, { iterations: n, opMs: counts.length === 1 ? 10 : 6, baseMs: 0, guestTicks: 0 }]]); // the longer loop came out shorter
      },
    };
    await measureJobs([job], { loopMs: 40, runs: 1 });
    expect(counts).toEqual([2000, 40_000, Math.round(40 / (6 / 40_000 / 20))]);
  });

  it("leaves a free row's figure at or below zero alone: with no exit, it may cost nothing", async () => {
    const vga = scripted("wasmvisor", "vga", [0, -1, -2]);
    const results = await measureJobs([vga], { iterations: 1000, loopMs: 15, runs: 2 });
    expect(vga.boots).toBe(3);
    expect(results.get("wasmvisor vga")!.remeasured).toBeUndefined();
  });
});

describe("bench chart", () => {
  const scene = benchChart(rows, cliff, ["wasmvisor", "qemu"]);

  it("draws a bar per host and ns row, and the cliff as a line", () => {
    const svg = sceneToSvg(scene);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="960"/);
    expect(svg.match(/<rect [^>]*fill="#2a7ab0"/g)).toHaveLength(1 + 3 + 8); // legend, 3 ns rows, 8 cliff points
    expect(svg.match(/<rect [^>]*fill="#d9822b"/g)).toHaveLength(1 + 2); // legend, cpuid and out
    expect(svg).toContain(">4 CR3 targets</text>");
    expect(svg.match(/stroke="#2a7ab0" stroke-width="2"/g)).toHaveLength(7);
  });

  it("renders the same scene as a PNG", () => {
    const png = PNG.sync.read(sceneToPng(scene));
    expect([png.width, png.height]).toEqual([scene.width, scene.height]);
    const bar = scene.shapes.find((s) => s.kind === "rect" && s.fill === "#d9822b" && s.width > 20)!;
    if (bar.kind !== "rect") throw new Error("not a bar");
    const at = (Math.round(bar.y + 2) * png.width + Math.round(bar.x + 5)) * 4;
    expect([...png.data.subarray(at, at + 3)]).toEqual([0xd9, 0x82, 0x2b]);
  });
});

describe("markdown report", () => {
  it("says when, where and how the run was made, then gives the tables as printed", () => {
    const results = benchResults(
      { cpu: "Intel(R) Xeon(R) Processor", cpus: 2, node: "v20.20.2", platform: "linux", arch: "x64", loadAverage: [1.5, 1, 1] },
      { quick: false, runs: 3, clock: "cpu", iterations: null, loopMs: 200, only: null },
      hosts,
      rows,
      [],
      { summaries: [], runs: [] },
      null,
    );
    const text = markdownReport(results, "TABLE");
    expect(text).toMatch(/^Measured \d{4}-\d\d-\d\d \d\d:\d\d UTC with `wasmvisor bench --runs 3 --clock cpu` on Intel\(R\) Xeon\(R\) Processor, 2 CPUs \(nproc\), Node v20\.20\.2 \(linux\/x64\), load average 1\.5 when it began\. /);
    expect(text).toContain("Peers: QEMU 7.2 (TCG); v86 skipped (the v86 package is not installed).");
    expect(text.endsWith("```text\nTABLE\n```\n")).toBe(true);
    expect(results.exits[0]).toMatchObject({ name: "cpuid", word: "cpuid", unit: "ns", results: { wasmvisor: { median: 18 } } });
  });
});
