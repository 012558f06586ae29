// The host side of the VGA text screen for `wasmvisor run`: `--display vga` draws it in the
// terminal (ansi-screen.ts), with COM1's output scrolling in the rows below it when the terminal is
// tall enough. How the picture follows the guest is the point of `--vga-trap`: by default guest
// writes go straight to RAM and the screen is redrawn from it five times a second (as FAUmachine
// does), whatever the guest did meanwhile; with the write trap every write exits, the VGA device
// knows when something changed, and the screen is redrawn (at most every 20 ms) only then.

import { writeSync } from "node:fs";
import { AnsiScreen } from "../display/ansi-screen.js";
import type { VirtualMachine } from "../vmm/virtual-machine.js";

const PERIODIC_MS = 200;
const TRAPPED_MIN_MS = 20;

export class VgaDisplay {
  private readonly screen: AnsiScreen;
  private readonly rows: number;
  private lastDraw = -Infinity;
  /** Wraps COM1 text so it scrolls below the screen; undefined: no room, COM1 is not shown. */
  readonly console: ((text: string) => string) | undefined;

  constructor(
    private readonly vm: VirtualMachine,
    private readonly trapped: boolean,
  ) {
    this.screen = new AnsiScreen((text) => writeSync(1, text));
    this.rows = process.stdout.rows ?? 0;
    this.console = this.screen.consoleRegion(this.rows);
  }

  /** At every run-loop slice: redraw if the refresh policy says so. */
  refresh(): void {
    const now = performance.now();
    const vga = this.vm.pc.vga;
    const due = this.trapped ? vga.dirty && now - this.lastDraw >= TRAPPED_MIN_MS : now - this.lastDraw >= PERIODIC_MS;
    if (due) this.draw(now);
  }

  /** The final picture, and the terminal given back. */
  finish(): void {
    this.draw(performance.now());
    this.screen.release(this.rows);
  }

  private draw(now: number): void {
    this.vm.pc.vga.dirty = false;
    this.screen.draw(this.vm.pc.vga.snapshot(this.vm.ram));
    this.lastDraw = now;
  }
}
