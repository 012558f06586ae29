// The serial console: COM1 on an xterm.js terminal. Guest output is written as it arrives (the
// guest ends lines with "\n" alone, so the terminal converts line ends); what the user types while
// the terminal has focus goes to the guest's COM1 receiver as bytes (Enter as CR, as a terminal
// on a real serial line sends it). The terminal is 80 columns, as a serial terminal is and as the
// guests write for, so lines never wrap mid-word; where its panel is narrower (a phone), the panel
// scrolls sideways. A tap focuses it on a touch screen too, and text
// from an on-screen keyboard, which comes as input events without key presses, is sent as typed.
// xterm.js is most of the page's script, so it loads as a chunk of its own once the page has
// painted: output that arrives before it is held and written when it comes.

import type { Terminal } from "@xterm/xterm";
import { afterFirstPaint } from "./first-paint.js";

/** A serial terminal's size: 80 columns; the rows the first viewport has room for beside the screen. */
const CONSOLE_COLUMNS = 80;
const CONSOLE_ROWS = 12;

export class SerialConsole {
  private terminal: Terminal | undefined;
  /** Output that arrived before xterm.js loaded. */
  private held: Uint8Array[] = [];

  constructor(element: HTMLElement, onInput: (bytes: Uint8Array) => void) {
    void this.open(element, onInput);
  }

  private async open(element: HTMLElement, onInput: (bytes: Uint8Array) => void): Promise<void> {
    await afterFirstPaint();
    const { Terminal } = await import("@xterm/xterm");
    const terminal = new Terminal({
      cols: CONSOLE_COLUMNS,
      rows: CONSOLE_ROWS,
      convertEol: true,
      fontSize: 13,
      scrollback: 2000,
      screenReaderMode: true,
      theme: { background: "#000000" },
    });
    terminal.open(element);
    // Its size, for tests and tools reading the page.
    element.dataset.columns = String(terminal.cols);
    element.dataset.rows = String(terminal.rows);
    const encoder = new TextEncoder();
    terminal.onData((data) => onInput(encoder.encode(data)));
    forwardTextInput(terminal, (data) => onInput(encoder.encode(data)));
    for (const bytes of this.held) terminal.write(bytes);
    this.held = [];
    this.terminal = terminal;
  }

  write(bytes: Uint8Array): void {
    if (this.terminal) this.terminal.write(bytes);
    else this.held.push(bytes);
  }

  clear(): void {
    this.terminal?.reset();
    this.held = [];
  }
}

/**
 * In screen reader mode xterm.js leaves the input events of its text area alone: it takes text
 * from key presses only, which an on-screen keyboard does not always send (it sends key code 229,
 * then the text). Text that no key press handled is sent here; composed text xterm.js sends itself.
 */
function forwardTextInput(terminal: Terminal, send: (data: string) => void): void {
  // Whether xterm.js sent the key held down now, whose input event (if it edits) comes before its keyup.
  let keyHandled = false;
  terminal.onKey(() => (keyHandled = true));
  terminal.textarea!.addEventListener("keyup", () => (keyHandled = false));
  terminal.textarea!.addEventListener("input", (event) => {
    const { inputType, data, isComposing } = event as InputEvent;
    if (keyHandled || isComposing) return;
    if (inputType === "insertText" && data) send(data);
    else if (inputType === "insertLineBreak") send("\r");
    else if (inputType === "deleteContentBackward") send("\x7f");
  });
}
