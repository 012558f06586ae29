// The serial console: COM1 on an xterm.js terminal. Guest output is written as it arrives (the
// guest ends lines with "\n" alone, so the terminal converts line ends); what the user types while
// the terminal has focus goes to the guest's COM1 receiver as bytes (Enter as CR, as a terminal
// on a real serial line sends it). The terminal takes the width of its panel: a serial line has
// no screen width of its own, so the text reflows.

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
  }

  write(bytes: Uint8Array): void {
    this.terminal.write(bytes);
  }

  clear(): void {
    this.terminal.reset();
  }
}
