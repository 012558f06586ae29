import { describe, expect, it } from "vitest";
import { pcMemoryMap, writeBootInfo } from "../../src/loader/boot-info.js";
import { LoadError } from "../../src/loader/load-error.js";

const MiB = 1 << 20;

function cString(ram: Uint8Array, addr: number): string {
  const end = ram.indexOf(0, addr);
  return new TextDecoder().decode(ram.subarray(addr, end));
}

describe("writeBootInfo", () => {
  const ram = new Uint8Array(32 * MiB);
  const info = writeBootInfo(ram, 0x123456, "kernel.elf verbose=1");
  const view = new DataView(ram.buffer);
  const u32 = (at: number) => view.getUint32(at, true);

  it("places the structure on the first page boundary after the kernel", () => {
    expect(info.addr).toBe(0x124000);
  });

  it("says which fields are valid: memory, cmdline, modules, memory map, boot loader name", () => {
    expect(u32(info.addr)).toBe((1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9));
  });

  it("reports 640 KiB of low memory and the RAM above 1 MiB", () => {
    expect(u32(info.addr + 4)).toBe(640);
    expect(u32(info.addr + 8)).toBe(32 * 1024 - 1024);
  });

  it("passes the command line and the boot loader name as C strings", () => {
    expect(cString(ram, u32(info.addr + 16))).toBe("kernel.elf verbose=1");
    expect(cString(ram, u32(info.addr + 64))).toBe("wasmvisor");
  });

  it("gives an empty module list", () => {
    expect(u32(info.addr + 20)).toBe(0);
  });

  it("gives a memory map of low RAM, the reserved hole below 1 MiB and high RAM", () => {
    const length = u32(info.addr + 44);
    const addr = u32(info.addr + 48);
    expect(length).toBe(3 * 24);
    const entries = [0, 1, 2].map((i) => {
      const at = addr + i * 24;
      return { size: u32(at), base: u32(at + 4) + u32(at + 8) * 2 ** 32, length: u32(at + 12) + u32(at + 16) * 2 ** 32, type: u32(at + 20) };
    });
    expect(entries).toEqual([
      { size: 20, base: 0, length: 0xa0000, type: 1 },
      { size: 20, base: 0xa0000, length: 0x60000, type: 2 },
      { size: 20, base: 0x100000, length: 31 * MiB, type: 1 },
    ]);
  });

  it("keeps everything it writes inside the reported size", () => {
    const strings = [u32(info.addr + 16), u32(info.addr + 64)];
    for (const s of strings) expect(s + cString(ram, s).length + 1).toBeLessThanOrEqual(info.addr + info.size);
  });

  it("fails with a clear message when there is no room after the kernel", () => {
    expect(() => writeBootInfo(new Uint8Array(2 * MiB), 2 * MiB - 16, "")).toThrow(LoadError);
    expect(() => writeBootInfo(new Uint8Array(2 * MiB), 2 * MiB - 16, "")).toThrow(
      /^kernel too large for guest memory: no room for the \d+-byte Multiboot information after it \(at 0x200000; guest RAM ends at 0x200000\)$/,
    );
  });
});

describe("pcMemoryMap", () => {
  it("has no high RAM entry for a guest of 1 MiB or less", () => {
    expect(pcMemoryMap(MiB)).toEqual([
      { base: 0, length: 0xa0000, type: 1 },
      { base: 0xa0000, length: 0x60000, type: 2 },
    ]);
  });
});
