// How the run loop keeps its wall-clock promises (--timeout, and the CLI's signals, which it can
// only notice between runs) whatever the guest does. The core's budget bounds instructions, but
// one instruction can cost the host far more than another: a VM exit, a 64 KiB console write, a
// REP INSB of 64 Ki elements, a disk request. So everything the VMM does on the guest's behalf is
// charged here, in units of about one simple exit's host time (~100 ns), and once CHECK_UNITS have
// been spent the run loop looks at the clock: often enough that no stretch between two looks is
// longer than a few milliseconds, rarely enough that a cheap exit does not pay for a clock read.

import { SECTOR_SIZE, type BlockBackend } from "../devices/block-backend.js";

/** Units spent between two looks at the clock (about 0.1 ms of cheap exits). */
export const CHECK_UNITS = 1024;

export class HostWorkMeter {
  private spent = 0;

  constructor(private readonly lookAtClock: () => void) {}

  charge(units: number): void {
    this.spent += units;
    if (this.spent >= CHECK_UNITS) {
      this.spent = 0;
      this.lookAtClock();
    }
  }
}

/** Console bytes per unit, as a shift: a byte costs the console's listeners ~10 ns. */
export const CONSOLE_BYTES_PER_UNIT_SHIFT = 3;

/** Sectors of disk I/O per unit: moving 512 bytes between an image and RAM costs ~100 ns. */
const SECTORS_PER_UNIT = 1;

/** `disk` with its I/O charged to `meter`; a flush (an fsync, milliseconds) makes the run loop look at the clock. */
export function meteredDisk(disk: BlockBackend, meter: HostWorkMeter): BlockBackend {
  return {
    get sectors() { return disk.sectors; },
    get readOnly() { return disk.readOnly; },
    read(lba, into) {
      disk.read(lba, into);
      meter.charge(into.length / SECTOR_SIZE / SECTORS_PER_UNIT);
    },
    write(lba, data) {
      disk.write(lba, data);
      meter.charge(data.length / SECTOR_SIZE / SECTORS_PER_UNIT);
    },
    flush() {
      disk.flush();
      meter.charge(CHECK_UNITS);
    },
  };
}
