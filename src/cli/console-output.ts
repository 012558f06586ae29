// The guest's console on the host: bytes the guest transmits on COM1 (or writes by hypercall) are
// collected in a buffer of CONSOLE_CAPACITY bytes and written to stdout without a system call per byte: a
// completed line is written at once unless the last write was under 20 ms ago, and whatever is
// buffered is written at every run-loop slice boundary. The same buffering serves `--trace exits`
// on stderr.
// Writes never wait for the reader (stdout-writer.ts gives a non-blocking stdout): what the
// reader does not take stays in the buffer, and room() tells the VMM how much more it holds, so
// a guest whose reader has stalled sees its console push back (COM1's transmitter stays busy, the
// console hypercall writes short) instead of the host blocking or its memory growing. A reader
// that went away (`wasmvisor run k.elf | head`) is noticed at the first write after it did.

import { setTimeout as sleep } from "node:timers/promises";

/** The most guest output the host holds: beyond it the guest waits. */
export const CONSOLE_CAPACITY = 64 * 1024;
const LINE_FLUSH_INTERVAL_MS = 20;
/** How often drain() tries again while the reader takes nothing. */
const DRAIN_RETRY_MS = 10;

/**
 * Writes some of `chunk`, returning how many bytes; throws like fs.writeSync (EAGAIN: the reader
 * takes nothing now, EPIPE: it has gone).
 */
export type ChunkWriter = (chunk: Uint8Array) => number;

export class ConsoleOutput {
  private readonly buffer = new Uint8Array(CONSOLE_CAPACITY);
  private length = 0;
  private lastFlush = -Infinity;
  private closed = false;

  /** `onClosed` runs once if the reader closes the pipe; later output is dropped. */
  constructor(
    private readonly writeChunk: ChunkWriter,
    private readonly onClosed: () => void = () => {},
  ) {}

  /** How many more bytes write() takes now. */
  readonly room = (): number => CONSOLE_CAPACITY - this.length;

  /** A SerialSink. A byte beyond room() is dropped, so the buffer never grows. */
  readonly write = (byte: number): void => {
    if (this.length === CONSOLE_CAPACITY) return;
    this.buffer[this.length++] = byte;
    if (this.length === CONSOLE_CAPACITY || (byte === 0x0a && performance.now() - this.lastFlush >= LINE_FLUSH_INTERVAL_MS)) this.flush();
  };

  /** Text of one-byte characters (ASCII), e.g. a trace line. */
  writeText(text: string): void {
    for (let i = 0; i < text.length; i++) this.write(text.charCodeAt(i));
  }

  /** Writes what the reader takes now; the rest waits for the next flush. */
  readonly flush = (): void => {
    let done = 0;
    while (done < this.length && !this.closed) {
      let written: number;
      try {
        written = this.writeChunk(this.buffer.subarray(done, this.length));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") break; // the reader is not keeping up: try again at the next flush
        if (code !== "EPIPE") throw error;
        this.closed = true;
        this.onClosed();
        break;
      }
      if (written === 0) break;
      done += written;
    }
    if (this.closed) done = this.length;
    this.buffer.copyWithin(0, done, this.length);
    this.length -= done;
    this.lastFlush = performance.now();
  };

  /**
   * At the end of a run: writes what is buffered, trying again every few milliseconds while the
   * reader takes nothing, until all is written or `deadline` (a performance.now() time) passes;
   * then drops the rest, so a reader that never reads cannot keep the process alive.
   */
  async drain(deadline: number): Promise<void> {
    for (;;) {
      this.flush();
      const left = deadline - performance.now();
      if (this.length === 0 || left <= 0) break;
      await sleep(Math.min(DRAIN_RETRY_MS, left));
    }
    this.length = 0;
  }
}
