// A monitor's picture of a graphics mode: the frame as RGBA at the guest's resolution, kept from
// one draw to the next and brought up to date only where the display update's screen copy
// changed (DisplayUpdater.takeDamage()): the rectangle pv reported, the lines of the pages the
// dirty log copied, the pixels trap copied, all of it after a refresh. After a change of mode,
// frame address or palette (or the first time) it is drawn whole. The page's worker sends the
// redrawn rectangle to the canvas; `wasmvisor bench` does the same work per frame, so its display
// figures include the conversion a monitor pays.

import type { DisplayMode, GraphicsDisplay, Rect } from "../devices/std-vga.js";

/** What makes a drawn picture stale as a whole: the mode's shape, where its frame is, the palette. */
function pictureKey(mode: DisplayMode, changes: number): string {
  return `${mode.kind} ${mode.width}x${mode.height}x${mode.bpp} ${mode.lineBytes} ${mode.frame.base} ${changes}`;
}

export class FrameImage {
  /** width x height RGBA pixels. */
  rgba = new Uint8Array(0);
  width = 0;
  height = 0;
  private key = "";

  /** The next update() draws the whole picture (the monitor showed something else meanwhile). */
  forget(): void {
    this.key = "";
  }

  /**
   * Redraws `damage` from `screen` (the display update's copy of the frame), or the whole picture
   * when it went stale. Returns the rectangle redrawn, or undefined when nothing was.
   */
  update(display: GraphicsDisplay, screen: Uint8Array, damage: Rect | undefined): Rect | undefined {
    const mode = display.mode();
    const key = pictureKey(mode, display.changes);
    let rect = damage;
    if (key !== this.key) {
      this.key = key;
      this.width = mode.width;
      this.height = mode.height;
      if (this.rgba.length !== mode.width * mode.height * 4) this.rgba = new Uint8Array(mode.width * mode.height * 4);
      rect = { x: 0, y: 0, width: mode.width, height: mode.height };
    }
    if (!rect || rect.width <= 0 || rect.height <= 0) return undefined;
    display.render(this.rgba, rect, screen);
    return rect;
  }

  /** The pixels of `rect`, line after line, in a buffer of their own (to send to the canvas). */
  pixels(rect: Rect): Uint8Array<ArrayBuffer> {
    if (rect.width === this.width) return this.rgba.slice(rect.y * this.width * 4, (rect.y + rect.height) * this.width * 4);
    const out = new Uint8Array(rect.width * rect.height * 4);
    for (let y = 0; y < rect.height; y++) {
      const from = ((rect.y + y) * this.width + rect.x) * 4;
      out.set(this.rgba.subarray(from, from + rect.width * 4), y * rect.width * 4);
    }
    return out;
  }
}
