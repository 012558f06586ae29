// The functions on this PC's PCI bus, as QEMU's pc machine (i440FX) shows them to a guest after its
// firmware (SeaBIOS) ran: the host bridge at 00:00.0 and the std-VGA at 00:02.0 with its BARs
// assigned and I/O and memory decoding on. wasmvisor has no firmware, so it starts that way.
// (QEMU also has the PIIX3 ISA bridge at 00:01.0; this machine's ISA devices need no function.)

import { BAR_MEMORY_PREFETCHABLE, COMMAND_IO, COMMAND_MEMORY, PCI_BAR0, PCI_COMMAND, PciFunction } from "./pci-bus.js";

export const HOST_BRIDGE_SLOT = 0;
export const STD_VGA_SLOT = 2;
/** SERR# enable, as SeaBIOS leaves it beside I/O and memory decoding. */
const COMMAND_SERR = 1 << 8;
const FIRMWARE_COMMAND = COMMAND_IO | COMMAND_MEMORY | COMMAND_SERR;
/** QEMU's subsystem IDs (Red Hat's vendor, "QEMU"). */
const QEMU_SUBSYSTEM = { subsystemVendor: 0x1af4, subsystem: 0x1100 };

export function hostBridge(): PciFunction {
  return new PciFunction("i440fx-host-bridge", { vendor: 0x8086, device: 0x1237, revision: 0x02, classCode: 0x060000, ...QEMU_SUBSYSTEM }, (fn) =>
    fn.setDword(PCI_COMMAND, FIRMWARE_COMMAND),
  );
}

/** Where QEMU's firmware puts the std-VGA's linear frame buffer (BAR 0) under -vga std. */
export const STD_VGA_LFB_ADDRESS = 0xfd000000;
/** BAR 2: QEMU's MMIO registers (4 KiB), assigned but not decoded here. */
const STD_VGA_MMIO = { offset: 0x18, size: 0x1000, address: 0xfebf0000 };
/** The VGA BIOS ROM's BAR (64 KiB), assigned and disabled, with no ROM behind it. */
const STD_VGA_ROM = { size: 0x10000, address: 0xfebe0000 };

/** The std-VGA (1234:1111): BAR 0 is its video memory, `videoMemoryBytes` (a power of two). */
export function stdVgaFunction(videoMemoryBytes: number): PciFunction {
  return new PciFunction("std-vga", { vendor: 0x1234, device: 0x1111, revision: 0x02, classCode: 0x030000, ...QEMU_SUBSYSTEM }, (fn) => {
    fn.setDword(PCI_COMMAND, FIRMWARE_COMMAND);
    fn.defineBar(PCI_BAR0, videoMemoryBytes, BAR_MEMORY_PREFETCHABLE, STD_VGA_LFB_ADDRESS);
    fn.defineBar(STD_VGA_MMIO.offset, STD_VGA_MMIO.size, 0, STD_VGA_MMIO.address);
    fn.defineRom(STD_VGA_ROM.size, STD_VGA_ROM.address);
  });
}

/**
 * Where a memory BAR decodes now, or undefined: memory decoding off, the address 0, or a range
 * that would wrap past 4 GiB (what the all-ones of BAR sizing reads as), as QEMU unmaps it then.
 */
export function memoryBarAddress(fn: PciFunction, offset: number, size: number): number | undefined {
  if (!(fn.read(PCI_COMMAND, 2) & COMMAND_MEMORY)) return undefined;
  const address = (fn.dword(offset) & ~0xf) >>> 0;
  const last = address + size - 1;
  return address === 0 || last >= 0xffffffff ? undefined : address;
}
