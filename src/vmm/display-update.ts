// How the guest's frame buffer reaches the screen: the VMM keeps the screen, its own copy of the
// frame buffer that the monitor shows (the CLI's terminal, the page's canvas, screenshots), and
// brings it up to date by one of four strategies (issue 21):
// - trap: every guest write to the frame buffer exits (the write trap, reason 48); the VMM completes
//   it with the emulator and copies the bytes it wrote at once.
// - refresh: the frame buffer is plain RAM; the whole of it is copied at a fixed rate (5 Hz by
//   default, as FAUmachine does), whatever the guest did meanwhile.
// - dirty-log: the frame buffer's pages are write-protected (the write trap's per-page protection,
//   assembly/memory/physical.ts); the first write to a page exits once, is logged and releases the
//   page, and the instruction runs again unhindered. Each refresh copies only the logged pages and
//   protects them again, as KVM_GET_DIRTY_LOG and QEMU's VGA do.
// - pv: the guest tells the VMM what it drew (HC_DISPLAY_RECT, hypercalls.ts); only that rectangle is
//   copied. A guest that never calls leaves the screen as it was.
// Whatever the strategy, the screen equals the frame buffer after every write the strategy sees.
// The frame buffer is the one the std-VGA shows now (GraphicsDisplay.mode()): the text screen at
// 0xB8000, mode 13h's 64,000 bytes at 0xA0000, or a dispi mode's frame inside PCI BAR 0. The
// updater follows mode switches at every tick() (and before it handles a trap or a rectangle),
// copying the new frame whole; the screen is never larger than the largest mode's frame.

import { C_WRITE_TRAP_BASE, C_WRITE_TRAP_SIZE } from "../../assembly/vmcs-layout.js";
import type { CoreExports } from "../core/core.js";
import type { Vmcs } from "../core/vmcs.js";
import type { DisplayMode, GraphicsDisplay, Rect } from "../devices/std-vga.js";
import { VGA_TEXT_LAYOUT } from "../devices/vga-text.js";

export const DISPLAY_UPDATES = ["trap", "refresh", "dirty-log", "pv"] as const;
export type DisplayUpdate = (typeof DISPLAY_UPDATES)[number];
export const DEFAULT_REFRESH_HZ = 5;
export const MAX_REFRESH_HZ = 1000;
const PAGE = 0x1000;
const SMALL_COPY = 64;
const MAX_WAITING_FRAMES = 4096;

/** Where a frame buffer lies in guest-physical memory and how its rows are laid out. */
export interface FrameBufferLayout {
  /** Guest-physical address of its first byte. */
  base: number;
  /** Bytes, a whole number of rows. */
  size: number;
  /** Bytes from one row to the next. */
  pitch: number;
  bytesPerPixel: number;
  /** Pixels (text: cells) in a row and rows, the bounds of a reported rectangle. */
  columns: number;
  rows: number;
}

/** Nothing to show (a blank screen): no frame buffer, nothing trapped or copied. */
const NO_FRAME_BUFFER: FrameBufferLayout = { base: 0, size: 0, pitch: 0, bytesPerPixel: 0, columns: 0, rows: 0 };

/** The frame buffer behind what `mode` shows. */
export function frameBufferLayout(mode: DisplayMode): FrameBufferLayout {
  if (mode.kind === "text") return VGA_TEXT_LAYOUT;
  if (mode.kind === "blank" || mode.frame.size === 0) return NO_FRAME_BUFFER;
  const { frame, lineBytes, bpp, width, height } = mode;
  return { base: frame.base, size: frame.size, pitch: lineBytes, bytesPerPixel: (bpp + 7) >> 3, columns: width, rows: height };
}

function sameLayout(a: FrameBufferLayout, b: FrameBufferLayout): boolean {
  return a.base === b.base && a.size === b.size && a.pitch === b.pitch && a.bytesPerPixel === b.bytesPerPixel && a.columns === b.columns && a.rows === b.rows;
}

/** What the screen copy cost so far: the figures behind `wasmvisor bench`'s display rows. */
export interface DisplayUpdateCounts {
  /** Times the screen was brought up to date (refreshes, trapped writes, reported rectangles). */
  updates: number;
  bytesCopied: number;
  /** Pages the dirty log found written, summed over its refreshes. */
  dirtyPages: number;
  /** Pages the last dirty-log refresh found written. */
  lastDirtyPages: number;
}

/** Times each guest frame's way to the screen copy (DisplayUpdater.frameTiming). */
export interface FrameTiming {
  /** The clock, in ms. */
  clock: () => number;
  /** Called with each frame's delay, in the clock's ms, when the frame reaches the screen copy. */
  delay: (ms: number) => void;
}

/** Whether `text` names a strategy; the message for one that does not. */
export function parseDisplayUpdate(text: string): DisplayUpdate {
  if ((DISPLAY_UPDATES as readonly string[]).includes(text)) return text as DisplayUpdate;
  throw new RangeError(`unknown display update ${JSON.stringify(text)}: use one of ${DISPLAY_UPDATES.join(", ")}`);
}

export function checkRefreshHz(hz: number): number {
  if (!Number.isFinite(hz) || hz <= 0 || hz > MAX_REFRESH_HZ) throw new RangeError(`the refresh rate must be above 0 and at most ${MAX_REFRESH_HZ} Hz, not ${hz}`);
  return hz;
}

export class DisplayUpdater {
  /** The screen: the frame buffer as the monitor last received it. */
  screen: Uint8Array;
  readonly counts: DisplayUpdateCounts = { updates: 0, bytesCopied: 0, dirtyPages: 0, lastDirtyPages: 0 };
  private dirty = new Set<number>(); // page indexes the dirty log released since the last refresh
  /** What of the screen changed since the monitor last took it (takeDamage()), in pixels (text: cells). */
  private damage: Rect | undefined;
  private lastRefreshMs = -Infinity;
  private strategyNow: DisplayUpdate;
  /**
   * Times each guest frame's way to the screen copy, or undefined (untimed; set by `wasmvisor
   * bench`). A frame is complete when the guest reports its rectangle (HC_DISPLAY_RECT, which says
   * where a frame ends under any strategy); it is on the screen copy once every write before that
   * has been copied: there and then under trap (each write was copied as it happened) and pv (the
   * rectangle is copied at the report), at the next refresh under refresh and dirty-log.
   */
  frameTiming: FrameTiming | undefined;
  /** When each frame complete but not yet on the screen copy completed (a refresh's worth). */
  private waiting: number[] = [];

  constructor(
    private readonly core: Pick<CoreExports, "releaseTrappedPage" | "protectTrappedPages" | "emulatedWriteStart" | "emulatedWriteEnd">,
    private readonly vmcs: Pick<Vmcs, "set">,
    /**
     * A view of `size` bytes of guest-physical memory at `base` (RAM or the mapped video memory),
     * shorter where they run past it; fetched anew each time (views go stale when memory grows).
     */
    private readonly physical: (base: number, size: number) => Uint8Array,
    /** What the std-VGA shows: the frame buffer the screen follows. */
    private readonly display: Pick<GraphicsDisplay, "mode">,
    strategy: DisplayUpdate = "refresh",
    private refreshHzNow = DEFAULT_REFRESH_HZ,
  ) {
    this.layoutNow = frameBufferLayout(display.mode());
    this.screen = new Uint8Array(this.layoutNow.size);
    this.strategyNow = strategy;
    this.start();
  }

  private layoutNow: FrameBufferLayout;

  get strategy(): DisplayUpdate { return this.strategyNow; }
  /** Whether the screen changed since the monitor last took the damage. */
  get changed(): boolean { return this.damage !== undefined; }
  get layout(): FrameBufferLayout { return this.layoutNow; }
  get refreshHz(): number { return this.refreshHzNow; }

  /** Changes strategy while the guest runs (the page's toggle): the screen is brought up to date first. */
  setStrategy(strategy: DisplayUpdate): void {
    this.strategyNow = strategy;
    this.start();
  }

  setRefreshHz(hz: number): void {
    this.refreshHzNow = checkRefreshHz(hz);
  }

  /**
   * Follows a mode switch (the frame buffer moved or changed shape): the screen takes the new
   * frame whole and the write trap covers it. True when the mode had changed.
   */
  follow(): boolean {
    const layout = frameBufferLayout(this.display.mode());
    if (sameLayout(layout, this.layoutNow)) return false;
    this.layoutNow = layout;
    if (this.screen.length !== layout.size) this.screen = new Uint8Array(layout.size);
    this.start();
    return true;
  }

  /**
   * A guest write reached a protected page of the frame buffer (the write-trap exit). Under the
   * dirty log this is the page's first write since the last refresh: it is logged and released,
   * and true says the instruction runs again as it is. False: the VMM must complete the write.
   */
  firstWrite(physical: number): boolean {
    if (this.follow()) return true; // the trap now covers the new frame: the write runs again
    if (this.strategyNow !== "dirty-log") return false;
    // A write of up to 4 bytes may start on one page and end on the next: release both.
    for (const at of [physical, physical + 3]) {
      const page = Math.floor((at - this.layoutNow.base) / PAGE);
      if (page < 0 || page * PAGE >= this.layoutNow.size) continue;
      this.dirty.add(page);
      this.core.releaseTrappedPage(at);
    }
    return true;
  }

  /** The trap strategy's emulated write completed: the bytes it wrote go to the screen now. */
  completedWrite(): void {
    const start = this.core.emulatedWriteStart() >>> 0, end = this.core.emulatedWriteEnd() >>> 0;
    if (end > start) this.copy(start - this.layoutNow.base, end - this.layoutNow.base);
  }

  /**
   * The guest reports that it drew the rectangle at (x, y), `width` x `height` pixels (pv).
   * False when the rectangle does not lie inside the frame buffer (nothing is copied).
   */
  reportRectangle(x: number, y: number, width: number, height: number): boolean {
    const completeMs = this.frameTiming?.clock();
    this.follow();
    const { pitch, bytesPerPixel, columns, rows } = this.layoutNow;
    if (width === 0 || height === 0 || x + width > columns || y + height > rows) return false;
    if (this.strategyNow === "pv") {
      for (let row = y; row < y + height; row++) {
        const from = row * pitch + x * bytesPerPixel;
        this.copy(from, from + width * bytesPerPixel);
      }
    }
    if (completeMs !== undefined) {
      // Bounded: of a guest reporting without end between two refreshes, the first frames are timed.
      if (this.waiting.length < MAX_WAITING_FRAMES) this.waiting.push(completeMs);
      // Under trap and pv the screen copy holds the frame now; under the others, after a refresh.
      if (this.strategyNow === "pv" || this.strategyNow === "trap") this.onScreen();
    }
    return true;
  }

  /** The screen copy is up to date: the frames complete so far have reached it. */
  private onScreen(): void {
    if (this.waiting.length === 0 || !this.frameTiming) return;
    const nowMs = this.frameTiming.clock();
    for (const completeMs of this.waiting) this.frameTiming.delay(nowMs - completeMs);
    this.waiting = [];
  }

  /**
   * Called by the host as often as it likes (at every run-loop slice): at the refresh rate, the
   * refresh strategy copies the whole frame buffer and the dirty log copies the pages written
   * since the last time. True when it refreshed.
   */
  tick(nowMs: number): boolean {
    this.follow();
    if (nowMs - this.lastRefreshMs < 1000 / this.refreshHzNow) return false;
    this.lastRefreshMs = nowMs;
    this.refresh();
    return true;
  }

  /** One refresh now, whatever the time. */
  refresh(): void {
    if (this.follow()) return; // copied whole already
    if (this.strategyNow === "refresh") this.copy(0, this.layoutNow.size);
    else if (this.strategyNow === "dirty-log") this.copyDirtyPages();
    this.onScreen();
  }

  private copyDirtyPages(): void {
    const pages = [...this.dirty].sort((a, b) => a - b);
    this.dirty.clear();
    this.core.protectTrappedPages(); // before copying: a write from now on is logged again
    this.counts.lastDirtyPages = pages.length;
    this.counts.dirtyPages += pages.length;
    for (const page of pages) this.copy(page * PAGE, Math.min((page + 1) * PAGE, this.layoutNow.size));
  }

  /** Programs the write trap for the strategy and copies the whole frame buffer. */
  private start(): void {
    const trapped = this.strategyNow === "trap" || this.strategyNow === "dirty-log";
    this.vmcs.set(C_WRITE_TRAP_BASE, trapped ? this.layoutNow.base : 0);
    this.vmcs.set(C_WRITE_TRAP_SIZE, trapped ? this.layoutNow.size : 0);
    this.dirty.clear();
    this.core.protectTrappedPages();
    this.copy(0, this.layoutNow.size);
    this.onScreen();
  }

  /**
   * The rectangle of the screen that changed since the last call, or undefined: the bounding box
   * of every copy since (a refresh's is the whole frame, the dirty log's the lines its pages
   * cover, pv's the reported rectangle, trap's the written pixels). A monitor converts only that.
   */
  takeDamage(): Rect | undefined {
    const damage = this.damage;
    this.damage = undefined;
    return damage;
  }

  /** Bytes [from, to) of the frame buffer changed on the screen: the pixels they hold are damaged. */
  private damaged(from: number, to: number): void {
    const { pitch, bytesPerPixel, columns, rows } = this.layoutNow;
    const top = Math.floor(from / pitch), bottom = Math.min(rows, Math.floor((to - 1) / pitch) + 1);
    // Within one line only the pixels written; across lines, whole lines.
    const left = bottom - top === 1 ? Math.floor((from - top * pitch) / bytesPerPixel) : 0;
    const right = bottom - top === 1 ? Math.min(columns, Math.ceil((to - top * pitch) / bytesPerPixel)) : columns;
    if (bottom <= top || right <= left) return; // the padding past a line's last pixel
    const d = this.damage;
    if (!d) {
      this.damage = { x: left, y: top, width: right - left, height: bottom - top };
      return;
    }
    const x = Math.min(d.x, left), y = Math.min(d.y, top);
    this.damage = { x, y, width: Math.max(d.x + d.width, right) - x, height: Math.max(d.y + d.height, bottom) - y };
  }

  /** Copies bytes [from, to) of the frame buffer (offsets from its base) into the screen. */
  private copy(from: number, to: number): void {
    const start = Math.max(0, from), wanted = Math.min(this.layoutNow.size, to) - start;
    if (wanted <= 0) return;
    const source = this.physical(this.layoutNow.base + start, wanted);
    const end = start + source.length;
    if (end <= start) return;
    // A trapped write is a few bytes: a loop costs less than a set() for them.
    if (end - start <= SMALL_COPY) for (let i = 0; i < end - start; i++) this.screen[start + i] = source[i];
    else this.screen.set(source, start);
    this.counts.updates++;
    this.counts.bytesCopied += end - start;
    this.damaged(start, end);
  }
}
