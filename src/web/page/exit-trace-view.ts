// The exit trace panel: a <details> that, while open, shows the last exits as `--trace exits`
// prints them (the worker formats them with the CLI's code: vm/exit-trace.ts). Opening and
// closing it tells the worker, which keeps no trace while it is closed.

import { TRACE_LENGTH } from "../protocol.js";

export class ExitTraceView {
  constructor(
    private readonly panel: HTMLDetailsElement,
    private readonly lines: HTMLElement,
    length: HTMLElement,
    onToggle: (open: boolean) => void,
  ) {
    length.textContent = String(TRACE_LENGTH);
    panel.addEventListener("toggle", () => {
      if (!panel.open) lines.textContent = "";
      onToggle(panel.open);
    });
  }

  /** Whether the worker should be keeping a trace (after a reload the browser may restore the panel open). */
  get open(): boolean {
    return this.panel.open;
  }

  show(lines: string[]): void {
    if (this.panel.open) this.lines.textContent = lines.length > 0 ? lines.join("") : "no exits yet";
  }
}
