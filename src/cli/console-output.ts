// The guest's console on the host: bytes the guest transmits on COM1 are collected and written to
// stdout (fd 1) as they are produced, without a system call per byte: a completed line is written
// at once unless the last write was under 20 ms ago, and whatever is buffered is written at every
// run-loop slice boundary and when the run ends. The same buffering serves `--trace exits` on
// stderr. Writes are synchronous (fs.writeSync) so that a
// reader that went away (`wasmvisor run k.elf | head`) is noticed during the run, not after it.

import { writeSync } from "node:fs";

const CAPACITY = 64 * 1024;
const LINE_FLUSH_INTERVAL_MS = 20;

/** Writes some of `chunk`, returning how many bytes; throws like fs.writeSync. */
export type ChunkWriter = (chunk: Uint8Array) => number;

const writeStdout: ChunkWriter = (chunk) => writeSync(1, chunk);

export class ConsoleOutput {
  private readonly buffer = new Uint8Array(CAPACITY);
  private length = 0;
  private lastFlush = -Infinity;
  private closed = false;

  /** `onClosed` runs once if the reader closes the pipe; later output is dropped. */
  constructor(
    private readonly writeChunk: ChunkWriter = writeStdout,
    private readonly onClosed: () => void = () => {},
  ) {}

  /** A SerialSink. */
  readonly write = (byte: number): void => {
    this.buffer[this.length++] = byte;
    if (this.length === CAPACITY || (byte === 0x0a && performance.now() - this.lastFlush >= LINE_FLUSH_INTERVAL_MS)) this.flush();
  };

  /** Text of one-byte characters (ASCII), e.g. a trace line. */
  writeText(text: string): void {
    for (let i = 0; i < text.length; i++) this.write(text.charCodeAt(i));
  }

  readonly flush = (): void => {
    let done = 0;
    while (done < this.length && !this.closed) {
      try {
        done += this.writeChunk(this.buffer.subarray(done, this.length));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") continue; // a non-blocking pipe that is full: wait for the reader
        if (code !== "EPIPE") throw error;
        this.closed = true;
        this.onClosed();
      }
    }
    this.length = 0;
    this.lastFlush = performance.now();
  };
}
