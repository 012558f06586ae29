// PCI configuration space through configuration mechanism #1, as on the PC chipsets QEMU models
// (i440FX): a dword written to 0xCF8 selects enable bit 31, bus (23:16), device (15:11), function
// (10:8) and register (7:2); 0xCFC-0xCFF is then a window onto that dword, read or written a byte,
// word or dword at a time. Only bus 0 exists. A function is 256 bytes of configuration space with
// a write mask per byte (a BAR's mask holds the address bits its size leaves, so writing all ones
// and reading back sizes it, as firmware and operating systems do); an absent function, a disabled
// address or another bus reads as all ones and ignores writes. Each function hears of writes
// (onWrite) so a device can follow its BARs and command register.

import type { IoSize, PortDevice } from "./device.js";
import { StatePath } from "./saved-values.js";

export const PCI_CONFIG_PORT = 0xcf8;
/** 0xCF8-0xCFB: the address register; 0xCFC-0xCFF: the data window. */
export const PCI_CONFIG_PORT_COUNT = 8;
const DATA = 4;
const ENABLE = 0x80000000;
export const PCI_SLOTS = 32;
const CONFIG_BYTES = 256;
const ALL_ONES = 0xffffffff;

// Header offsets (type 0 header) a function's description uses.
export const PCI_COMMAND = 0x04;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_BAR0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR = 0x2c;
export const PCI_ROM_ADDRESS = 0x30;
export const PCI_INTERRUPT_LINE = 0x3c;
/** Past the header, configuration space is the device's own and writable (QEMU's default). */
const HEADER_BYTES = 0x40;
export const COMMAND_IO = 1 << 0;
export const COMMAND_MEMORY = 1 << 1;
/** The command bits software may change, as QEMU allows: I/O, memory, bus master, SERR#, INTx disable. */
const COMMAND_WRITABLE = 0x0507;
export const BAR_MEMORY_PREFETCHABLE = 0x08;

export interface PciIdentity {
  vendor: number;
  device: number;
  revision: number;
  /** Class code, subclass and programming interface: 0x030000 is a VGA controller. */
  classCode: number;
  subsystemVendor: number;
  subsystem: number;
}

export interface PciFunctionState {
  config: number[];
}

/** One function's configuration space. */
export class PciFunction {
  readonly config = new Uint8Array(CONFIG_BYTES);
  private readonly writable = new Uint8Array(CONFIG_BYTES);
  private readonly initial: Uint8Array;
  /** Called after every write to this function's configuration space. */
  onWrite: () => void = () => {};

  constructor(
    readonly name: string,
    identity: PciIdentity,
    /** Registers the firmware left programmed (BAR addresses, the command register). */
    setUp: (fn: PciFunction) => void = () => {},
  ) {
    this.setDword(0x00, identity.vendor | (identity.device << 16));
    this.setDword(0x08, identity.revision | (identity.classCode << 8));
    this.setDword(PCI_SUBSYSTEM_VENDOR, identity.subsystemVendor | (identity.subsystem << 16));
    this.writable[PCI_COMMAND] = COMMAND_WRITABLE & 0xff;
    this.writable[PCI_COMMAND + 1] = COMMAND_WRITABLE >> 8;
    this.writable[PCI_CACHE_LINE_SIZE] = 0xff;
    this.writable[PCI_INTERRUPT_LINE] = 0xff;
    this.writable.fill(0xff, HEADER_BYTES);
    setUp(this);
    this.initial = this.config.slice();
  }

  /** A base address register at `offset` decoding `size` bytes (a power of two); `flags` are its read-only low bits. */
  defineBar(offset: number, size: number, flags: number, address: number): void {
    this.setWritable(offset, (~(size - 1) & ~0xf) >>> 0);
    this.setDword(offset, (address & ~(size - 1)) | flags);
  }

  /** The expansion ROM's BAR: `size` bytes, bit 0 the ROM's enable. */
  defineRom(size: number, address: number): void {
    this.setWritable(PCI_ROM_ADDRESS, (~(size - 1) | 1) >>> 0);
    this.setDword(PCI_ROM_ADDRESS, address);
  }

  setDword(offset: number, value: number): void {
    for (let i = 0; i < 4; i++) this.config[offset + i] = (value >>> (i * 8)) & 0xff;
  }

  dword(offset: number): number {
    return (this.config[offset] | (this.config[offset + 1] << 8) | (this.config[offset + 2] << 16) | (this.config[offset + 3] << 24)) >>> 0;
  }

  /** `size` bytes from `offset`, little-endian (offset + size <= 256). */
  read(offset: number, size: IoSize): number {
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = (value << 8) | this.config[offset + i];
    return value >>> 0;
  }

  /** Writes only the bits the mask lets software change. */
  write(offset: number, size: IoSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      const mask = this.writable[at];
      this.config[at] = (this.config[at] & ~mask) | ((value >>> (i * 8)) & mask);
    }
    this.onWrite();
  }

  saveState(): PciFunctionState {
    return { config: [...this.config] };
  }

  /** Only the writable bits may differ from the function as built: the IDs and flags are not the file's to change. */
  restoreState(state: PciFunctionState, at: StatePath): void {
    at.bytes("config", state.config, CONFIG_BYTES);
    if (state.config.length !== CONFIG_BYTES) at.refuse("config", `has ${state.config.length} bytes, not ${CONFIG_BYTES}`);
    state.config.forEach((byte, i) => {
      if ((byte & ~this.writable[i]) !== (this.initial[i] & ~this.writable[i])) at.at("config").refuse(i, "changes bits that are read-only");
    });
    this.config.set(state.config);
    this.onWrite();
  }

  private setWritable(offset: number, mask: number): void {
    for (let i = 0; i < 4; i++) this.writable[offset + i] = (mask >>> (i * 8)) & 0xff;
  }
}

export interface PciBusState {
  address: number;
  /** Each plugged function's configuration space, by slot. */
  functions: Record<string, PciFunctionState>;
}

/** Bus 0's configuration space at ports 0xCF8-0xCFF. */
export class PciBus implements PortDevice {
  readonly name = "pci-config";
  private readonly slots: (PciFunction | undefined)[] = new Array(PCI_SLOTS).fill(undefined);
  private address = 0;

  /** Puts `fn` at device `slot`, function 0. */
  plug(slot: number, fn: PciFunction): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= PCI_SLOTS) throw new RangeError(`no PCI slot ${slot}`);
    if (this.slots[slot]) throw new Error(`PCI slot ${slot} is already taken by ${this.slots[slot].name}`);
    this.slots[slot] = fn;
  }

  read(offset: number, size: IoSize): number {
    if (offset < DATA) return this.address >>> (offset * 8); // the bus keeps the low bytes of the result
    const target = this.target(offset, size);
    return target ? target.fn.read(target.register, size) : ALL_ONES;
  }

  write(offset: number, size: IoSize, value: number): void {
    if (offset < DATA) {
      // Only a dword OUT to 0xCF8 sets the address (QEMU's pci_host_config_write); 0xCF9 on a
      // real PC is the reset control register, which this machine does not have.
      if (offset === 0 && size === 4) this.address = value >>> 0;
      return;
    }
    const target = this.target(offset, size);
    target?.fn.write(target.register, size, value);
  }

  saveState(): PciBusState {
    const functions: Record<string, PciFunctionState> = {};
    this.slots.forEach((fn, slot) => {
      if (fn) functions[slot] = fn.saveState();
    });
    return { address: this.address, functions };
  }

  /** `state` has the shape saveState() gives (saved-state.ts checked it): the same slots. */
  restoreState(state: PciBusState, at = new StatePath(this.name)): void {
    at.integer("address", state.address, 0, ALL_ONES);
    this.slots.forEach((fn, slot) => fn?.restoreState(state.functions[slot], at.at("functions").at(slot)));
    this.address = state.address;
  }

  /** The function and register a data-window access reaches, if any. */
  private target(offset: number, size: IoSize): { fn: PciFunction; register: number } | undefined {
    const address = this.address;
    if (!(address & ENABLE) || (address >>> 16) & 0xff) return undefined;
    const register = (address | (offset - DATA)) & 0xff; // QEMU ORs the port's low bits into the address
    if (register + size > CONFIG_BYTES) return undefined;
    const slot = (address >>> 11) & 0x1f;
    const fn = (address >>> 8) & 7;
    const device = fn === 0 ? this.slots[slot] : undefined;
    return device && { fn: device, register };
  }
}
