import { beforeEach, describe, expect, it } from "vitest";
import { IoBus } from "../../src/devices/bus.js";
import { PCI_CONFIG_PORT, PCI_CONFIG_PORT_COUNT, PciBus } from "../../src/devices/pci-bus.js";
import { STD_VGA_LFB_ADDRESS, hostBridge, memoryBarAddress, stdVgaFunction } from "../../src/devices/pci-functions.js";
import { StatePath, SavedStateError } from "../../src/devices/saved-values.js";

// The values are QEMU's (guests/gfxprobe.expected holds the whole comparison, made under QEMU).
describe("PCI configuration mechanism #1", () => {
  let io: IoBus;
  let pci: PciBus;
  const vga = () => stdVgaFunction(0x200000);
  const select = (slot: number, register: number, fn = 0) => io.write(0xcf8, 4, 0x80000000 | (slot << 11) | (fn << 8) | register);
  beforeEach(() => {
    io = new IoBus();
    pci = new PciBus();
    io.register(PCI_CONFIG_PORT, PCI_CONFIG_PORT_COUNT, pci);
    pci.plug(0, hostBridge());
    pci.plug(2, vga());
  });

  it("reads the host bridge and the std-VGA as dwords, words and bytes at every offset", () => {
    select(0, 0);
    expect(io.read(0xcfc, 4)).toBe(0x12378086);
    select(2, 0);
    expect(io.read(0xcfc, 4)).toBe(0x11111234);
    expect(io.read(0xcfe, 2)).toBe(0x1111);
    expect(io.read(0xcfd, 1)).toBe(0x12);
    select(2, 0x08);
    expect(io.read(0xcfc, 4)).toBe(0x03000002);
    expect(io.read(0xcff, 1)).toBe(0x03);
    select(2, 0x10);
    expect(io.read(0xcfc, 4)).toBe((STD_VGA_LFB_ADDRESS | 8) >>> 0);
    select(2, 0x2c);
    expect(io.read(0xcfc, 4)).toBe(0x11001af4);
  });

  it("reads all ones from an empty slot, another function, another bus, or with the enable bit clear", () => {
    select(31, 0);
    expect(io.read(0xcfc, 4)).toBe(0xffffffff);
    select(2, 0, 1);
    expect(io.read(0xcfc, 4)).toBe(0xffffffff);
    io.write(0xcf8, 4, 0x80010000 | (2 << 11));
    expect(io.read(0xcfc, 2)).toBe(0xffff);
    io.write(0xcf8, 4, 2 << 11);
    expect(io.read(0xcfc, 1)).toBe(0xff);
  });

  it("keeps the address as written, and takes it only from a dword OUT to 0xCF8", () => {
    select(2, 0x04);
    expect(io.read(0xcf8, 4)).toBe(0x80001004);
    io.write(0xcf8, 1, 0);
    io.write(0xcf9, 1, 0x06); // the PIIX's reset control register on a real PC: nothing here
    io.write(0xcfa, 2, 0);
    expect(io.read(0xcf8, 4)).toBe(0x80001004);
  });

  it("sizes BAR 0 (2 MiB, prefetchable), BAR 2 (4 KiB) and the ROM by writing all ones, and unmaps BAR 0 meanwhile", () => {
    const fn = vga();
    for (const [offset, sized] of [[0x10, 0xffe00008], [0x18, 0xfffff000], [0x30, 0xffff0001]]) {
      const saved = fn.dword(offset);
      fn.write(offset, 4, 0xffffffff);
      expect(fn.dword(offset)).toBe(sized);
      if (offset === 0x10) expect(memoryBarAddress(fn, 0x10, 0x200000)).toBeUndefined();
      fn.write(offset, 4, saved);
      expect(fn.dword(offset)).toBe(saved);
    }
    expect(memoryBarAddress(fn, 0x10, 0x200000)).toBe(STD_VGA_LFB_ADDRESS);
  });

  it("follows the command register: memory decoding off unmaps BAR 0; read-only bits stay", () => {
    const fn = vga();
    let writes = 0;
    fn.onWrite = () => writes++;
    fn.write(0x04, 2, 0xffff);
    expect(fn.read(0x04, 2)).toBe(0x0507); // I/O, memory, bus master, SERR#, INTx disable
    fn.write(0x04, 2, 0x0001);
    expect(memoryBarAddress(fn, 0x10, 0x200000)).toBeUndefined();
    fn.write(0x00, 4, 0);
    fn.write(0x08, 4, 0);
    fn.write(0x3c, 4, 0xffffffff);
    expect([fn.dword(0x00), fn.dword(0x08), fn.dword(0x3c)]).toEqual([0x11111234, 0x03000002, 0xff]);
    expect(writes).toBe(5);
  });

  it("moves BAR 0 where the guest writes it (within its alignment)", () => {
    const fn = vga();
    fn.write(0x10, 4, 0xe0123456);
    expect(memoryBarAddress(fn, 0x10, 0x200000)).toBe(0xe0000000);
  });

  it("never reads or writes past a function's 256 bytes, whatever the address register's low bits", () => {
    io.write(0xcf8, 4, 0x800010ff); // register 0xFF with the low bits set, as QEMU ORs them in
    expect(io.read(0xcfe, 2)).toBe(0xffff);
    io.write(0xcfd, 4, 0x12345678);
    for (let i = 0; i < 2000; i++) {
      io.write(0xcf8 + (i % 8), ((i % 3) === 0 ? 1 : (i % 3) * 2) as 1 | 2 | 4, (i * 0x9e3779b9) >>> 0);
      io.read(0xcf8 + ((i * 7) % 8), 4);
    }
    select(2, 0);
    expect(io.read(0xcfc, 4)).toBe(0x11111234);
  });

  it("restores a saved bus, and refuses a file that changes read-only bits", () => {
    const saved = pci.saveState();
    const other = new PciBus();
    other.plug(0, hostBridge());
    const moved = vga();
    other.plug(2, moved);
    const config = [...saved.functions[2].config];
    config[0x10 + 3] = 0xe0; // BAR 0 at 0xE0000000: writable bits
    other.restoreState({ ...saved, functions: { ...saved.functions, 2: { config } } });
    expect(memoryBarAddress(moved, 0x10, 0x200000)).toBe(0xe0000000);
    config[0] = 0x35; // the vendor ID
    expect(() => other.restoreState({ ...saved, functions: { ...saved.functions, 2: { config } } }, new StatePath("devices.pci"))).toThrow(
      new SavedStateError("corrupt state file: devices.pci.functions[2].config[0] changes bits that are read-only"),
    );
  });
});
