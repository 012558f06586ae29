// `wasmvisor bench`: guest MIPS (regloop, compute: src/bench/bench.ts), real C phase by phase
// beside QEMU and v86 (guests/realc.elf, compute.elf and regloop: src/bench/real-c.ts), what every
// kind of VM exit costs beside them (guests/vmexit.elf: src/bench/exit-suite.ts) and the CR3 cliff
// (guests/multitask.elf: src/bench/cr3-cliff.ts), with a progress bar on stderr while it runs
// and the tables on stdout at the end; --json FILE, --markdown FILE (the README's results
// section), --chart FILE.svg|.png and --compare OLD.json for keeping and comparing results. A missing benchmark guest or a bad option value is bad input
// (status 2); a guest that does not exit cleanly is status 3. Peers that are not installed are
// reported as skipped.

import { SingleBar } from "cli-progress";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { benchChart } from "../bench/bench-chart.js";
import { BENCH_GUESTS, benchGuest, type BenchRun } from "../bench/bench.js";
import { BenchGuestError } from "../bench/bench-guest-error.js";
import { EXITLOOP_GUEST, formatColdStart, measureColdStart, type ColdStart } from "../bench/cold-start.js";
import { benchResults, cliffMeasurements, describeMachine, markdownReport, readPreviousRun } from "../bench/bench-results.js";
import { sceneToPng, sceneToSvg } from "../bench/chart-render.js";
import { MULTITASK_GUEST, WINDOW, formatCr3Cliff, measureCr3Cliff, type Cr3CliffPoint } from "../bench/cr3-cliff.js";
import { VMEXIT_GUEST, selectBenchmarks } from "../bench/exit-benchmarks.js";
import { formatNanoTable, formatTranslationCounts, isNano } from "../bench/nano-report.js";
import { formatExitTable, formatL0Exits, formatSkipped, formatTargets, noiseWarning, noisyFigures, type PreviousRun } from "../bench/exit-report.js";
import { HOSTS, runExitSuite, type Host } from "../bench/exit-suite.js";
import type { ClockKind } from "../bench/marker-timing.js";
import { findPeer, type PeerName, type PeerRunner } from "../bench/peer-runners.js";
import { formatPhaseTable, realCTargetLines, rowName } from "../bench/real-c-report.js";
import { formatDisplayTable, measureDisplays, type DisplayRow } from "../bench/display-bench.js";
import { PHASE_GUESTS, REALC, REALC_ROUNDS, runRealC, selectPhaseGuests, type RealCResults } from "../bench/real-c.js";
import { formatRuns, formatSummaries, summarize } from "../bench/report.js";
import { benchClock } from "../bench/thread-cpu-clock.js";
import { defaultCoreWasmUrl } from "../core/core.js";
import { packageFileUrl } from "../package-files.js";
import { EXIT_GUEST_DID_NOT_EXIT, UsageError } from "./exit-status.js";

export interface BenchOptions {
  runs?: number;
  json?: string;
  markdown?: string;
  chart?: string;
  compare?: string;
  only?: string;
  iterations?: number;
  quick?: boolean;
  peers: PeerName[];
  clock: ClockKind;
}

/** --quick: everything but the real-C rows in well under 30 seconds on an idle machine; realc with one round (phases ten times shorter), compute.elf and regloop not whole. */
const QUICK = { runs: 2, loopMs: 40, regloopIterations: "10000000", cliffSwitches: 4000, realcRounds: 1 };
const FULL = { runs: 3, loopMs: 200, regloopIterations: "", cliffSwitches: 20_000, realcRounds: REALC_ROUNDS };

export async function benchCommand(options: BenchOptions): Promise<number> {
  for (const path of [...BENCH_GUESTS.map((g) => g.path), ...PHASE_GUESTS.map((g) => g.path), VMEXIT_GUEST, MULTITASK_GUEST, EXITLOOP_GUEST]) {
    if (!existsSync(packageFileUrl(path))) throw new UsageError(`benchmark guest ${path} not found (build it with \`npm run guests\`)`);
  }
  const only = parseOnly(options.only);
  const mode = options.quick ? QUICK : FULL;
  const runs = options.runs ?? mode.runs;
  const previous = options.compare === undefined ? undefined : await readPrevious(options.compare);
  const machine = describeMachine();
  const bar = new SingleBar({ format: "{phase} [{bar}] {value}/{total} {label}", hideCursor: true, clearOnComplete: true, barsize: 24 });
  const phase = (name: string, total: number) => bar.start(total, 0, { phase: name.padEnd(9), label: "" });

  try {
    // The exit path's cold start first, before anything else has run V8's optimising compilers
    // over the VMM's code (the core it runs on is compiled anew in any case: cold-start.ts).
    let coldStart: ColdStart | undefined;
    if (only === undefined || only.test("cold-start")) {
      phase("cold start", 1);
      coldStart = await measureColdStart(await readFile(packageFileUrl(EXITLOOP_GUEST)), await readFile(defaultCoreWasmUrl()), benchClock(options.clock));
      bar.increment();
    }

    // Guest MIPS; under --quick only a shorter regloop (compute is a fixed 367 million instructions).
    const mipsGuests = BENCH_GUESTS.filter((g) => (only === undefined || only.test(g.name)) && !(options.quick && g.name !== "regloop"));
    const mipsRuns: BenchRun[] = [];
    if (mipsGuests.length > 0) phase("MIPS", mipsGuests.length);
    for (const guest of mipsGuests) {
      bar.update({ label: guest.name });
      mipsRuns.push(...(await benchGuest(guest, runs, undefined, guest.name === "regloop" ? mode.regloopIterations : "")));
      bar.increment();
    }
    const summaries = mipsGuests.map((g) => summarize(g, mipsRuns.filter((r) => r.guest === g.name)));

    // The cliff before the exits: its CPU time is the whole process's, and after v86 has run V8
    // goes on optimising v86's code for a while.
    let cliff: Cr3CliffPoint[] = [];
    if (only === undefined || only.test("cr3-cliff")) {
      phase("CR3 cliff", 1);
      const peers = (await Promise.all(options.peers.map(findPeer))).filter((peer): peer is PeerRunner => typeof peer !== "string");
      cliff = await measureCr3Cliff({ runs, switches: mode.cliffSwitches, peers, clock: options.clock });
      bar.increment();
    }

    // Real C phase by phase on every host.
    const phaseGuests = selectPhaseGuests(only).filter((g) => !(options.quick && g !== REALC)); // compute and regloop whole: not in --quick
    let realC: RealCResults | undefined;
    if (phaseGuests.length > 0) {
      phase("real C", 1);
      realC = await runRealC({
        guests: phaseGuests,
        runs,
        rounds: mode.realcRounds,
        peers: options.peers,
        clock: options.clock,
        onProgress: (done, total, label) => {
          bar.setTotal(total);
          bar.update(done, { label });
        },
      });
    }

    // The display updates' rows (guests/gfxdemo.elf under each strategy).
    let display: DisplayRow[] = [];
    if (only === undefined || only.test("display")) {
      phase("display", 1);
      display = await measureDisplays(options.quick ? 10 : 1, benchClock(options.clock), runs, (label) => bar.update({ label }));
      bar.increment();
    }

    const benchmarks = selectBenchmarks(only);
    phase("exits", 1);
    const suite = await runExitSuite({
      benchmarks,
      iterations: options.iterations,
      loopMs: mode.loopMs,
      runs,
      peers: options.peers,
      clock: options.clock,
      onProgress: (done, total, label) => {
        bar.setTotal(total);
        bar.update(done, { label: label.slice(0, 60) });
      },
    });
    bar.stop();

    const cliffByCount = cliffMeasurements(cliff, options.clock);
    const clockName = options.clock === "cpu" ? "CPU" : "wall";
    const exitRows = suite.rows.filter((row) => !isNano(row.benchmark));
    const nanoRows = suite.rows.filter((row) => isNano(row.benchmark));
    const sections = [
      mipsRuns.length > 0 ? `${formatRuns(mipsRuns)}\n\n${formatSummaries(summaries)}` : "",
      exitRows.length > 0 ? `VM exits: host ns per iteration, ${clockName} time, median of ${runs} runs\n${formatExitTable(exitRows, suite.hosts, previous)}` : "",
      formatL0Exits(exitRows),
      nanoRows.length > 0 ? `Nanobenchmarks (Adams & Agesen, ASPLOS 2006): host ns per iteration under each technique (VM exits per iteration), ${clockName} time, median of ${runs} runs\n${formatNanoTable(nanoRows, suite.hosts)}` : "",
      formatTranslationCounts(nanoRows),
      coldStart ? formatColdStart(coldStart, options.clock) : "",
      realC ? `Real C: host ${options.clock === "cpu" ? "CPU" : "wall"} ms per phase, median of ${runs} runs (guests/realc.elf, ${mode.realcRounds} rounds a phase)\n${formatPhaseTable(realC.rows, realC.hosts, previous)}` : "",
      display.length > 0 ? `Display updates: guests/gfxdemo.elf, plasma (mode 13h, every pixel) and sprite (a ball over 800x600x32), the screen refreshed once a frame and what changed converted to RGBA; frame→screen (median, longest) in wall time from runs where the guest reports each frame; host ${options.clock === "cpu" ? "CPU" : "wall"} time, median of ${runs} runs\n${formatDisplayTable(display)}` : "",
      cliff.length > 0 ? `CR3 cliff (guests/multitask.elf): address-space switches, timed from the ${WINDOW.from * 100}th to the ${WINDOW.to * 100}th percent of them\n${formatCr3Cliff(cliff, clockName)}` : "",
      benchmarks.length > 0 || realC ? formatTargets(suite.rows, cliffByCount, realC ? realCTargetLines(realC.rows, realC.guests) : []) : "",
      formatSkipped(suite.rows, suite.hosts),
    ];
    const report = sections.filter((s) => s !== "").join("\n\n");
    process.stdout.write(`${report}\n`);
    // a whole guest's row is named as the guest, like its MIPS row of the exit table: told apart here
    const realRows = (realC?.rows ?? []).map((row) => ({ name: row.guest === row.phase ? `${rowName(row)} (ms, whole guest)` : rowName(row), results: row.results }));
    const noisy = noisyFigures(suite.rows, cliffByCount, realRows);
    const figures = [...suite.rows, ...realRows].reduce((n, r) => n + Object.keys(r.results).length, 0) + cliffByCount.size;
    if (noisy.length > 0) process.stderr.write(`wasmvisor: ${noiseWarning(noisy, figures, machine.loadAverage, machine.cpus, options.clock)}\n`);

    const results = benchResults(
      machine,
      { quick: options.quick === true, runs, clock: options.clock, iterations: options.iterations ?? null, loopMs: mode.loopMs, only: options.only ?? null },
      suite.hosts,
      suite.rows,
      cliff,
      { summaries, runs: mipsRuns },
      realC ? { rows: realC.rows, guests: realC.guests, rounds: mode.realcRounds } : null,
      coldStart ?? null,
      display.length > 0 ? display : null,
    );
    if (options.json !== undefined) await writeFile(options.json, `${JSON.stringify(results, null, 2)}\n`);
    if (options.markdown !== undefined) await writeFile(options.markdown, markdownReport(results, report));
    if (options.chart !== undefined) {
      const ran = (h: Host) => suite.hosts.some((s) => s.host === h && !s.skipped) || (realC?.hosts.some((s) => s.host === h && !s.skipped) ?? false);
      const scene = benchChart(exitRows, cliffByCount, HOSTS.filter(ran), realC?.rows);
      await writeFile(options.chart, options.chart.toLowerCase().endsWith(".png") ? sceneToPng(scene) : sceneToSvg(scene));
    }
    return 0;
  } catch (error) {
    bar.stop();
    if (!(error instanceof BenchGuestError)) throw error;
    process.stderr.write(`wasmvisor: benchmark guest failed: ${error.message}\n`);
    return EXIT_GUEST_DID_NOT_EXIT;
  }
}

function parseOnly(pattern: string | undefined): RegExp | undefined {
  if (pattern === undefined) return undefined;
  try {
    return new RegExp(pattern, "i");
  } catch {
    throw new UsageError(`--only: not a regular expression: ${pattern}`);
  }
}

async function readPrevious(path: string): Promise<PreviousRun> {
  try {
    return await readPreviousRun(path);
  } catch (error) {
    throw new UsageError(`--compare ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
