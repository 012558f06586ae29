// The guest's console input: what the user types (or pipes in) reaches the guest, through COM1 or
// the PS/2 keyboard. The VM's run loop is synchronous, so input is not left to Node's event loop:
// stdin is reopened non-blocking (/proc/self/fd/0, a new open file description, so the shell's
// stdin is left as it was) and polled at every run-loop slice and while the guest idles in HLT
// (HostInput.wait, which sleeps in short steps). A socket cannot be reopened that way (Node's
// child processes get socket pairs as stdin): then stdin is read by the event loop, which turns
// between the CLI's run chunks, so such input reaches the guest within a tenth of a second. When stdin is a terminal it is put in raw mode
// (with `stty`, restored however the run ends) so every key reaches the guest at once and Ctrl-C
// goes to the guest too; then Ctrl-A x ends the run, as in QEMU, and Ctrl-A a types a Ctrl-A.
// Piped or redirected input is passed through unchanged, and its end closes the input.
// Bytes for COM1, or the key presses that type them (scancodes.ts) for the keyboard, wait in an
// input queue (devices/input-queue.ts) until the device has room, so a slow guest is never overrun.

import { spawnSync } from "node:child_process";
import { closeSync, constants, openSync, readSync } from "node:fs";
import { isatty } from "node:tty";
import type { I8042 } from "../devices/i8042.js";
import { keyboardQueue, serialQueue } from "../devices/input-queue.js";
import { keystrokeFor } from "../devices/scancodes.js";
import type { Serial16550 } from "../devices/serial-16550.js";
import type { HostInput } from "../vmm/virtual-machine.js";

const CTRL_A = 0x01;
const POLL_STEP_MS = 5;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Where typed bytes go: COM1 (the default) or the keyboard (with --display vga). */
export type InputTarget = { kind: "serial"; uart: Serial16550 } | { kind: "keyboard"; keyboard: I8042 };

export class TerminalInput implements HostInput {
  private fd: number | undefined;
  private savedMode: string | undefined;
  private escape = false;
  /** Queues a byte for the guest: as it is for COM1, as the key press that types it for the keyboard. */
  private readonly enqueue: (byte: number) => void;
  /** How many bytes or key presses wait for the device to make room. */
  private readonly pending: () => number;
  private readonly chunk = new Uint8Array(4096);

  private quitRequested = false;
  /** Reading stdin through Node's event loop (a socket), until its end. */
  private streaming = false;

  private constructor(
    target: InputTarget,
    private readonly raw: boolean,
    private readonly quit: () => void,
  ) {
    if (target.kind === "serial") {
      const queue = serialQueue(target.uart);
      this.enqueue = (byte) => queue.push([byte]);
      this.pending = () => queue.pending;
    } else {
      const queue = keyboardQueue(target.keyboard);
      this.enqueue = (byte) => {
        const stroke = keystrokeFor(byte);
        if (stroke) queue.push([stroke]); // a byte no key types is dropped
      };
      this.pending = () => queue.pending;
    }
  }

  /** Connects stdin to `target`, `quit` to Ctrl-A x; undefined if there is no stdin to read. */
  static open(target: InputTarget, quit: () => void): TerminalInput | undefined {
    const input = new TerminalInput(target, isatty(0), quit);
    try {
      input.fd = openSync("/proc/self/fd/0", constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      if (input.raw || !process.stdin.readable) return undefined; // no stdin, or no /proc
      input.stream();
    }
    if (input.raw) input.enterRawMode();
    return input;
  }

  get open(): boolean {
    return this.fd !== undefined || this.streaming || this.pending() > 0;
  }

  /** Reads what has arrived and hands it to the guest. */
  poll(): void {
    while (this.fd !== undefined) {
      let n: number;
      try {
        n = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EAGAIN") break;
        throw error;
      }
      if (n === 0) {
        this.closeFd(); // end of input
        break;
      }
      for (const byte of this.chunk.subarray(0, n)) this.accept(byte);
    }
  }

  wait(ms: number): void {
    const end = performance.now() + ms;
    this.poll();
    if (this.fd === undefined) return; // input through the event loop cannot arrive while we wait
    while (!this.quitRequested && this.fd !== undefined && this.pending() === 0 && performance.now() < end) {
      Atomics.wait(sleeper, 0, 0, Math.min(POLL_STEP_MS, end - performance.now()));
      this.poll();
    }
  }

  /** Restores the terminal and stops reading; safe to call more than once. */
  close(): void {
    this.closeFd();
    if (this.streaming) {
      this.streaming = false;
      process.stdin.destroy();
    }
    if (this.savedMode !== undefined) {
      spawnSync("stty", [this.savedMode], { stdio: ["inherit", "ignore", "ignore"] });
      this.savedMode = undefined;
      process.off("exit", this.restoreOnExit);
    }
  }

  private readonly restoreOnExit = () => this.close();

  private enterRawMode(): void {
    const saved = spawnSync("stty", ["-g"], { stdio: ["inherit", "pipe", "ignore"], encoding: "utf8" });
    if (saved.status !== 0) return;
    this.savedMode = saved.stdout.trim();
    // Raw input, no echo, but output post-processing kept so the guest's "\n" starts a new line.
    spawnSync("stty", ["raw", "-echo", "opost", "onlcr"], { stdio: ["inherit", "ignore", "ignore"] });
    process.on("exit", this.restoreOnExit);
  }

  private stream(): void {
    this.streaming = true;
    process.stdin.on("data", (chunk: Buffer) => {
      for (const byte of chunk) this.accept(byte);
    });
    process.stdin.on("end", () => (this.streaming = false));
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  /** One byte from the host, after the Ctrl-A escapes of a terminal. */
  private accept(byte: number): void {
    if (this.raw && this.escape) {
      this.escape = false;
      if (byte === 0x78 || byte === 0x58) {
        this.quitRequested = true;
        this.quit();
        return;
      }
      if (byte !== 0x61 && byte !== CTRL_A) return; // an unknown escape is dropped
      byte = CTRL_A;
    } else if (this.raw && byte === CTRL_A) {
      this.escape = true;
      return;
    }
    this.enqueue(byte);
  }
}
