// A graphics frame in a terminal: each character cell is the upper half block "▀" with the top
// pixel as its foreground and the bottom one as its background, both in 24-bit colour, so a cell
// shows two square-ish pixels. The frame is scaled to fit `columns` x `rows` cells keeping its
// aspect ratio, each cell pixel the average of the frame pixels it covers (so thin lines of a large
// frame still show, dimmed), and centred horizontally.

const ESC = "\x1b[";
const UPPER_HALF = "▀";

/** The frame as `rows` lines of text with colours, each ending with the colours reset and the line cleared. */
export function halfBlockRows(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, columns: number, rows: number): string[] {
  const scale = Math.min(columns / width, (rows * 2) / height);
  const outWidth = Math.max(1, Math.min(columns, Math.floor(width * scale)));
  const outHeight = Math.max(1, Math.min(rows * 2, Math.floor(height * scale)));
  const pixels = averaged(rgba, width, height, outWidth, outHeight);
  const indent = " ".repeat((columns - outWidth) >> 1);
  const lines: string[] = [];
  for (let row = 0; row < rows; row++) {
    const top = row * 2;
    if (top >= outHeight) {
      lines.push(`${ESC}0m${ESC}K`);
      continue;
    }
    let text = `${ESC}0m${indent}`;
    let last = "";
    for (let x = 0; x < outWidth; x++) {
      const upper = colour(pixels, (top * outWidth + x) * 3);
      const lower = top + 1 < outHeight ? colour(pixels, ((top + 1) * outWidth + x) * 3) : "0;0;0";
      const sgr = `${ESC}38;2;${upper};48;2;${lower}m`;
      if (sgr !== last) text += sgr;
      last = sgr;
      text += UPPER_HALF;
    }
    lines.push(`${text}${ESC}0m${ESC}K`);
  }
  return lines;
}

function colour(rgb: Uint8Array, at: number): string {
  return `${rgb[at]};${rgb[at + 1]};${rgb[at + 2]}`;
}

/** The frame reduced (or enlarged) to outWidth x outHeight RGB pixels, each the mean of the area it covers. */
function averaged(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight * 3);
  for (let y = 0; y < outHeight; y++) {
    const y0 = Math.floor((y * height) / outHeight);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * height) / outHeight));
    for (let x = 0; x < outWidth; x++) {
      const x0 = Math.floor((x * width) / outWidth);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * width) / outWidth));
      let r = 0, g = 0, b = 0;
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0; sx < x1; sx++) {
          const at = (sy * width + sx) * 4;
          r += rgba[at];
          g += rgba[at + 1];
          b += rgba[at + 2];
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      out.set([Math.round(r / n), Math.round(g / n), Math.round(b / n)], (y * outWidth + x) * 3);
    }
  }
  return out;
}
