// The serial console: COM1 on an xterm.js terminal. Guest output is written as it arrives (the
// guest ends lines with "\n" alone, so the terminal converts line ends); what the user types while
// the terminal has focus goes to the guest's COM1 receiver as bytes (Enter as CR, as a terminal
// on a real serial line sends it). The terminal takes the width of its panel: a serial line has
// no screen width of its own, so the text reflows. A tap focuses it on a touch screen too, and text
// from an on-screen keyboard, which comes as input events without key presses, is sent as typed.

import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";

export class SerialConsole {
  private readonly terminal: Terminal;

  constructor(element: HTMLElement, onInput: (bytes: Uint8Array) => void) {
    this.terminal = new Terminal({
      convertEol: true,
      fontSize: 13,
      scrollback: 2000,
      screenReaderMode: true,
      theme: { background: "#000000" },
    });
    const fit = new FitAddon();
    this.terminal.loadAddon(fit);
    this.terminal.open(element);
    new ResizeObserver(() => fit.fit()).observe(element);
    const encoder = new TextEncoder();
    this.terminal.onData((data) => onInput(encoder.encode(data)));
    this.forwardTextInput((data) => onInput(encoder.encode(data)));
  }

  /**
   * In screen reader mode xterm.js leaves the input events of its text area alone: it takes text
   * from key presses only, which an on-screen keyboard does not always send (it sends key code 229,
   * then the text). Text that no key press handled is sent here; composed text xterm.js sends itself.
   */
  private forwardTextInput(send: (data: string) => void): void {
    // Whether xterm.js sent the key held down now, whose input event (if it edits) comes before its keyup.
    let keyHandled = false;
    this.terminal.onKey(() => (keyHandled = true));
    this.terminal.textarea!.addEventListener("keyup", () => (keyHandled = false));
    this.terminal.textarea!.addEventListener("input", (event) => {
      const { inputType, data, isComposing } = event as InputEvent;
      if (keyHandled || isComposing) return;
      if (inputType === "insertText" && data) send(data);
      else if (inputType === "insertLineBreak") send("\r");
      else if (inputType === "deleteContentBackward") send("\x7f");
    });
  }

  write(bytes: Uint8Array): void {
    this.terminal.write(bytes);
  }

  clear(): void {
    this.terminal.reset();
  }
}
