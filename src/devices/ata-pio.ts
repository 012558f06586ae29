// An ATA hard disk on the primary IDE channel, programmed I/O only: the command block at 0x1F0-0x1F7,
// the control block at 0x3F6, IRQ 14, one drive (the master; the slave position is empty). This is
// the slow way on purpose: every 16-bit word of a sector crosses the data port, so a driver that
// uses single IN/OUT instructions pays 256 VM exits per sector, while REP INSW/OUTSW is one exit
// per sector (the VMM's string-I/O emulation moves the whole block), which diskbench measures.
// Commands: IDENTIFY DEVICE, READ SECTORS and WRITE SECTORS (with and without retries) in LBA28 or
// CHS addressing, FLUSH CACHE, SET FEATURES, INITIALIZE DEVICE PARAMETERS, RECALIBRATE, READ
// VERIFY, the power-management no-ops; anything else is aborted (ERR, ABRT), as are writes to a
// read-only image; an address past the end gives IDNF. Status follows ATA-6: the interrupt is
// raised when a sector is ready to read (DRQ), after each written sector, and at the end of a
// non-data command; reading Status acknowledges it, Alternate Status does not; nIEN masks it.
// Device Control's SRST resets the drive and leaves its signature in the registers.
// saveState()/restoreState() carry the registers, the sector buffer and the transfer in progress
// across a saved machine; the image's contents are the backend's, and are not part of it. A
// restored transfer must lie on the disk, and may write only a writable one (saved-values.ts).

import { SECTOR_SIZE, type BlockBackend } from "./block-backend.js";
import { UNCONNECTED, type IoSize, type IrqLine, type PortDevice } from "./device.js";
import { StatePath } from "./saved-values.js";

export const ATA_PRIMARY_PORT = 0x1f0;
export const ATA_PRIMARY_PORT_COUNT = 8;
export const ATA_PRIMARY_CONTROL_PORT = 0x3f6;
export const ATA_PRIMARY_IRQ = 14;
/** The control block register's offset as this device sees it (registered at 0x3F6). */
export const ATA_CONTROL_OFFSET = 8;

// Command block offsets.
const DATA = 0;
const ERROR_FEATURES = 1;
const SECTOR_COUNT = 2;
const LBA_LOW = 3;
const LBA_MID = 4;
const LBA_HIGH = 5;
const DEVICE = 6;
const STATUS_COMMAND = 7;

const STATUS_ERR = 0x01;
const STATUS_DRQ = 0x08;
const STATUS_DSC = 0x10;
const STATUS_DRDY = 0x40;
const STATUS_BSY = 0x80;
const ERROR_ABRT = 0x04;
const ERROR_IDNF = 0x10;
const DEVICE_SLAVE = 0x10;
const DEVICE_LBA = 0x40;
const CONTROL_NIEN = 0x02;
const CONTROL_SRST = 0x04;

const HEADS = 16;
const SECTORS_PER_TRACK = 63;
const LBA28_LIMIT = 0x0fffffff;

const NON_DATA_COMMANDS = new Set([0x10, 0x40, 0x41, 0x91, 0xef, 0xe0, 0xe1, 0xe5, 0xe7, 0xea]);
const FLUSH_COMMANDS = new Set([0xe7, 0xea]);

export interface AtaPioState {
  status: number;
  error: number;
  count: number;
  lbaLow: number;
  lbaMid: number;
  lbaHigh: number;
  device: number;
  control: number;
  interruptPending: boolean;
  irqLevel: boolean;
  buffer: number[];
  bufferAt: number;
  transfer: { write: boolean; lba: number; left: number } | null;
}

export class AtaPio implements PortDevice {
  readonly name = "ata-pio";
  private status = STATUS_DRDY | STATUS_DSC;
  private error = 1;
  private count = 1;
  private lbaLow = 1;
  private lbaMid = 0;
  private lbaHigh = 0;
  private device = 0;
  private control = 0;
  private interruptPending = false;
  private irqLevel = false;
  private readonly buffer = new Uint8Array(SECTOR_SIZE);
  private bufferAt = SECTOR_SIZE;
  /** The data transfer in progress: direction, next sector and sectors left after this one. */
  private transfer: { write: boolean; lba: number; left: number } | undefined;
  private readonly cylinders: number;

  constructor(
    private readonly disk: BlockBackend,
    private readonly irq: IrqLine = UNCONNECTED,
  ) {
    this.cylinders = Math.min(16383, Math.max(1, Math.floor(disk.sectors / (HEADS * SECTORS_PER_TRACK))));
  }

  saveState(): AtaPioState {
    const { status, error, count, lbaLow, lbaMid, lbaHigh, device, control, interruptPending, irqLevel, bufferAt, transfer } = this;
    return { status, error, count, lbaLow, lbaMid, lbaHigh, device, control, interruptPending, irqLevel, buffer: [...this.buffer], bufferAt, transfer: transfer === undefined ? null : { ...transfer } };
  }

  /** Takes the saved registers; a transfer in progress must lie on the disk, and write only a writable one. */
  restoreState(state: AtaPioState, at = new StatePath(this.name)): void {
    for (const register of ["status", "error", "count", "lbaLow", "lbaMid", "lbaHigh", "control"] as const) at.byte(register, state[register]);
    at.byte("device", state.device);
    if (state.device & ~0x5f) at.refuse("device", `is ${state.device}: bits 5 and 7 of the Device register are not kept`);
    at.bytes("buffer", state.buffer, SECTOR_SIZE);
    at.integer("bufferAt", state.bufferAt, 0, SECTOR_SIZE);
    if (state.bufferAt % 2) at.refuse("bufferAt", `is ${state.bufferAt}: the data port moves whole words`);
    if (state.transfer !== null) {
      const { write, lba, left } = state.transfer;
      const transfer = at.at("transfer");
      transfer.flag("write", write);
      transfer.integer("left", left, 0, 255);
      transfer.integer("lba", lba, 0, this.disk.sectors - 1 - left);
      if (write && this.disk.readOnly) transfer.refuse("write", "is true on a read-only disk, which refuses every write command");
    }
    ({ status: this.status, error: this.error, count: this.count, lbaLow: this.lbaLow, lbaMid: this.lbaMid, lbaHigh: this.lbaHigh, device: this.device } = state);
    ({ control: this.control, interruptPending: this.interruptPending, irqLevel: this.irqLevel, bufferAt: this.bufferAt } = state);
    this.buffer.set(state.buffer);
    this.transfer = state.transfer === null ? undefined : { ...state.transfer };
  }

  read(offset: number, size: IoSize): number {
    if (this.device & DEVICE_SLAVE && offset !== DEVICE) return 0; // no drive there
    switch (offset) {
      case DATA:
        return size === 4 ? this.readWord() | (this.readWord() << 16) : this.readWord();
      case ERROR_FEATURES:
        return this.error;
      case SECTOR_COUNT:
        return this.count;
      case LBA_LOW:
        return this.lbaLow;
      case LBA_MID:
        return this.lbaMid;
      case LBA_HIGH:
        return this.lbaHigh;
      case DEVICE:
        return this.device | 0xa0;
      case STATUS_COMMAND:
        this.interruptPending = false;
        this.updateIrq();
        return this.status;
      default: // Alternate Status
        return this.status;
    }
  }

  write(offset: number, size: IoSize, value: number): void {
    const byte = value & 0xff;
    switch (offset) {
      case DATA:
        this.writeWord(value & 0xffff);
        if (size === 4) this.writeWord(value >>> 16);
        return;
      case ERROR_FEATURES:
        return; // features matter to SET FEATURES only, which accepts them all
      case SECTOR_COUNT:
        this.count = byte;
        return;
      case LBA_LOW:
        this.lbaLow = byte;
        return;
      case LBA_MID:
        this.lbaMid = byte;
        return;
      case LBA_HIGH:
        this.lbaHigh = byte;
        return;
      case DEVICE:
        this.device = byte & 0x5f;
        return;
      case STATUS_COMMAND:
        if (!(this.device & DEVICE_SLAVE)) this.command(byte);
        return;
      default:
        this.deviceControl(byte);
    }
  }

  private command(command: number): void {
    this.interruptPending = false;
    this.error = 0;
    this.transfer = undefined;
    if (command === 0xec) {
      this.buffer.set(this.identify());
      this.bufferAt = 0;
      return this.finish(STATUS_DRQ);
    }
    if (command === 0x20 || command === 0x21 || command === 0x30 || command === 0x31) return this.startTransfer(command >= 0x30);
    if (NON_DATA_COMMANDS.has(command)) {
      if (FLUSH_COMMANDS.has(command)) this.disk.flush();
      if (command === 0xe5) this.count = 0xff; // CHECK POWER MODE: active
      return this.finish(0);
    }
    this.abort(ERROR_ABRT);
  }

  private startTransfer(write: boolean): void {
    const sectors = this.count === 0 ? 256 : this.count;
    const lba = this.address();
    if (write && this.disk.readOnly) return this.abort(ERROR_ABRT);
    if (lba + sectors > this.disk.sectors) return this.abort(ERROR_IDNF);
    this.transfer = { write, lba, left: sectors - 1 };
    this.bufferAt = 0;
    if (write) {
      this.status = STATUS_DRDY | STATUS_DSC | STATUS_DRQ; // the first sector is asked for without an interrupt
    } else {
      this.disk.read(lba, this.buffer);
      this.finish(STATUS_DRQ);
    }
  }

  /** The first sector of the command, from the LBA or cylinder/head/sector registers. */
  private address(): number {
    if (this.device & DEVICE_LBA) return ((this.device & 0x0f) << 24) | (this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow;
    const cylinder = (this.lbaHigh << 8) | this.lbaMid;
    return (cylinder * HEADS + (this.device & 0x0f)) * SECTORS_PER_TRACK + this.lbaLow - 1;
  }

  private readWord(): number {
    if (this.bufferAt >= SECTOR_SIZE) return 0xffff; // no data phase
    const word = this.buffer[this.bufferAt] | (this.buffer[this.bufferAt + 1] << 8);
    this.bufferAt += 2;
    if (this.bufferAt === SECTOR_SIZE) this.sectorRead();
    return word;
  }

  private writeWord(word: number): void {
    if (!this.transfer?.write || this.bufferAt >= SECTOR_SIZE) return;
    this.buffer[this.bufferAt] = word;
    this.buffer[this.bufferAt + 1] = word >> 8;
    this.bufferAt += 2;
    if (this.bufferAt === SECTOR_SIZE) this.sectorWritten();
  }

  /** The guest has taken a whole sector: the next one is read, or the command is done. */
  private sectorRead(): void {
    const transfer = this.transfer;
    if (transfer === undefined || transfer.left === 0) {
      this.transfer = undefined;
      this.status = STATUS_DRDY | STATUS_DSC;
      return;
    }
    transfer.lba++;
    transfer.left--;
    this.disk.read(transfer.lba, this.buffer);
    this.bufferAt = 0;
    this.finish(STATUS_DRQ);
  }

  private sectorWritten(): void {
    const transfer = this.transfer!;
    this.disk.write(transfer.lba, this.buffer);
    if (transfer.left === 0) {
      this.transfer = undefined;
      return this.finish(0);
    }
    transfer.lba++;
    transfer.left--;
    this.bufferAt = 0;
    this.finish(STATUS_DRQ);
  }

  /** Command or data block done: DRDY plus `extra`, and the interrupt. */
  private finish(extra: number): void {
    this.status = STATUS_DRDY | STATUS_DSC | extra;
    this.interruptPending = true;
    this.updateIrq();
  }

  private abort(error: number): void {
    this.error = error;
    this.bufferAt = SECTOR_SIZE;
    this.finish(STATUS_ERR);
  }

  private deviceControl(byte: number): void {
    if (byte & CONTROL_SRST && !(this.control & CONTROL_SRST)) {
      this.status = STATUS_BSY;
      this.transfer = undefined;
      this.bufferAt = SECTOR_SIZE;
    } else if (!(byte & CONTROL_SRST) && this.control & CONTROL_SRST) {
      // Reset done: the ATA signature and diagnostic code "no error".
      [this.count, this.lbaLow, this.lbaMid, this.lbaHigh, this.device, this.error] = [1, 1, 0, 0, 0, 1];
      this.status = STATUS_DRDY | STATUS_DSC;
    }
    this.control = byte;
    this.updateIrq();
  }

  private updateIrq(): void {
    const level = this.interruptPending && !(this.control & CONTROL_NIEN);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }

  /** IDENTIFY DEVICE's 256 words (ATA-6), little-endian, strings with bytes swapped in each word. */
  private identify(): Uint8Array {
    const words = new Uint16Array(256);
    const string = (at: number, length: number, text: string) => {
      const padded = text.padEnd(length * 2);
      for (let i = 0; i < length; i++) words[at + i] = (padded.charCodeAt(2 * i) << 8) | padded.charCodeAt(2 * i + 1);
    };
    const sectors = Math.min(this.disk.sectors, LBA28_LIMIT);
    const chs = this.cylinders * HEADS * SECTORS_PER_TRACK;
    words[0] = 0x0040; // fixed disk
    words[1] = words[54] = this.cylinders;
    words[3] = words[55] = HEADS;
    words[6] = words[56] = SECTORS_PER_TRACK;
    string(10, 10, "WV0001");
    string(23, 4, "1.0");
    string(27, 20, "WASMVISOR ATA DISK");
    words[49] = 0x0200; // LBA supported
    words[53] = 0x0001; // words 54-58 valid
    words[57] = chs & 0xffff;
    words[58] = chs >>> 16;
    words[60] = sectors & 0xffff;
    words[61] = sectors >>> 16;
    words[80] = 0x007e; // ATA-1 to ATA-6
    words[83] = words[84] = words[86] = words[87] = 0x4000; // bit 14 of these reads 1 on ATA-6
    return new Uint8Array(words.buffer);
  }
}
