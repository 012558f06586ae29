// The guest's console on the host: bytes the guest transmits on COM1 are collected and written to
// stdout at each newline and at each run-loop slice boundary, so output appears as it is produced
// (a partial line within a few milliseconds) without one write system call per byte.

const CAPACITY = 64 * 1024;

export class ConsoleOutput {
  private readonly buffer = new Uint8Array(CAPACITY);
  private length = 0;

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  /** A SerialSink. */
  readonly write = (byte: number): void => {
    this.buffer[this.length++] = byte;
    if (byte === 0x0a || this.length === CAPACITY) this.flush();
  };

  readonly flush = (): void => {
    if (this.length === 0) return;
    this.out.write(Buffer.from(this.buffer.subarray(0, this.length)));
    this.length = 0;
  };
}
