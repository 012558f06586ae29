// Live exit statistics: a uPlot chart of exits per second (left axis) and host nanoseconds per
// exit in the VMM (right axis; a gap while the worker's clock is too coarse for the interval's
// exits) over the last minute, the counters per exit reason with their current rate and cost,
// guest MIPS, the shadow MMU's counters and the CR3-target hits and misses. Fed one
// sample every ~250 ms by the worker while the guest runs. uPlot loads as a chunk of its own once
// the page has painted; the chart then shows the history kept until then.

import type uPlot from "uplot";
import { afterFirstOutput } from "./first-output.js";
import type { ExitCounter, StatsSample } from "../protocol.js";
import { cell } from "./table-cell.js";

/** Samples kept on the chart: a minute at four a second. */
const HISTORY = 240;

const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 0 });

export class StatsView {
  private chart: uPlot | undefined;
  private readonly data: [number[], (number | null)[], (number | null)[]] = [[], [], []];

  constructor(
    private readonly chartElement: HTMLElement,
    private readonly summary: HTMLElement,
    private readonly table: HTMLTableSectionElement,
    private readonly mmu: HTMLElement,
  ) {
    void this.createChart();
  }

  private async createChart(): Promise<void> {
    await afterFirstOutput();
    const { default: uPlot } = await import("uplot");
    const chart = new uPlot(
      {
        width: this.chartWidth(),
        height: 220,
        legend: { show: true },
        scales: { x: { time: false }, exits: { auto: true }, ns: { auto: true } },
        axes: [
          { label: "seconds", stroke: "#9aa7b4", grid: { stroke: "#2a3440" } },
          { scale: "exits", label: "exits/s", stroke: "#5cc8ff", grid: { stroke: "#2a3440" }, size: 70, values: (_u, ticks) => ticks.map(short) },
          { scale: "ns", label: "VMM ns/exit", side: 1, stroke: "#ffb35c", grid: { show: false }, size: 60, values: (_u, ticks) => ticks.map(short) },
        ],
        series: [
          { label: "time (s)", value: (_u, v) => (v == null ? "-" : decimal.format(v)) },
          { label: "exits/s", scale: "exits", stroke: "#5cc8ff", width: 2, value: (_u, v) => (v == null ? "-" : number.format(v)) },
          { label: "VMM ns/exit", scale: "ns", stroke: "#ffb35c", width: 2, value: (_u, v) => (v == null ? "-" : decimal.format(v)) },
        ],
      },
      this.data,
      this.chartElement,
    );
    new ResizeObserver(() => chart.setSize({ width: this.chartWidth(), height: 220 })).observe(this.chartElement);
    this.chart = chart;
  }

  /** A new guest: empty history. */
  clear(): void {
    for (const series of this.data) series.length = 0;
    this.chart?.setData(this.data);
    this.summary.textContent = "";
    this.table.replaceChildren();
    this.mmu.replaceChildren();
  }

  show(sample: StatsSample): void {
    const [times, rates, costs] = this.data;
    times.push(sample.time);
    rates.push(sample.exitsPerSecond);
    costs.push(sample.nsPerExit ?? null);
    if (times.length > HISTORY) for (const series of this.data) series.shift();
    this.chart?.setData(this.data);

    // The figures as numbers, for tests and tools reading the page.
    this.summary.dataset.exitsPerSecond = String(sample.exitsPerSecond);
    this.summary.dataset.nsPerExit = String(sample.nsPerExit ?? "");
    this.summary.dataset.compiledShare = String(sample.compiledShare);
    // Why a figure is missing: the worker's clock cannot tell it (src/vmm/handler-timer.ts).
    const clock = `n/a: a ${number.format(sample.clock.stepNs / 1000)} µs clock costing ${number.format(sample.clock.readingNs)} ns a reading; see "Measure exit costs"`;
    this.summary.textContent =
      `${number.format(sample.totalExits)} exits · ${number.format(sample.exitsPerSecond)}/s · ` +
      `${sample.nsPerExit === undefined ? `VMM ns/exit ${clock}` : `${decimal.format(sample.nsPerExit)} VMM ns/exit`} · ` +
      `${decimal.format(sample.mips)} MIPS (${decimal.format(sample.averageMips)} average), ${percent.format(sample.compiledShare)} compiled · ` +
      `${number.format(sample.instructions)} instructions`;

    this.table.replaceChildren(...exitRows(sample.exits));

    const entries = Object.entries(sample.mmu);
    this.mmu.replaceChildren(...entries.flatMap(([name, value]) => [cell("dt", name), cell("dd", number.format(value))]));
  }

  private chartWidth(): number {
    return Math.max(240, this.chartElement.clientWidth);
  }
}

/** An exit reason as the page labels it: its name and its number as its manual writes it, "VMEXIT_CPUID (0x72)". */
export function exitLabel(exit: Pick<ExitCounter, "name" | "code">): string {
  return `${exit.name} (${exit.code})`;
}

/** The rows of an exit table: reason, count, rate and the VMM's ns per exit, each also as data-* numbers. */
export function exitRows(exits: ExitCounter[]): HTMLTableRowElement[] {
  return exits.map((exit) => {
    const row = document.createElement("tr");
    row.dataset.reason = String(exit.reason);
    row.dataset.count = String(exit.count);
    row.dataset.perSecond = String(exit.perSecond);
    row.dataset.nsPerExit = String(exit.nsPerExit ?? "");
    const cells = [exitLabel(exit), number.format(exit.count), number.format(exit.perSecond), exit.nsPerExit === undefined ? "n/a" : decimal.format(exit.nsPerExit)];
    row.append(...cells.map((text, i) => cell(i === 0 ? "th" : "td", text)));
    return row;
  });
}

/** 1200 -> "1.2k", 3400000 -> "3.4M". */
export function short(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${decimal.format(value / 1e9)}G`;
  if (abs >= 1e6) return `${decimal.format(value / 1e6)}M`;
  if (abs >= 1e3) return `${decimal.format(value / 1e3)}k`;
  return decimal.format(value);
}
