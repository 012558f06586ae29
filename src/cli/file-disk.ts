// `--disk FILE`: a disk image file as the block devices' backend. Reads and writes go to the file
// as they happen (positioned, synchronous), so what a guest wrote is in the operating system's
// hands the moment its OUT instruction completes and survives wasmvisor being killed; flush()
// (a guest's FLUSH CACHE, and the end of every run, however it ended) makes it durable with
// fsync. A trailing partial sector is ignored; `--disk-readonly` opens the file read-only and the
// devices refuse writes. An image that is not a regular file or cannot be opened is bad input
// (status 2).

import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { SECTOR_SIZE, type BlockBackend } from "../devices/block-backend.js";
import { UsageError } from "./exit-status.js";
import { describeFileError, inputFileProblem } from "./input-files.js";

export class FileDisk implements BlockBackend {
  readonly sectors: number;
  private fd: number | undefined;

  constructor(
    readonly path: string,
    readonly readOnly: boolean,
  ) {
    const problem = inputFileProblem(path);
    if (problem !== undefined) throw new UsageError(`cannot open disk image ${path}: ${problem}`);
    try {
      this.fd = openSync(path, readOnly ? "r" : "r+");
      this.sectors = Math.floor(fstatSync(this.fd).size / SECTOR_SIZE);
    } catch (error) {
      throw new UsageError(`cannot open disk image ${path}: ${describeFileError(error)}`);
    }
    if (this.sectors === 0) throw new UsageError(`disk image ${path} is smaller than one 512-byte sector`);
  }

  read(lba: number, into: Uint8Array): void {
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd!, into, done, into.length - done, lba * SECTOR_SIZE + done);
      if (n === 0) break;
      done += n;
    }
  }

  write(lba: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.fd!, data, done, data.length - done, lba * SECTOR_SIZE + done);
  }

  flush(): void {
    if (this.fd !== undefined && !this.readOnly) fsyncSync(this.fd);
  }

  /** Flushes and closes the file; safe to call more than once. */
  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
  }
}
