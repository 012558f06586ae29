// Under nesting (VMX or SVM), the exits by level (src/vmm/exit-level.ts), in three tables beside the
// exit table: L1's exits, which L0 (the VMM) handles; L2's that L1 asked for, reflected into L1; and
// L2's that L0 handled itself while L2 went on. Each row has the count, the rate and the VMM's ns
// per exit at that level (handler-timer.ts: for a reflected exit, the time to write it into L1's
// VMCS, or VMCB, and load L1's host state). Hidden until a guest hypervisor's guest first exits.

import type { LevelCounters, StatsSample } from "../protocol.js";
import { exitRows } from "./stats-view.js";

const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export class LevelsView {
  constructor(
    /** Holds the tables, each a <table data-level="l1|reflected|l2"> with a caption. */
    private readonly element: HTMLElement,
  ) {}

  clear(): void {
    this.element.hidden = true;
    for (const level of ["l1", "reflected", "l2"] as const) this.table(level).tBodies[0].replaceChildren();
  }

  show(sample: StatsSample): void {
    const { levels } = sample;
    this.element.hidden = levels === undefined;
    if (levels === undefined) return;
    for (const level of ["l1", "reflected", "l2"] as const) {
      const table = this.table(level);
      const total = levels[level].reduce((sum, exit) => sum + exit.count, 0);
      table.dataset.total = String(total);
      table.querySelector(".level-total")!.textContent = number.format(total);
      table.tBodies[0].replaceChildren(...exitRows(levels[level]));
    }
  }

  private table(level: keyof LevelCounters): HTMLTableElement {
    return this.element.querySelector(`table[data-level="${level}"]`)!;
  }
}
