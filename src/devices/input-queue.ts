// Host input waiting for a device that has room for it: bytes for COM1's receiver, key presses for
// the PS/2 keyboard. A device takes only what it can buffer (a UART's FIFO or RBR, the keyboard's
// scan code buffer), so the rest waits here and is handed over again each time the guest reads and
// the device reports room (Serial16550.onRxRoom, I8042.onRoom): a paste or a cursor key's escape
// sequence arrives whole and in order however slowly the guest reads, and never overruns it. The
// CLI's terminal and the browser demo's worker both feed their guest through these queues.

import type { I8042 } from "./i8042.js";
import type { Keystroke } from "./scancodes.js";
import type { Serial16550 } from "./serial-16550.js";

export class InputQueue<T> {
  private readonly items: T[] = [];

  constructor(
    /** How many items the device can take now. */
    private readonly room: () => number,
    private readonly deliver: (items: T[]) => void,
  ) {}

  /** Items still waiting for room. */
  get pending(): number {
    return this.items.length;
  }

  /** Queues `items` behind any still waiting and hands over as many as the device has room for. */
  push(items: Iterable<T>): void {
    for (const item of items) this.items.push(item);
    this.feed();
  }

  /** Hands queued items to the device as far as it has room. */
  feed(): void {
    let count: number;
    while ((count = Math.min(this.room(), this.items.length)) > 0) this.deliver(this.items.splice(0, count));
  }
}

/** Bytes for `uart`'s receiver, fed again whenever the guest takes one. */
export function serialQueue(uart: Serial16550): InputQueue<number> {
  const queue = new InputQueue<number>(() => uart.rxRoom(), (bytes) => uart.receive(bytes));
  uart.onRxRoom = () => queue.feed();
  return queue;
}

/** Key presses for `keyboard`, fed again whenever the guest takes a scan code byte. */
export function keyboardQueue(keyboard: I8042): InputQueue<Keystroke> {
  const queue = new InputQueue<Keystroke>(() => (keyboard.hasRoom() ? 1 : 0), (strokes) => keyboard.type(strokes));
  keyboard.onRoom = () => queue.feed();
  return queue;
}
