// The storage behind the block devices: a disk image seen as 512-byte sectors. Both the ATA disk and
// the paravirtual block device sit on one backend, so a guest can write a sector through one and
// read it back through the other. The CLI's backend is a file (src/cli/file-disk.ts: writes go to
// the file as they happen and are flushed before the run ends); MemoryDisk serves tests and hosts
// without a file system (the browser).

export const SECTOR_SIZE = 512;

export interface BlockBackend {
  /** Capacity in sectors. */
  readonly sectors: number;
  readonly readOnly: boolean;
  /** Fills `into` (a whole number of sectors) from sector `lba` on. */
  read(lba: number, into: Uint8Array): void;
  /** Writes `data` (a whole number of sectors) at sector `lba`; never called when read-only. */
  write(lba: number, data: Uint8Array): void;
  /** Makes every write so far durable. */
  flush(): void;
}

export class MemoryDisk implements BlockBackend {
  readonly sectors: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly readOnly = false,
  ) {
    this.sectors = Math.floor(bytes.length / SECTOR_SIZE);
  }

  read(lba: number, into: Uint8Array): void {
    into.set(this.bytes.subarray(lba * SECTOR_SIZE, lba * SECTOR_SIZE + into.length));
  }

  write(lba: number, data: Uint8Array): void {
    this.bytes.set(data, lba * SECTOR_SIZE);
  }

  flush(): void {}
}
