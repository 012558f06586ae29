// The host side of the VGA screen for `wasmvisor run`: `--display vga` draws it in the terminal
// (ansi-screen.ts: text as text, graphics modes in half blocks scaled to the terminal's width and
// the screen's rows), with COM1's output scrolling in the rows below it when the terminal is tall
// enough. The picture is the VMM's screen copy (src/vmm/display-update.ts), which follows the
// guest by the strategy of --display-update: at every slice the updater gets its chance to refresh
// (refresh and dirty-log, at their rate) and the terminal is redrawn, at most every 20 ms, when
// the screen or the VGA registers changed (under trap and pv, as soon as the guest wrote).

import { writeSync } from "node:fs";
import { COLUMNS } from "../devices/vga-text.js";
import { AnsiScreen } from "../display/ansi-screen.js";
import { FrameImage } from "../display/frame-image.js";
import type { VirtualMachine } from "../vmm/virtual-machine.js";

const MIN_REDRAW_MS = 20;

export class VgaDisplay {
  private readonly screen: AnsiScreen;
  private readonly rows: number;
  private lastDraw = -Infinity;
  /** The std-VGA's mode/palette change count at the last draw. */
  private drawnChanges = -1;
  /** The graphics picture, redrawn where the screen copy changed. */
  private readonly image = new FrameImage();
  /** Wraps COM1 text so it scrolls below the screen; undefined: no room, COM1 is not shown. */
  readonly console: ((text: string) => string) | undefined;

  constructor(private readonly vm: VirtualMachine) {
    this.screen = new AnsiScreen((text) => writeSync(1, text));
    this.rows = process.stdout.rows ?? 0;
    this.console = this.screen.consoleRegion(this.rows);
  }

  /** At every run-loop slice: redraw if the refresh policy says so. */
  refresh(): void {
    const now = performance.now();
    const { display, pc } = this.vm;
    display.tick(now);
    const changed = display.changed || pc.vga.dirty || pc.display.changes !== this.drawnChanges;
    if (changed && now - this.lastDraw >= MIN_REDRAW_MS) this.draw(now);
  }

  /** The final picture, and the terminal given back. */
  finish(): void {
    this.vm.display.refresh();
    this.draw(performance.now());
    this.screen.release(this.rows);
  }

  private draw(now: number): void {
    const { display, pc } = this.vm;
    pc.vga.dirty = false;
    const damage = display.takeDamage();
    this.drawnChanges = pc.display.changes;
    const mode = pc.display.mode();
    if (mode.kind === "text") {
      this.image.forget();
      this.screen.draw(pc.vga.snapshot(display.screen));
    } else {
      this.image.update(pc.display, display.screen, damage);
      this.screen.drawPixels(this.image.rgba, mode.width, mode.height, process.stdout.columns ?? COLUMNS);
    }
    this.lastDraw = now;
  }
}
