// The "measure exit costs" action: asks the worker to run the bench's exit loops and shows ns
// per exit for each row beside wasmvisor's figure under Node in the stored bench run
// (docs/bench-results.json, which README.md's results describe).

import type { ExitCost } from "../protocol.js";
import { cell } from "./table-cell.js";

const ns = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/**
 * A row's figure as the page shows it. The figure is the difference of two loops' times, so on a
 * busy machine it can come out at or below zero: that is noise, never a cost, and says so.
 */
export function exitCostText(cost: Pick<ExitCost, "ns" | "spread">): string {
  if (!(cost.ns > 0)) return "below the noise: the machine was busy, measure again";
  return `${ns.format(cost.ns)} ±${Math.round(cost.spread * 100)}%`;
}

export class ExitCostsView {
  constructor(
    private readonly button: HTMLButtonElement,
    private readonly status: HTMLElement,
    private readonly table: HTMLTableSectionElement,
    measure: () => void,
  ) {
    button.addEventListener("click", () => {
      button.disabled = true;
      this.status.textContent = "measuring…";
      measure();
    });
  }

  progress(label: string): void {
    this.status.textContent = `measuring: ${label}`;
  }

  failed(): void {
    this.button.disabled = false;
    this.status.textContent = "";
  }

  show(costs: ExitCost[], isolated: boolean, nodeRunDate: string): void {
    this.button.disabled = false;
    this.status.textContent =
      `Median of 3 runs of each loop (6 where 3 gave a figure at or below zero), host ns per iteration (worker's performance.now(), ` +
      `${isolated ? "cross-origin isolated: fine clock" : "not cross-origin isolated: 100 µs clock, loops long enough for it"}); ` +
      `under Node: the stored wasmvisor bench run of ${nodeRunDate.slice(0, 10)}.`;
    this.table.replaceChildren(
      ...costs.map((cost) => {
        const row = document.createElement("tr");
        row.dataset.name = cost.name;
        row.dataset.ns = String(cost.ns);
        row.dataset.runs = cost.runs.join(" ");
        row.title = `runs: ${cost.runs.map((run) => ns.format(run)).join(", ")} ns`;
        const cells = [cost.name, cost.what, exitCostText(cost), cost.nodeNs === undefined ? "-" : ns.format(cost.nodeNs)];
        row.append(...cells.map((text, i) => cell(i === 0 ? "th" : "td", text)));
        return row;
      }),
    );
  }
}
