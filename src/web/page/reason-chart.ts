// Exits per second by reason, stacked (uPlot), over the last minute, with a vertical marker at each
// moment a VMCS control changed, labelled with the change ("CR3 targets 4 → 3"); the list under
// the chart names each marker with what to expect (control-notes.ts). Fed the same samples as the
// exit table. Under bt, the rewrites translated code performed instead of exiting (inline CLI,
// callout IRET, ...) are drawn beside the exits as dashed lines per second, not stacked: where
// trap's CLI exits were, bt's inline CLIs are. For tests and tools the chart element carries its
// newest column as data-rates (JSON: reason -> exits per second) and data-rewrites (rewrite ->
// per second), and data-samples; each marker is an <li> with data-time.

import type uPlot from "uplot";
import type { StatsSample } from "../protocol.js";
import type { ControlChange } from "./control-notes.js";
import { afterFirstOutput } from "./first-output.js";
import { exitLabel, short } from "./stats-view.js";

/** Samples kept: a minute at four a second. */
const HISTORY = 240;
const HEIGHT = 240;

/** A colour per reason the VMM reports; any other gets one from its number. */
const COLOURS: Record<number, string> = {
  1: "#8e9aa6",
  7: "#b0bec5",
  10: "#5cc8ff",
  12: "#2ecc71",
  18: "#f1c40f",
  28: "#ff8c42",
  30: "#b07cff",
  48: "#ff5c7a",
  52: "#4f6d8a",
  0x100: "#1de9b6",
  0x101: "#00bfa5",
  0x102: "#80cbc4",
  0x103: "#4db6ac",
  0x104: "#ffb35c",
};
/** The rewrites' dashed lines under bt, in the order they first appear. */
const REWRITE_COLOURS = ["#f5f7fa", "#ffe082", "#a5d6a7", "#ef9a9a", "#90caf9", "#ce93d8"];
const colour = (reason: number) => COLOURS[reason] ?? `hsl(${(reason * 47) % 360} 60% 60%)`;

const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const seconds = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

interface Marker {
  time: number;
  change: ControlChange;
}

/** Per key, its rate at each sample time; a key starts when it is first above 0, with 0 at the times before. */
class RateSeries<K> {
  readonly series = new Map<K, number[]>();

  /** Appends this time's rates (`times`: the count of times including this one); true if a key is new. */
  push(rates: ReadonlyMap<K, number>, times: number): boolean {
    let added = false;
    for (const [key, rate] of rates) {
      if (rate <= 0 || this.series.has(key)) continue;
      this.series.set(key, new Array<number>(times - 1).fill(0));
      added = true;
    }
    for (const [key, series] of this.series) series.push(rates.get(key) ?? 0);
    return added;
  }

  shift(): void {
    for (const series of this.series.values()) series.shift();
  }

  /** The newest rate of each key, as JSON. */
  newest(): string {
    return JSON.stringify(Object.fromEntries([...this.series].map(([key, series]) => [key, series[series.length - 1]])));
  }
}

export class ReasonChart {
  private chart: uPlot | undefined;
  private uplot: typeof uPlot | undefined;
  private readonly times: number[] = [];
  /** Per reason, its own rate at each time (0 where it had no exits). */
  private rates = new RateSeries<number>();
  /** Under bt, per rewrite ("inline CLI"), its rate at each time. */
  private rewrites = new RateSeries<string>();
  /** Per reason, its label (stats-view.ts exitLabel). */
  private readonly labels = new Map<number, string>();
  private markers: Marker[] = [];
  /** The newest sample's time, and when (page clock) it arrived: a marker's time is counted from it. */
  private lastSample = { time: 0, arrivedMs: performance.now() };

  constructor(
    private readonly element: HTMLElement,
    private readonly markerList: HTMLOListElement,
  ) {
    // uPlot loads once the page has painted and the guest has shown its first output (as the
    // statistics chart's does), never racing either.
    void afterFirstOutput()
      .then(() => import("uplot"))
      .then(({ default: loaded }) => {
        this.uplot = loaded;
        this.redraw(true);
      });
    new ResizeObserver(() => this.chart?.setSize({ width: this.width(), height: HEIGHT })).observe(element);
  }

  /** A new guest: no history, no markers. */
  clear(): void {
    this.times.length = 0;
    this.rates = new RateSeries();
    this.rewrites = new RateSeries();
    this.labels.clear();
    this.markers = [];
    this.lastSample = { time: 0, arrivedMs: performance.now() };
    this.showMarkers();
    this.redraw(true);
  }

  show(sample: StatsSample): void {
    this.lastSample = { time: sample.time, arrivedMs: performance.now() };
    this.times.push(sample.time);
    for (const exit of sample.exits) this.labels.set(exit.reason, exitLabel(exit));
    const newReason = this.rates.push(new Map(sample.exits.map((exit) => [exit.reason, exit.perSecond])), this.times.length);
    const newRewrite = this.rewrites.push(new Map((sample.rewrites ?? []).map((r) => [r.name, r.perSecond])), this.times.length);
    if (this.times.length > HISTORY) {
      this.times.shift();
      this.rates.shift();
      this.rewrites.shift();
      const first = this.times[0];
      const kept = this.markers.filter((marker) => marker.time >= first);
      if (kept.length !== this.markers.length) {
        this.markers = kept;
        this.showMarkers();
      }
    }
    this.element.dataset.samples = String(this.times.length);
    this.element.dataset.rates = this.rates.newest();
    this.element.dataset.rewrites = this.rewrites.newest();
    this.redraw(newReason || newRewrite);
  }

  /** Controls changed now: a marker for each, at the worker's time as of now. */
  mark(changes: ControlChange[]): void {
    const time = this.lastSample.time + (performance.now() - this.lastSample.arrivedMs) / 1000;
    for (const change of changes) this.markers.push({ time, change });
    this.showMarkers();
    this.chart?.redraw(false);
  }

  private showMarkers(): void {
    this.markerList.replaceChildren(
      ...this.markers.map(({ time, change }) => {
        const item = document.createElement("li");
        item.dataset.time = String(time);
        item.dataset.control = change.control;
        const what = document.createElement("strong");
        what.textContent = `${seconds.format(time)} s: ${change.label}`;
        item.append(what, ` — ${change.expect}`);
        return item;
      }),
    );
  }

  /** Reasons from the bottom of the stack up. */
  private reasons(): number[] {
    return [...this.rates.series.keys()].sort((a, b) => a - b);
  }

  /** The stack as uPlot draws it: top first, each series the sum of its reason and those below, so each fill covers the ones under it; then the rewrites, each on its own. */
  private stacked(): uPlot.AlignedData {
    const reasons = this.reasons();
    const sums: number[][] = [];
    let below = new Array<number>(this.times.length).fill(0);
    for (const reason of reasons) {
      const own = this.rates.series.get(reason)!;
      below = below.map((sum, i) => sum + own[i]);
      sums.push(below);
    }
    return [this.times, ...sums.reverse(), ...this.rewrites.series.values()];
  }

  private redraw(rebuild: boolean): void {
    if (!this.uplot) return;
    if (!rebuild && this.chart) {
      this.chart.setData(this.stacked());
      return;
    }
    this.chart?.destroy();
    const reasons = this.reasons().reverse();
    const own = (reason: number) => (_u: uPlot, _v: number | null, _series: number, index: number | null) => {
      const series = this.rates.series.get(reason);
      return index === null || !series ? "-" : number.format(series[index]);
    };
    this.chart = new this.uplot(
      {
        width: this.width(),
        height: HEIGHT,
        legend: { show: true },
        scales: { x: { time: false }, y: { auto: true, range: (_u, _min, max) => [0, Math.max(10, max)] } },
        axes: [
          { label: "seconds", stroke: "#9aa7b4", grid: { stroke: "#2a3440" } },
          { label: this.rewrites.series.size > 0 ? "exits by reason, bt rewrites /s" : "exits/s by reason", stroke: "#9aa7b4", grid: { stroke: "#2a3440" }, size: 70, values: (_u, ticks) => ticks.map(short) },
        ],
        series: [
          { label: "time (s)", value: (_u, v) => (v == null ? "-" : seconds.format(v)) },
          ...reasons.map((reason) => ({
            label: this.labels.get(reason) ?? `reason ${reason}`,
            stroke: colour(reason),
            fill: colour(reason),
            width: 1,
            points: { show: false },
            value: own(reason),
          })),
          ...[...this.rewrites.series.keys()].map((name, i) => ({
            label: `bt ${name}/s (no exit)`,
            stroke: REWRITE_COLOURS[i % REWRITE_COLOURS.length],
            dash: [6, 4],
            width: 2,
            points: { show: false },
            value: (_u: uPlot, v: number | null) => (v == null ? "-" : number.format(v)),
          })),
        ],
        hooks: { draw: [(u) => this.drawMarkers(u)] },
      },
      this.stacked(),
      this.element,
    );
  }

  /** Dashed vertical lines at the markers, each labelled with its change. */
  private drawMarkers(u: uPlot): void {
    const { ctx } = u;
    const { top, height, left, width } = u.bbox;
    const ratio = devicePixelRatio;
    ctx.save();
    ctx.strokeStyle = "#f5f7fa";
    ctx.fillStyle = "#f5f7fa";
    ctx.setLineDash([4 * ratio, 3 * ratio]);
    ctx.lineWidth = ratio;
    ctx.font = `${11 * ratio}px system-ui, sans-serif`;
    this.markers.forEach(({ time, change }, i) => {
      const x = u.valToPos(time, "x", true);
      if (x < left || x > left + width) return;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      // Labels step down so that markers close together stay readable.
      ctx.fillText(change.label, Math.min(x + 3 * ratio, left + width - ctx.measureText(change.label).width), top + (12 + 13 * (i % 4)) * ratio);
    });
    ctx.restore();
  }

  private width(): number {
    return Math.max(240, this.element.clientWidth);
  }
}
