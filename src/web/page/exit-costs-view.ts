// The "measure exit costs" action: asks the worker to run the bench's exit loops and shows ns
// per exit for each row beside wasmvisor's figure under Node in the README's bench results.

import type { ExitCost } from "../protocol.js";
import { cell } from "./table-cell.js";

/**
 * wasmvisor's column of README.md's bench results (`wasmvisor bench --runs 5 --clock cpu`,
 * 2026-12-05, AMD EPYC, Node 20): the same loops outside the browser, for scale.
 */
const README_NODE_NS: Record<string, number> = { cpuid: 48.1, vmcall: 59.9, out: 64.5, in: 57.7, cr0: 126, "cr3-miss": 132 };

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

  show(costs: ExitCost[], isolated: boolean): void {
    this.button.disabled = false;
    this.status.textContent =
      `Median of 3 runs of each loop, host ns per iteration (worker's performance.now(), ` +
      `${isolated ? "cross-origin isolated: fine clock" : "not cross-origin isolated: 100 µs clock, loops long enough for it"}).`;
    this.table.replaceChildren(
      ...costs.map((cost) => {
        const row = document.createElement("tr");
        row.dataset.name = cost.name;
        row.dataset.ns = String(cost.ns);
        const node = README_NODE_NS[cost.name];
        const cells = [cost.name, cost.what, exitCostText(cost), node === undefined ? "-" : ns.format(node)];
        row.append(...cells.map((text, i) => cell(i === 0 ? "th" : "td", text)));
        return row;
      }),
    );
  }
}
