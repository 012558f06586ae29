// The display-update rows of `wasmvisor bench` (issue 21): guests/gfxdemo.elf under each strategy
// of src/vmm/display-update.ts, on two demos:
// - plasma: mode 13h, every pixel of the 64,000-byte frame changes each frame (a full change);
// - sprite: an 800x600x32 dispi frame (1.92 MB) over which a 24x24 ball moves (a small change).
// The monitor refreshes once per guest frame, as a screen that shows every frame would: the VM
// runs in slices of one frame's instructions (from a first, undisplayed run of the same demo),
// and the screen gets its refresh after each (refresh and dirty-log copy then; trap and pv have
// copied already); then the monitor redraws what changed of its RGBA picture, as the page's
// worker and the terminal do (src/display/frame-image.ts; not counted: sending those pixels to
// the page and the browser's drawing them).
// Everything is counted from the guest's "frames start" line, after the static
// picture, to its end. A round runs every strategy and then the undisplayed demo in the same
// slices; the time figures are medians over the rounds (--runs). Per row:
// - frames/s: guest frames per second of host time;
// - exits/frame: every VM exit over the frames;
// - host µs/frame: host time over the frames, the guest's own drawing included;
// - display µs/frame: the same less the same round's undisplayed run's (which has no display work:
//   no write trap, no copies, no picture), i.e. what showing the frames cost the host: exits,
//   copies into the screen, conversion of what changed to RGBA (not the browser's own drawing);
// - copied KiB/frame: what the VMM copied from the frame buffer into the screen;
// - dirty pages/frame: pages the dirty log found written (dirty-log only);
// - frame→screen µs, max µs: wall time from a frame's completion (the guest's display-rect
//   hypercall) to the screen copy holding it, the median and the longest, from a run of their own
//   in which the guest reports every frame (DisplayUpdater.frameTiming).

import { readFile } from "node:fs/promises";
import { defaultCoreWasmUrl } from "../core/core.js";
import { packageFileUrl } from "../package-files.js";
import { FrameImage } from "../display/frame-image.js";
import { DISPLAY_UPDATES, type DisplayUpdate } from "../vmm/display-update.js";
import { describeStop } from "../vmm/stop-reason.js";
import { VirtualMachine } from "../vmm/virtual-machine.js";
import { BenchGuestError } from "./bench-guest-error.js";
import { wallClock, type Clock } from "./marker-timing.js";
import { median } from "./report.js";

export const DISPLAY_GUEST = "guests/gfxdemo.elf";
export const DISPLAY_DEMOS = ["plasma", "sprite"] as const;
export type DisplayDemo = (typeof DISPLAY_DEMOS)[number];
const DEMO_ARGS: Record<DisplayDemo, string> = { plasma: "plasma", sprite: "sprite FRAMES 800 600 32" };
/** Frames per run: the plasma's trap row takes 16,000 exits a frame. */
export const DISPLAY_FRAMES: Record<DisplayDemo, number> = { plasma: 30, sprite: 1000 };
const START_LINE = "frames start";

export interface DisplayRow {
  demo: DisplayDemo;
  strategy: DisplayUpdate;
  frames: number;
  framesPerSecond: number;
  exitsPerFrame: number;
  hostUsPerFrame: number;
  displayUsPerFrame: number;
  copiedKiBPerFrame: number;
  dirtyPagesPerFrame: number;
  /** From a frame's completion to the screen copy holding it, wall µs: the median and the longest. */
  delayUs: number;
  maxDelayUs: number;
}

interface DemoRun {
  hostMs: number;
  instructions: number;
  exits: number;
  bytesCopied: number;
  dirtyPages: number;
}

/** How a run shows the demo. */
interface Showing {
  /** undefined: no display work at all (refresh, never refreshed), one long slice. */
  strategy: DisplayUpdate | undefined;
  /** The guest reports each frame (its "pv" word, under any strategy) and each frame's delay to the screen copy is timed. */
  timeFrames?: boolean;
}

function cmdline(demo: DisplayDemo, frames: number, reports: boolean): string {
  const args = DEMO_ARGS[demo].includes("FRAMES") ? DEMO_ARGS[demo].replace("FRAMES", String(frames)) : `${DEMO_ARGS[demo]} ${frames}`;
  return `gfxdemo ${args}${reports ? " pv" : ""}`;
}

/**
 * One run of `demo` from its "frames start" line to its exit. With a strategy, after every
 * `slice` instructions the screen refreshes and a monitor redraws what changed of its RGBA
 * picture (FrameImage, as the page's worker and the terminal do).
 */
async function runDemo(demo: DisplayDemo, frames: number, showing: Showing, slice: number, clock: Clock, core: BufferSource): Promise<{ run: DemoRun; delaysMs: number[] }> {
  const { strategy, timeFrames = false } = showing;
  const line = cmdline(demo, frames, strategy === "pv" || timeFrames);
  let console = "";
  let start: DemoRun | undefined, end: DemoRun | undefined;
  const delaysMs: number[] = [];
  const vm: VirtualMachine = await VirtualMachine.boot(await readFile(packageFileUrl(DISPLAY_GUEST)), {
    core, memoryMiB: 4, cmdline: line, displayUpdate: strategy ?? "refresh",
    serialOutput: (byte) => {
      // from the end of the start line to the first byte of the closing report
      if (start !== undefined && end === undefined) end = snapshot(vm, clock);
      console += String.fromCharCode(byte);
      if (start === undefined && console.endsWith(`${START_LINE}\n`)) {
        start = snapshot(vm, clock);
        if (timeFrames) vm.display.frameTiming = { clock: wallClock, delay: (ms) => delaysMs.push(ms) }; // a delay is wall time, whatever --clock says
      }
    },
  });
  const monitor = new FrameImage();
  for (;;) {
    const { stop } = vm.run({ maxInstructions: vm.vmcs.instructionsRetired() + slice });
    if (strategy !== undefined && start !== undefined) {
      vm.display.refresh(); // the monitor's refresh, once a frame
      monitor.update(vm.pc.display, vm.display.screen, vm.display.takeDamage());
    }
    if (stop.kind === "instruction-limit") continue;
    if (stop.kind !== "guest-exit" || stop.code !== 0 || start === undefined || end === undefined) throw new BenchGuestError(`${DISPLAY_GUEST} "${line}" on wasmvisor: ${describeStop(stop)}\n${console}`);
    break;
  }
  const run = {
    hostMs: end.hostMs - start.hostMs,
    instructions: end.instructions - start.instructions,
    exits: end.exits - start.exits,
    bytesCopied: end.bytesCopied - start.bytesCopied,
    dirtyPages: end.dirtyPages - start.dirtyPages,
  };
  return { run, delaysMs };
}

function snapshot(vm: VirtualMachine, clock: Clock): DemoRun {
  const { bytesCopied, dirtyPages } = vm.display.counts;
  return { hostMs: clock(), instructions: vm.vmcs.instructionsRetired(), exits: vm.stats.total, bytesCopied, dirtyPages };
}

export interface DisplayMeasureOptions {
  strategies?: readonly DisplayUpdate[];
  core?: BufferSource;
  onProgress?: (label: string) => void;
  /**
   * Rounds of every strategy and an undisplayed run, interleaved; time figures are medians over
   * them. A display figure is the difference of two runs of ~0.2 s, which one run of each left
   * ±100 µs a frame apart from run to run (2026-12-06).
   */
  runs?: number;
}

/** `demo` under every strategy, `frames` frames each, after a first undisplayed run. */
export async function measureDisplayDemo(demo: DisplayDemo, frames: number, clock: Clock, options: DisplayMeasureOptions = {}): Promise<DisplayRow[]> {
  const { strategies = DISPLAY_UPDATES, onProgress, runs = 1 } = options;
  const wasm = options.core ?? (await readFile(defaultCoreWasmUrl()));
  // A first undisplayed run gives a frame's instructions (and warms V8 up); the ones that count,
  // in the same slices as the others, close each round.
  onProgress?.(`${demo} undisplayed`);
  const first = (await runDemo(demo, frames, { strategy: undefined }, 50_000_000, clock, wasm)).run;
  const slice = Math.max(1000, Math.round(first.instructions / frames));
  const rounds = new Map<DisplayUpdate, DemoRun[]>(strategies.map((s) => [s, []]));
  const bare: DemoRun[] = [];
  for (let round = 1; round <= runs; round++) {
    for (const strategy of strategies) {
      onProgress?.(`${demo} ${strategy}${runs > 1 ? ` (${round}/${runs})` : ""}`);
      rounds.get(strategy)!.push((await runDemo(demo, frames, { strategy }, slice, clock, wasm)).run);
    }
    bare.push((await runDemo(demo, frames, { strategy: undefined }, slice, clock, wasm)).run);
  }
  // The delays need the guest to say where each frame ends (a hypercall a frame, which the
  // strategies other than pv do not otherwise pay): a run of their own for each strategy.
  const delays = new Map<DisplayUpdate, number[]>();
  for (const strategy of strategies) {
    onProgress?.(`${demo} ${strategy} frame delays`);
    delays.set(strategy, (await runDemo(demo, frames, { strategy, timeFrames: true }, slice, clock, wasm)).delaysMs);
  }
  return strategies.map((strategy): DisplayRow => {
    const runsOf = rounds.get(strategy)!;
    const delay = delays.get(strategy)!;
    const hostMs = median(runsOf.map((r) => r.hostMs));
    const { exits, bytesCopied, dirtyPages } = runsOf[0]; // the same in every round, but for where slices end
    return {
      demo,
      strategy,
      frames,
      framesPerSecond: frames / (hostMs / 1000),
      exitsPerFrame: exits / frames,
      hostUsPerFrame: (hostMs * 1000) / frames,
      displayUsPerFrame: (median(runsOf.map((r, i) => r.hostMs - bare[i].hostMs)) * 1000) / frames,
      copiedKiBPerFrame: bytesCopied / 1024 / frames,
      dirtyPagesPerFrame: dirtyPages / frames,
      delayUs: delay.length ? median(delay) * 1000 : 0,
      maxDelayUs: delay.length ? Math.max(...delay) * 1000 : 0,
    };
  });
}

/** Both demos under every strategy, DISPLAY_FRAMES divided by `scaleDown` each, `runs` rounds. */
export async function measureDisplays(scaleDown: number, clock: Clock, runs: number, onProgress?: (label: string) => void): Promise<DisplayRow[]> {
  const core = await readFile(defaultCoreWasmUrl());
  const rows: DisplayRow[] = [];
  for (const demo of DISPLAY_DEMOS) rows.push(...(await measureDisplayDemo(demo, Math.ceil(DISPLAY_FRAMES[demo] / scaleDown), clock, { core, onProgress, runs })));
  return rows;
}

export function formatDisplayTable(rows: readonly DisplayRow[]): string {
  const header = ["demo", "strategy", "frames/s", "exits/frame", "host µs/frame", "display µs/frame", "copied KiB/frame", "dirty pages/frame", "frame→screen µs", "max µs"];
  const cells = rows.map((r) => [r.demo, r.strategy, r.framesPerSecond.toFixed(0), r.exitsPerFrame.toFixed(2), r.hostUsPerFrame.toFixed(1), r.displayUsPerFrame.toFixed(1), r.copiedKiBPerFrame.toFixed(1), r.dirtyPagesPerFrame.toFixed(2), r.delayUs.toFixed(1), r.maxDelayUs.toFixed(0)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((text, i) => (i < 2 ? text.padEnd(widths[i]) : text.padStart(widths[i]))).join("  ");
  return [line(header), ...cells.map(line)].join("\n");
}
