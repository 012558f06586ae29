// "Screenshot": the VGA screen as the canvas shows it, saved as NAME.png. That is 720x400 pixels,
// the canvas's own resolution however large it is drawn: 80x25 cells of 9x16 pixels, as a VGA
// monitor shows mode 3 (screen.ts), with the cursor and blinking text in the phase they are in at
// that moment. (The CLI's --screenshot draws 8-pixel cells, 640x400; the first 8 columns of each
// cell are the same pixels.)

import { download, fileName } from "./download.js";

export function screenshotButton(button: HTMLButtonElement, canvas: HTMLCanvasElement, guestName: () => string, onError: (message: string) => void): void {
  button.addEventListener("click", () => {
    canvas.toBlob((png) => (png ? download(png, fileName(guestName(), "png")) : onError("the browser could not encode the screen as PNG")), "image/png");
  });
}
