// The serial console: COM1 on an xterm.js terminal. Guest output is written as it arrives (the
// guest ends lines with "\n" alone, so the terminal converts line ends); what the user types while
// the terminal has focus goes to the guest's COM1 receiver as bytes (Enter as CR, as a terminal
// on a real serial line sends it). The terminal is 80 columns, as a serial terminal is and as the
// guests write for, so lines never wrap mid-word; where its panel is narrower (a phone), the panel
// scrolls sideways. A tap focuses it on a touch screen too, and text
// from an on-screen keyboard, which comes as input events without key presses, is sent as typed.
// xterm.js is most of the page's script, so it loads as a chunk of its own once the page has
// painted. Output waits here until then, and after it goes to the terminal one message at a time:
// xterm.js parses what it is given later, in time slices, so clearing for a new machine can then
// drop what has not been drawn instead of waiting for it or letting the last guest's bytes land on
// the cleared screen. Each chunk drawn or dropped is reported (onDrawn), and the worker lets the
// guest write only so far ahead of the drawing (session.ts), so a guest that floods COM1 waits for
// the terminal instead of piling output up here. The console's text is what the terminal has
// parsed; drawn() waits for everything received (and a clear) to get there, so that text saved
// the moment a guest stops is all of its output, not what the terminal had parsed by then.
// outputShown resolves when the terminal has first rendered guest output on the screen.

import type { Terminal } from "@xterm/xterm";
import { afterFirstPaint } from "./first-paint.js";

/** A serial terminal's size: 80 columns; the rows the first viewport has room for beside the screen. */
const CONSOLE_COLUMNS = 80;
const CONSOLE_ROWS = 12;

export class SerialConsole {
  private terminal: Terminal | undefined;
  /** Output not yet given to the terminal, and whether the terminal is still parsing a chunk. */
  private waiting: Uint8Array[] = [];
  private parsing = false;
  /** Writes (output and clears) given to the terminal that it has not parsed yet, and who waits for none to be left. */
  private unparsed = 0;
  private drawnWaiters: Array<() => void> = [];
  /** Whether the terminal has parsed any guest output: its next render shows it. */
  private parsedOutput = false;
  private outputRendered!: () => void;
  readonly outputShown = new Promise<void>((resolve) => (this.outputRendered = resolve));

  constructor(
    element: HTMLElement,
    onInput: (bytes: Uint8Array) => void,
    private readonly onDrawn: (bytes: number) => void,
  ) {
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
    terminal.onRender(() => this.parsedOutput && this.outputRendered());
    this.terminal = terminal;
    this.giveNext();
    this.settle();
  }

  write(bytes: Uint8Array): void {
    this.waiting.push(bytes);
    this.giveNext();
  }

  /**
   * The terminal's text, scrollback included, as the guest wrote it: a row the terminal wrapped at
   * 80 columns joins the next, each line ends in "\n" without its trailing blanks, and the blank
   * rows below the last text are left out. Output not yet drawn is not in it.
   */
  text(): string {
    const buffer = this.terminal?.buffer.active;
    if (!buffer) return "";
    let text = "";
    for (let row = 0; row < buffer.length; row++) {
      const wrapsOn = buffer.getLine(row + 1)?.isWrapped === true;
      text += buffer.getLine(row)!.translateToString(!wrapsOn) + (wrapsOn ? "" : "\n");
    }
    return text.replace(/\n+$/, "\n").replace(/^\n$/, "");
  }

  /** Resolves once the terminal has parsed all output received so far (and any clear): text() then has all of it. */
  drawn(): Promise<void> {
    return new Promise((resolve) => {
      this.drawnWaiters.push(resolve);
      this.settle();
    });
  }

  /** Drops the output not yet drawn and resets the terminal (RIS, ESC c: after the chunk it is parsing). */
  clear(): void {
    this.onDrawn(this.waiting.reduce((n, chunk) => n + chunk.length, 0));
    this.waiting = [];
    this.give("\x1bc", () => {});
  }

  /** Gives the terminal `data` to parse, and calls `parsed` when it has. */
  private give(data: string | Uint8Array, parsed: () => void): void {
    const terminal = this.terminal;
    if (!terminal) return;
    this.unparsed++;
    terminal.write(data, () => {
      this.unparsed--;
      parsed();
      this.settle();
    });
  }

  private settle(): void {
    if (!this.terminal || this.unparsed > 0 || this.waiting.length > 0) return;
    for (const resolve of this.drawnWaiters.splice(0)) resolve();
  }

  private giveNext(): void {
    const terminal = this.terminal;
    const next = terminal && !this.parsing ? this.waiting.shift() : undefined;
    if (!terminal || !next) return;
    this.parsing = true;
    this.give(next, () => {
      this.parsing = false;
      this.parsedOutput = true;
      this.onDrawn(next.length);
      this.giveNext();
    });
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
