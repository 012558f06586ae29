// `wasmvisor bench --chart FILE.svg|FILE.png`: the exit benchmarks as horizontal bars, one group
// per exit kind with a bar per host, on a logarithmic nanosecond axis (the costs span five
// decades, from a free CLI to a HLT that waits for a timer); and under it the CR3 cliff, ns per
// address-space switch for 1..8 address spaces as a line, with the four CR3 targets marked.
// Figures that are not positive (an operation that costs nothing, within noise) get no bar.

import type { Measurement } from "./exit-runs.js";
import type { Host, RowResult } from "./exit-suite.js";
import { GLYPH_HEIGHT, GLYPH_WIDTH, type Scene, type Shape } from "./chart-render.js";
import { HOST_TITLES } from "./exit-report.js";

const WIDTH = 960;
const MARGIN = 20;
const LABEL_WIDTH = 17 * GLYPH_WIDTH;
const BAR_HEIGHT = 7;
const GROUP_GAP = 8;
const CLIFF_HEIGHT = 260;
const HOST_COLOURS: Record<Host, string> = { wasmvisor: "#2a7ab0", qemu: "#d9822b", v86: "#3c9a4a" };
const INK = "#202020";
const GRID = "#d8d8d8";

export function benchChart(rows: readonly RowResult[], cliff: ReadonlyMap<number, Measurement>, hosts: readonly Host[]): Scene {
  const shapes: Shape[] = [];
  const text = (x: number, y: number, value: string, anchor: "start" | "middle" | "end" = "start", fill = INK) => shapes.push({ kind: "text", x, y, text: value, fill, anchor });
  const line = (x1: number, y1: number, x2: number, y2: number, stroke = GRID, width = 1, dashed = false) => shapes.push({ kind: "line", x1, y1, x2, y2, stroke, width, dashed });

  text(MARGIN, MARGIN, "wasmvisor bench: ns per exit-causing operation (log scale)");
  let legendX = WIDTH - MARGIN - hosts.length * 110;
  for (const host of hosts) {
    shapes.push({ kind: "rect", x: legendX, y: MARGIN + 4, width: 12, height: 10, fill: HOST_COLOURS[host] });
    text(legendX + 18, MARGIN, HOST_TITLES[host]);
    legendX += 110;
  }

  const bars = rows.filter((r) => r.benchmark.unit === "ns");
  const plotLeft = MARGIN + LABEL_WIDTH;
  const plotRight = WIDTH - 3 * MARGIN;
  const top = MARGIN + 2 * GLYPH_HEIGHT + 8;
  const groupHeight = hosts.length * BAR_HEIGHT + GROUP_GAP;
  const bottom = top + bars.length * groupHeight;
  const values = bars.flatMap((r) => hosts.map((h) => r.results[h]?.median ?? 0)).filter((v) => v > 0);
  const lowDecade = Math.floor(Math.log10(Math.min(...values, 10)));
  const highDecade = Math.ceil(Math.log10(Math.max(...values, 100)));
  const xOf = (ns: number) => plotLeft + ((Math.log10(ns) - lowDecade) / (highDecade - lowDecade)) * (plotRight - plotLeft);
  for (let decade = lowDecade; decade <= highDecade; decade++) {
    const x = xOf(10 ** decade);
    line(x, top - 4, x, bottom);
    text(x, bottom + 4, nsLabel(10 ** decade), "middle");
  }
  bars.forEach((row, i) => {
    const y = top + i * groupHeight;
    text(MARGIN, y + (hosts.length * BAR_HEIGHT - GLYPH_HEIGHT) / 2, row.benchmark.name);
    hosts.forEach((host, j) => {
      const median = row.results[host]?.median;
      if (median !== undefined && median > 0) {
        shapes.push({ kind: "rect", x: plotLeft, y: y + j * BAR_HEIGHT, width: Math.max(1, xOf(median) - plotLeft), height: BAR_HEIGHT - 1, fill: HOST_COLOURS[host] });
      }
    });
  });

  let height = bottom + GLYPH_HEIGHT + 2 * MARGIN;
  if (cliff.size > 0) {
    const cliffTop = height + GLYPH_HEIGHT + 8;
    const cliffBottom = cliffTop + CLIFF_HEIGHT;
    text(MARGIN, height, "CR3 cliff: wasmvisor ns per address-space switch (guests/multitask.elf)");
    const counts = [...cliff.keys()].sort((a, b) => a - b);
    const yMax = niceCeiling(Math.max(...[...cliff.values()].map((m) => m.median)) * 1.1);
    const xAt = (n: number) => plotLeft + ((n - counts[0]) / Math.max(1, counts.at(-1)! - counts[0])) * (plotRight - plotLeft);
    const yAt = (ns: number) => cliffBottom - (Math.max(0, ns) / yMax) * CLIFF_HEIGHT;
    for (let step = 0; step <= 4; step++) {
      const ns = (yMax * step) / 4;
      line(plotLeft, yAt(ns), plotRight, yAt(ns));
      text(plotLeft - 6, yAt(ns) - GLYPH_HEIGHT / 2, nsLabel(ns), "end");
    }
    for (const n of counts) text(xAt(n), cliffBottom + 4, String(n), "middle");
    text((plotLeft + plotRight) / 2, cliffBottom + 4 + GLYPH_HEIGHT, "address spaces", "middle");
    if (counts.includes(4) && counts.includes(5)) {
      const x = (xAt(4) + xAt(5)) / 2;
      line(x, cliffTop, x, cliffBottom, INK, 1, true);
      text(x + 6, cliffTop, "4 CR3 targets");
    }
    counts.slice(1).forEach((n, i) => line(xAt(counts[i]), yAt(cliff.get(counts[i])!.median), xAt(n), yAt(cliff.get(n)!.median), HOST_COLOURS.wasmvisor, 2));
    for (const n of counts) shapes.push({ kind: "rect", x: xAt(n) - 3, y: yAt(cliff.get(n)!.median) - 3, width: 7, height: 7, fill: HOST_COLOURS.wasmvisor });
    height = cliffBottom + 2 * GLYPH_HEIGHT + MARGIN;
  }
  return { width: WIDTH, height, background: "#ffffff", shapes };
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
