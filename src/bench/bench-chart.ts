// `wasmvisor bench --chart FILE.svg|FILE.png`: the exit benchmarks as horizontal bars, one group
// per exit kind with a bar per host, on a logarithmic nanosecond axis (the costs span five
// decades, from a free CLI to a HLT that waits for a timer); under it the CR3 cliff, ns per
// address-space switch for 1..8 address spaces as a line, with the four CR3 targets marked; and
// last, when real C ran on QEMU too, each phase's time over QEMU's as bars per host (QEMU at 1x),
// with the limits marked: the total at 1.25x, any phase at 2x. Each panel is drawn only
// when its part of the bench ran. Figures that are not positive (an operation that costs
// nothing, within noise) get no bar.

import { GLYPH_HEIGHT, GLYPH_WIDTH, type Scene, type Shape } from "./chart-render.js";
import { HOST_TITLES } from "./exit-report.js";
import type { Measurement } from "./exit-runs.js";
import type { Host, RowResult } from "./exit-suite.js";
import type { PhaseRow } from "./real-c.js";
import { PHASE_LIMIT, TOTAL_LIMIT, rowName, timeRatio } from "./real-c-report.js";

const WIDTH = 960;
const MARGIN = 20;
const LABEL_WIDTH = 17 * GLYPH_WIDTH;
const PLOT_LEFT = MARGIN + LABEL_WIDTH;
const PLOT_RIGHT = WIDTH - 3 * MARGIN;
const BAR_HEIGHT = 7;
const PHASE_BAR_HEIGHT = 9;
const GROUP_GAP = 8;
const CLIFF_HEIGHT = 260;
const HOST_COLOURS: Record<Host, string> = { wasmvisor: "#2a7ab0", qemu: "#d9822b", v86: "#3c9a4a" };
const INK = "#202020";
const GRID = "#d8d8d8";

/** Collects a scene's shapes. */
class Pen {
  readonly shapes: Shape[] = [];

  text(x: number, y: number, value: string, anchor: "start" | "middle" | "end" = "start"): void {
    this.shapes.push({ kind: "text", x, y, text: value, fill: INK, anchor });
  }

  line(x1: number, y1: number, x2: number, y2: number, stroke = GRID, width = 1, dashed = false): void {
    this.shapes.push({ kind: "line", x1, y1, x2, y2, stroke, width, dashed });
  }

  rect(x: number, y: number, width: number, height: number, fill: string): void {
    this.shapes.push({ kind: "rect", x, y, width, height, fill });
  }
}

/** `phases`: the real-C rows, drawn as ratios to QEMU's time where QEMU ran them. */
export function benchChart(rows: readonly RowResult[], cliff: ReadonlyMap<number, Measurement>, hosts: readonly Host[], phases: readonly PhaseRow[] = []): Scene {
  const pen = new Pen();
  pen.text(MARGIN, MARGIN, "wasmvisor bench");
  let legendX = WIDTH - MARGIN - hosts.length * 110;
  for (const host of hosts) {
    pen.rect(legendX, MARGIN + 4, 12, 10, HOST_COLOURS[host]);
    pen.text(legendX + 18, MARGIN, HOST_TITLES[host]);
    legendX += 110;
  }

  let height = MARGIN + 2 * GLYPH_HEIGHT;
  const bars = rows.filter((r) => r.benchmark.unit === "ns");
  if (bars.length > 0) height = exitPanel(pen, height, bars, hosts);
  if (cliff.size > 0) height = cliffPanel(pen, height, cliff);
  const timed = phases.filter((row) => row.results.qemu !== undefined && row.results.qemu.median > 0);
  if (timed.length > 0) height = phasePanel(pen, height, timed, hosts.filter((h) => h !== "qemu"));
  return { width: WIDTH, height, background: "#ffffff", shapes: pen.shapes };
}

/** ns per operation, a bar per host, log scale; returns the panel's bottom. */
function exitPanel(pen: Pen, at: number, bars: readonly RowResult[], hosts: readonly Host[]): number {
  pen.text(MARGIN, at, "ns per exit-causing operation (log scale)");
  const top = at + GLYPH_HEIGHT + 8;
  const groupHeight = hosts.length * BAR_HEIGHT + GROUP_GAP;
  const bottom = top + bars.length * groupHeight;
  const values = bars.flatMap((r) => hosts.map((h) => r.results[h]?.median ?? 0)).filter((v) => v > 0);
  const lowDecade = Math.floor(Math.log10(Math.min(...values, 10)));
  const highDecade = Math.ceil(Math.log10(Math.max(...values, 100)));
  const xOf = (ns: number) => PLOT_LEFT + ((Math.log10(ns) - lowDecade) / (highDecade - lowDecade)) * (PLOT_RIGHT - PLOT_LEFT);
  for (let decade = lowDecade; decade <= highDecade; decade++) {
    const x = xOf(10 ** decade);
    pen.line(x, top - 4, x, bottom);
    pen.text(x, bottom + 4, nsLabel(10 ** decade), "middle");
  }
  bars.forEach((row, i) => {
    const y = top + i * groupHeight;
    pen.text(MARGIN, y + (hosts.length * BAR_HEIGHT - GLYPH_HEIGHT) / 2, row.benchmark.name);
    hosts.forEach((host, j) => {
      const median = row.results[host]?.median;
      if (median !== undefined && median > 0) pen.rect(PLOT_LEFT, y + j * BAR_HEIGHT, Math.max(1, xOf(median) - PLOT_LEFT), BAR_HEIGHT - 1, HOST_COLOURS[host]);
    });
  });
  return bottom + GLYPH_HEIGHT + 2 * MARGIN;
}

/** wasmvisor's ns per switch over the number of address spaces, as a line. */
function cliffPanel(pen: Pen, at: number, cliff: ReadonlyMap<number, Measurement>): number {
  const cliffTop = at + GLYPH_HEIGHT + 8;
  const cliffBottom = cliffTop + CLIFF_HEIGHT;
  pen.text(MARGIN, at, "CR3 cliff: wasmvisor ns per address-space switch (guests/multitask.elf)");
  const counts = [...cliff.keys()].sort((a, b) => a - b);
  const yMax = niceCeiling(Math.max(...[...cliff.values()].map((m) => m.median)) * 1.1);
  const xAt = (n: number) => PLOT_LEFT + ((n - counts[0]) / Math.max(1, counts.at(-1)! - counts[0])) * (PLOT_RIGHT - PLOT_LEFT);
  const yAt = (ns: number) => cliffBottom - (Math.max(0, ns) / yMax) * CLIFF_HEIGHT;
  for (let step = 0; step <= 4; step++) {
    const ns = (yMax * step) / 4;
    pen.line(PLOT_LEFT, yAt(ns), PLOT_RIGHT, yAt(ns));
    pen.text(PLOT_LEFT - 6, yAt(ns) - GLYPH_HEIGHT / 2, nsLabel(ns), "end");
  }
  for (const n of counts) pen.text(xAt(n), cliffBottom + 4, String(n), "middle");
  pen.text((PLOT_LEFT + PLOT_RIGHT) / 2, cliffBottom + 4 + GLYPH_HEIGHT, "address spaces", "middle");
  if (counts.includes(4) && counts.includes(5)) {
    const x = (xAt(4) + xAt(5)) / 2;
    pen.line(x, cliffTop, x, cliffBottom, INK, 1, true);
    pen.text(x + 6, cliffTop, "4 CR3 targets");
  }
  counts.slice(1).forEach((n, i) => pen.line(xAt(counts[i]), yAt(cliff.get(counts[i])!.median), xAt(n), yAt(cliff.get(n)!.median), HOST_COLOURS.wasmvisor, 2));
  for (const n of counts) pen.rect(xAt(n) - 3, yAt(cliff.get(n)!.median) - 3, 7, 7, HOST_COLOURS.wasmvisor);
  return cliffBottom + 2 * GLYPH_HEIGHT + MARGIN;
}

/** Each real-C row's time over QEMU's, a bar per host but QEMU, with QEMU and the limits as lines. */
function phasePanel(pen: Pen, at: number, rows: readonly PhaseRow[], hosts: readonly Host[]): number {
  pen.text(MARGIN, at, "real C: time per phase relative to QEMU TCG's (1x = as fast as QEMU; shorter is faster)");
  const top = at + GLYPH_HEIGHT + 8;
  const groupHeight = hosts.length * PHASE_BAR_HEIGHT + GROUP_GAP;
  const bottom = top + rows.length * groupHeight;
  const ratioOf = (row: PhaseRow, host: Host) => timeRatio(row.results[host], row.results.qemu);
  const xMax = niceCeiling(Math.max(PHASE_LIMIT, ...rows.flatMap((row) => hosts.map((h) => ratioOf(row, h) ?? 0))) * 1.05);
  const xAt = (ratio: number) => PLOT_LEFT + (ratio / xMax) * (PLOT_RIGHT - PLOT_LEFT);
  for (let step = 0; step <= 4; step++) {
    const ratio = (xMax * step) / 4;
    pen.line(xAt(ratio), top - 4, xAt(ratio), bottom);
    pen.text(xAt(ratio), bottom + 4, `${+ratio.toPrecision(3)}x`, "middle");
  }
  // The lines' labels one under another, as 1x, 1.25x and 2x lie close together.
  const marks = [[1, "QEMU"], [TOTAL_LIMIT, `limit for the total, ${TOTAL_LIMIT}x`], [PHASE_LIMIT, `limit for a phase, ${PHASE_LIMIT}x`]] as const;
  marks.forEach(([ratio, label], k) => {
    const labelY = bottom + 4 + (k + 1) * GLYPH_HEIGHT;
    pen.line(xAt(ratio), top - 4, xAt(ratio), labelY + GLYPH_HEIGHT / 2, ratio === 1 ? HOST_COLOURS.qemu : INK, 1, ratio !== 1);
    pen.text(xAt(ratio) + 4, labelY, label);
  });
  rows.forEach((row, i) => {
    const y = top + i * groupHeight;
    pen.text(MARGIN, y + (hosts.length * PHASE_BAR_HEIGHT - GLYPH_HEIGHT) / 2, rowName(row));
    hosts.forEach((host, j) => {
      const ratio = ratioOf(row, host);
      if (ratio !== undefined) pen.rect(PLOT_LEFT, y + j * PHASE_BAR_HEIGHT, Math.max(1, xAt(ratio) - PLOT_LEFT), PHASE_BAR_HEIGHT - 1, HOST_COLOURS[host]);
    });
  });
  return bottom + (marks.length + 2) * GLYPH_HEIGHT + MARGIN;
}

function nsLabel(ns: number): string {
  if (ns >= 1e6) return `${+(ns / 1e6).toPrecision(3)} ms`;
  if (ns >= 1e3) return `${+(ns / 1e3).toPrecision(3)} us`;
  return `${+ns.toPrecision(3)} ns`;
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(value, 1)));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= value)!;
}
