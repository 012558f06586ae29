// Draws a chart scene (rectangles, lines and text: all that bench-chart.ts needs) as SVG text or
// as a PNG image. The PNG is rasterised here with pngjs and the VGA text font the screenshot
// uses (8x16 glyphs, code page 437), so no native image library is needed; the SVG names a
// monospace font of the same cell size, so both files lay out alike.

import { PNG } from "pngjs";
import { GLYPH_HEIGHT } from "../devices/vga-text.js";
import { vgaFont } from "../web/vga-font.js";

export const GLYPH_WIDTH = 8;
export { GLYPH_HEIGHT };

export type Shape =
  | { kind: "rect"; x: number; y: number; width: number; height: number; fill: string }
  | { kind: "line"; x1: number; y1: number; x2: number; y2: number; stroke: string; width: number; dashed?: boolean }
  /** `y` is the text's top; x is its left, centre or right edge. */
  | { kind: "text"; x: number; y: number; text: string; fill: string; anchor: "start" | "middle" | "end" };

export interface Scene {
  width: number;
  height: number;
  background: string;
  shapes: Shape[];
}

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function sceneToSvg(scene: Scene): string {
  const body = scene.shapes.map((s) => {
    switch (s.kind) {
      case "rect":
        return `<rect x="${s.x}" y="${s.y}" width="${s.width}" height="${s.height}" fill="${s.fill}"/>`;
      case "line":
        return `<line x1="${s.x1}" y1="${s.y1}" x2="${s.x2}" y2="${s.y2}" stroke="${s.stroke}" stroke-width="${s.width}"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`;
      case "text":
        return `<text x="${s.x}" y="${s.y + 12}" fill="${s.fill}" text-anchor="${s.anchor}">${escapeXml(s.text)}</text>`;
    }
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}" viewBox="0 0 ${scene.width} ${scene.height}" font-family="DejaVu Sans Mono, monospace" font-size="13">`,
    `<rect width="100%" height="100%" fill="${scene.background}"/>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

export function sceneToPng(scene: Scene): Buffer {
  const png = new PNG({ width: scene.width, height: scene.height });
  const font = vgaFont();
  const plot = (x: number, y: number, [r, g, b]: number[]) => {
    if (x < 0 || y < 0 || x >= png.width || y >= png.height) return;
    const at = (y * png.width + x) * 4;
    png.data[at] = r;
    png.data[at + 1] = g;
    png.data[at + 2] = b;
    png.data[at + 3] = 0xff;
  };
  const fillRect = (x: number, y: number, width: number, height: number, colour: number[]) => {
    for (let py = Math.round(y); py < Math.round(y + height); py++) for (let px = Math.round(x); px < Math.round(x + width); px++) plot(px, py, colour);
  };
  fillRect(0, 0, scene.width, scene.height, rgb(scene.background));
  for (const s of scene.shapes) {
    if (s.kind === "rect") {
      fillRect(s.x, s.y, s.width, s.height, rgb(s.fill));
    } else if (s.kind === "line") {
      const colour = rgb(s.stroke);
      const steps = Math.max(Math.abs(s.x2 - s.x1), Math.abs(s.y2 - s.y1), 1);
      for (let i = 0; i <= steps; i++) {
        if (s.dashed && i % 10 >= 6) continue;
        const x = s.x1 + ((s.x2 - s.x1) * i) / steps;
        const y = s.y1 + ((s.y2 - s.y1) * i) / steps;
        fillRect(x - s.width / 2, y - s.width / 2, Math.max(1, s.width), Math.max(1, s.width), colour);
      }
    } else {
      const colour = rgb(s.fill);
      const left = s.anchor === "start" ? s.x : s.anchor === "middle" ? s.x - (s.text.length * GLYPH_WIDTH) / 2 : s.x - s.text.length * GLYPH_WIDTH;
      [...s.text].forEach((char, i) => {
        const code = char.charCodeAt(0) < 256 ? char.charCodeAt(0) : 0x3f;
        for (let row = 0; row < GLYPH_HEIGHT; row++) {
          const bits = font[code * GLYPH_HEIGHT + row];
          for (let col = 0; col < GLYPH_WIDTH; col++) if (bits & (0x80 >> col)) plot(Math.round(left) + i * GLYPH_WIDTH + col, Math.round(s.y) + row, colour);
        }
      });
    }
  }
  return PNG.sync.write(png);
}

/** "#rrggbb" as [r, g, b]. */
function rgb(colour: string): number[] {
  const value = parseInt(colour.slice(1), 16);
  return [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
}
