// wasmvisor's paravirtual block device: the fast way to a disk, in the style of virtio-blk. The
// guest puts requests in a ring in its own memory and writes one doorbell register for a whole
// batch; the device moves the data straight between the image and guest RAM (DMA, no exits per
// word) and raises one completion interrupt. A batch of N requests therefore costs one VM exit for
// the doorbell plus the interrupt, against 256 exits per sector for ATA without REP INSW.
//
// Registers, 32-bit, at 0xA00 (IRQ 11):
//   0x00 MAGIC     r   0x4B425657 ("WVBK" in memory): the device is here
//   0x04 VERSION   r   1
//   0x08 SECTORS   r   capacity in 512-byte sectors, low 32 bits (0x0C: high 32 bits)
//   0x10 FEATURES  r   bit 0: the image is read-only
//   0x14 RING      rw  guest-physical address of the ring (16-byte aligned); 0 detaches it
//   0x18 RING_SIZE rw  number of request slots, a power of two from 1 to 256
//   0x1C DOORBELL  w   the guest's producer index: requests [completed, value) are ready
//   0x20 ISR       r   bit 0: requests completed, bit 1: bad ring set-up; reading clears it
//                      and lowers the interrupt
// Ring layout in guest memory (little-endian):
//   +0   u32 completed   requests the device has finished (free-running count), device-written
//   +4   12 bytes reserved
//   +16  RING_SIZE slots of 32 bytes; request number n lives in slot n % RING_SIZE:
//        +0  u32 op       1 read (disk -> memory), 2 write (memory -> disk), 3 flush
//        +4  u32 status   written by the device: 0 ok, 1 bad op, 2 read-only image,
//                         3 sectors out of range, 4 buffer outside guest RAM, 5 count over 256
//        +8  u32 lba      first sector, low 32 bits (+12: high 32 bits)
//        +16 u32 count    sectors, at most 256 (128 KiB)
//        +20 u32 buffer   guest-physical address of count * 512 bytes
//        +24 u32 cookie   the guest's own, left alone
//        +28 u32 reserved
// The guest fills slots, then writes the total number of requests it has posted to DOORBELL; the
// device completes every request up to it in order, before the OUT instruction completes, updates
// `completed` and raises the interrupt. A doorbell that would overrun the ring (more than
// RING_SIZE outstanding) or a ring outside RAM sets ISR bit 1 and completes nothing. The limits
// bound one doorbell's host work (at most 32 MiB moved): the request length, and flushes, which
// make every write completed so far durable with one sync at the end of the batch, only if
// something was written since the last (a sync costs the host milliseconds).
// saveState()/restoreState() carry the registers and counters across a saved machine (the ring is
// in guest RAM, the data in the image).

import { SECTOR_SIZE, type BlockBackend } from "./block-backend.js";
import { UNCONNECTED, type IoSize, type IrqLine, type PortDevice } from "./device.js";
import { StatePath } from "./saved-values.js";

/**
 * Guest RAM as a device that writes it directly (DMA) sees it: a fresh view each call (RAM views
 * can be replaced when WASM memory grows), and where to report what it wrote, so that compiled
 * code there is forgotten (the core's noteHostWrite).
 */
export interface DmaMemory {
  ram(): Uint8Array;
  wrote(physical: number, length: number): void;
}

export const PV_BLOCK_PORT = 0xa00;
export const PV_BLOCK_PORT_COUNT = 0x24;
export const PV_BLOCK_IRQ = 11;
export const PV_BLOCK_MAGIC = 0x4b425657;

const MAGIC = 0x00;
const VERSION = 0x04;
const SECTORS_LOW = 0x08;
const SECTORS_HIGH = 0x0c;
const FEATURES = 0x10;
const RING = 0x14;
const RING_SIZE = 0x18;
const DOORBELL = 0x1c;
const ISR = 0x20;

const HEADER_SIZE = 16;
const SLOT_SIZE = 32;
const MAX_SLOTS = 256;
export const PV_OP_READ = 1;
export const PV_OP_WRITE = 2;
export const PV_OP_FLUSH = 3;
export const PV_STATUS_OK = 0;
export const PV_STATUS_BAD_OP = 1;
export const PV_STATUS_READ_ONLY = 2;
export const PV_STATUS_OUT_OF_RANGE = 3;
export const PV_STATUS_BAD_BUFFER = 4;
export const PV_STATUS_TOO_LONG = 5;
/** Longest request, in sectors. */
export const PV_MAX_REQUEST_SECTORS = 256;
const ISR_COMPLETED = 1;
const ISR_RING_ERROR = 2;

export interface PvBlockState {
  requests: number;
  doorbells: number;
  ring: number;
  slots: number;
  completed: number;
  isr: number;
  irqLevel: boolean;
}

export class PvBlock implements PortDevice {
  readonly name = "pv-block";
  /** Requests and doorbells so far, for statistics. */
  requests = 0;
  doorbells = 0;
  private ring = 0;
  private slots = 0;
  private completed = 0;
  private isr = 0;
  private irqLevel = false;
  private unflushedWrites = false; // written since the last sync
  private flushRequested = false; // a flush request in the batch under way

  constructor(
    private readonly disk: BlockBackend,
    private readonly memory: DmaMemory,
    private readonly irq: IrqLine = UNCONNECTED,
  ) {}

  saveState(): PvBlockState {
    const { requests, doorbells, ring, slots, completed, isr, irqLevel } = this;
    return { requests, doorbells, ring, slots, completed, isr, irqLevel };
  }

  restoreState(state: PvBlockState, at = new StatePath(this.name)): void {
    at.counter("requests", state.requests);
    at.counter("doorbells", state.doorbells);
    at.integer("ring", state.ring, 0, 0xffffffff);
    at.integer("slots", state.slots, 0, MAX_SLOTS);
    if (state.slots & (state.slots - 1)) at.refuse("slots", `is ${state.slots}, not 0 or a power of two`);
    at.integer("completed", state.completed, 0, 0xffffffff);
    at.integer("isr", state.isr, 0, ISR_COMPLETED | ISR_RING_ERROR);
    ({ requests: this.requests, doorbells: this.doorbells, ring: this.ring, slots: this.slots, completed: this.completed, isr: this.isr, irqLevel: this.irqLevel } = state);
  }

  read(offset: number, _size: IoSize): number {
    switch (offset) {
      case MAGIC:
        return PV_BLOCK_MAGIC;
      case VERSION:
        return 1;
      case SECTORS_LOW:
        return this.disk.sectors >>> 0;
      case SECTORS_HIGH:
        return Math.floor(this.disk.sectors / 2 ** 32);
      case FEATURES:
        return this.disk.readOnly ? 1 : 0;
      case RING:
        return this.ring;
      case RING_SIZE:
        return this.slots;
      case ISR: {
        const isr = this.isr;
        this.isr = 0;
        this.updateIrq();
        return isr;
      }
      default:
        return 0;
    }
  }

  write(offset: number, _size: IoSize, value: number): void {
    if (offset === RING) {
      this.ring = value >>> 0;
      this.completed = 0;
    } else if (offset === RING_SIZE) {
      this.slots = value >= 1 && value <= MAX_SLOTS && (value & (value - 1)) === 0 ? value : 0;
      this.completed = 0;
    } else if (offset === DOORBELL) {
      this.doorbell(value >>> 0);
    }
  }

  private doorbell(produced: number): void {
    this.doorbells++;
    const ram = this.memory.ram();
    const view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
    const outstanding = (produced - this.completed) >>> 0;
    const ringEnd = this.ring + HEADER_SIZE + this.slots * SLOT_SIZE;
    if (this.ring === 0 || this.slots === 0 || ringEnd > ram.length || outstanding > this.slots) {
      this.isr |= ISR_RING_ERROR;
    } else {
      for (; this.completed !== produced; this.completed = (this.completed + 1) >>> 0) {
        const slot = this.ring + HEADER_SIZE + (this.completed % this.slots) * SLOT_SIZE;
        view.setUint32(slot + 4, this.perform(view, ram, slot), true);
        this.requests++;
      }
      this.syncIfAsked();
      view.setUint32(this.ring, this.completed, true);
      this.memory.wrote(this.ring, ringEnd - this.ring); // the index and the statuses
      this.isr |= ISR_COMPLETED;
    }
    this.updateIrq();
  }

  /** Carries out the request in the slot at `slot`; returns its status. */
  private perform(view: DataView, ram: Uint8Array, slot: number): number {
    const op = view.getUint32(slot, true);
    if (op === PV_OP_FLUSH) {
      this.flushRequested = true;
      return PV_STATUS_OK;
    }
    if (op !== PV_OP_READ && op !== PV_OP_WRITE) return PV_STATUS_BAD_OP;
    const lba = view.getUint32(slot + 8, true) + view.getUint32(slot + 12, true) * 2 ** 32;
    const count = view.getUint32(slot + 16, true);
    const buffer = view.getUint32(slot + 20, true);
    if (op === PV_OP_WRITE && this.disk.readOnly) return PV_STATUS_READ_ONLY;
    if (count > PV_MAX_REQUEST_SECTORS) return PV_STATUS_TOO_LONG;
    if (lba + count > this.disk.sectors) return PV_STATUS_OUT_OF_RANGE;
    if (buffer + count * SECTOR_SIZE > ram.length) return PV_STATUS_BAD_BUFFER;
    const data = ram.subarray(buffer, buffer + count * SECTOR_SIZE);
    if (op === PV_OP_READ) {
      this.disk.read(lba, data);
      this.memory.wrote(buffer, data.length);
    } else {
      this.disk.write(lba, data);
      this.unflushedWrites = true;
    }
    return PV_STATUS_OK;
  }

  /** The batch's flush requests, done once: nothing completes before the doorbell's OUT does. */
  private syncIfAsked(): void {
    if (this.flushRequested && this.unflushedWrites) {
      this.disk.flush();
      this.unflushedWrites = false;
    }
    this.flushRequested = false;
  }

  private updateIrq(): void {
    const level = this.isr !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }
}
