// The host side of the VGA screen for `wasmvisor run`: `--display vga` draws it in the terminal
// (ansi-screen.ts: text as text, graphics modes in half blocks scaled to the terminal's width and
// the screen's rows), with COM1's output scrolling in the rows below it when the terminal is tall
// enough. How the picture follows the guest is the point of `--vga-trap`: by default guest
// writes go straight to RAM and the screen is redrawn from it five times a second (as FAUmachine
// does), whatever the guest did meanwhile; with the write trap every write exits, the VGA device
// knows when something changed, and the screen is redrawn (at most every 20 ms) only then.

import { writeSync } from "node:fs";
import { COLUMNS } from "../devices/vga-text.js";
import { AnsiScreen } from "../display/ansi-screen.js";
import type { VirtualMachine } from "../vmm/virtual-machine.js";

const PERIODIC_MS = 200;
const TRAPPED_MIN_MS = 20;

export class VgaDisplay {
  private readonly screen: AnsiScreen;
  private readonly rows: number;
  private lastDraw = -Infinity;
  /** The last graphics frame drawn, RGBA; reused while the mode's size stays. */
  private frame = new Uint8Array(0);
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
    const { display } = this.vm.pc;
    display.vga.dirty = false;
    const mode = display.mode();
    if (mode.kind === "text") {
      this.screen.draw(display.vga.snapshot(this.vm.ram));
    } else {
      if (this.frame.length !== mode.width * mode.height * 4) this.frame = new Uint8Array(mode.width * mode.height * 4);
      display.render(this.frame);
      this.screen.drawPixels(this.frame, mode.width, mode.height, process.stdout.columns ?? COLUMNS);
    }
    this.lastDraw = now;
  }
}
