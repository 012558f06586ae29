// The Multiboot information structure (Multiboot spec 0.6.96, section 3.3) that the boot loader
// hands the kernel in EBX: memory sizes, the command line, a BIOS-style memory map and the boot
// loader's name, and the module table. We put it on the first page boundary after the kernel and
// its modules (modules.ts), so it overlaps neither; the strings, the memory map and the module
// table follow it in the same block.

import { LoadError, hex } from "./load-error.js";
import type { PlacedModule } from "./modules.js";

export const BOOT_LOADER_NAME = "wasmvisor";

// Flags of the information structure: which fields are valid.
const MBI_MEMORY = 1 << 0;
const MBI_CMDLINE = 1 << 2;
const MBI_MODULES = 1 << 3;
const MBI_MMAP = 1 << 6;
const MBI_BOOT_LOADER_NAME = 1 << 9;

const MBI_SIZE = 88; // through the VBE fields; the framebuffer fields (flags bit 12) are not given
const MMAP_ENTRY_SIZE = 24; // u32 size (= 20, not counting itself), u64 base, u64 length, u32 type
const MODULE_ENTRY_SIZE = 16; // u32 mod_start, mod_end, string, reserved
const MMAP_AVAILABLE = 1;
const MMAP_RESERVED = 2;

const LOW_RAM_END = 0xa0000; // 640 KiB: conventional memory
const HIGH_RAM_START = 0x100000; // 1 MiB: VGA memory and BIOS ROMs lie in between

export interface MemoryRegion {
  base: number;
  length: number;
  type: typeof MMAP_AVAILABLE | typeof MMAP_RESERVED;
}

/** The PC memory map for a guest with `ramBytes` of RAM: low RAM, the hole below 1 MiB, high RAM. */
export function pcMemoryMap(ramBytes: number): MemoryRegion[] {
  const map: MemoryRegion[] = [{ base: 0, length: Math.min(ramBytes, LOW_RAM_END), type: MMAP_AVAILABLE }];
  if (ramBytes > LOW_RAM_END) map.push({ base: LOW_RAM_END, length: HIGH_RAM_START - LOW_RAM_END, type: MMAP_RESERVED });
  if (ramBytes > HIGH_RAM_START) map.push({ base: HIGH_RAM_START, length: ramBytes - HIGH_RAM_START, type: MMAP_AVAILABLE });
  return map;
}

export interface BootInfoLayout {
  /** Guest-physical address of the structure (what EBX holds at entry). */
  addr: number;
  /** Bytes used from addr: structure, memory map, strings. */
  size: number;
}

/**
 * Writes the information structure into guest RAM (index = guest-physical address) on the first
 * page boundary at or after `after` (the end of the kernel and its modules), with the module
 * table for `modules`, and returns where it is.
 */
export function writeBootInfo(ram: Uint8Array, after: number, cmdline: string, modules: readonly PlacedModule[] = []): BootInfoLayout {
  const encoder = new TextEncoder();
  const cmdlineBytes = encoder.encode(`${cmdline}\0`);
  const nameBytes = encoder.encode(`${BOOT_LOADER_NAME}\0`);
  const map = pcMemoryMap(ram.length);

  const addr = Math.ceil(after / 4096) * 4096;
  const mmapAddr = addr + MBI_SIZE;
  const cmdlineAddr = mmapAddr + map.length * MMAP_ENTRY_SIZE;
  const nameAddr = cmdlineAddr + cmdlineBytes.length;
  const moduleStrings = modules.map((module) => encoder.encode(`${module.cmdline}\0`));
  const modsAddr = align4(nameAddr + nameBytes.length);
  const moduleStringsAddr = modsAddr + modules.length * MODULE_ENTRY_SIZE;
  const size = moduleStringsAddr + moduleStrings.reduce((total, bytes) => total + bytes.length, 0) - addr;
  if (addr + size > ram.length) {
    throw new LoadError(
      `kernel too large for guest memory: no room for the ${size}-byte Multiboot information after it (at ${hex(addr)}; guest RAM ends at ${hex(ram.length)})`,
    );
  }

  ram.fill(0, addr, addr + size);
  const view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const u32 = (at: number, value: number) => view.setUint32(at, value, true);
  u32(addr + 0, MBI_MEMORY | MBI_CMDLINE | MBI_MODULES | MBI_MMAP | MBI_BOOT_LOADER_NAME);
  u32(addr + 4, Math.min(ram.length, LOW_RAM_END) / 1024); // mem_lower, KiB: 640 on any PC-sized guest
  u32(addr + 8, Math.floor(Math.max(0, ram.length - HIGH_RAM_START) / 1024)); // mem_upper, KiB above 1 MiB
  u32(addr + 16, cmdlineAddr);
  u32(addr + 20, modules.length); // mods_count
  u32(addr + 24, modsAddr);
  u32(addr + 44, map.length * MMAP_ENTRY_SIZE); // mmap_length
  u32(addr + 48, mmapAddr);
  u32(addr + 64, nameAddr);

  map.forEach((region, i) => {
    const at = mmapAddr + i * MMAP_ENTRY_SIZE;
    u32(at, MMAP_ENTRY_SIZE - 4);
    u32(at + 4, region.base);
    u32(at + 8, 0);
    u32(at + 12, region.length % 0x1_0000_0000);
    u32(at + 16, Math.floor(region.length / 0x1_0000_0000));
    u32(at + 20, region.type);
  });
  ram.set(cmdlineBytes, cmdlineAddr);
  ram.set(nameBytes, nameAddr);
  let stringAddr = moduleStringsAddr;
  modules.forEach((module, i) => {
    const at = modsAddr + i * MODULE_ENTRY_SIZE;
    u32(at, module.start);
    u32(at + 4, module.end);
    u32(at + 8, stringAddr);
    ram.set(moduleStrings[i], stringAddr);
    stringAddr += moduleStrings[i].length;
  });
  return { addr, size };
}

const align4 = (n: number) => Math.ceil(n / 4) * 4;
