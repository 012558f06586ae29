import { describe, expect, it } from "vitest";
import { loadMultibootKernel, qemuStyleCmdline } from "../../src/loader/multiboot.js";
import { kernelElf } from "../support/images.js";

describe("loadMultibootKernel", () => {
  it("copies the kernel, writes the boot information after it and reports the entry state", () => {
    const ram = new Uint8Array(4 << 20);
    const loaded = loadMultibootKernel(ram, kernelElf(new Uint8Array([0xf4])), "k");
    expect(loaded.entry).toBe(0x10000c);
    expect(loaded.bootInfoAddr).toBe(0x101000);
    expect(loaded.end).toBeGreaterThan(loaded.bootInfoAddr);
    expect(ram[0x10000c]).toBe(0xf4);
  });
});

describe("Multiboot modules", () => {
  const words = (ram: Uint8Array, at: number, count: number) => Array.from({ length: count }, (_, i) => new DataView(ram.buffer).getUint32(at + 4 * i, true));
  const string = (ram: Uint8Array, at: number) => new TextDecoder().decode(ram.subarray(at, ram.indexOf(0, at)));

  it("are placed page by page after the kernel, listed in the module table (flags bit 3), the boot information after them", () => {
    const ram = new Uint8Array(4 << 20);
    const first = new Uint8Array(5000).fill(7);
    const second = new Uint8Array([1, 2, 3]);
    const loaded = loadMultibootKernel(ram, kernelElf(new Uint8Array([0xf4])), "k", [
      { bytes: first, cmdline: "first.bin a=1" },
      { bytes: second, cmdline: "second.bin" },
    ]);
    expect(loaded.modules).toEqual([
      { start: 0x101000, end: 0x101000 + 5000, cmdline: "first.bin a=1" },
      { start: 0x103000, end: 0x103003, cmdline: "second.bin" },
    ]);
    expect(ram.subarray(0x103000, 0x103003)).toEqual(second);
    expect(loaded.bootInfoAddr).toBe(0x104000);
    const [flags] = words(ram, loaded.bootInfoAddr, 1);
    expect(flags & (1 << 3)).toBe(1 << 3);
    const [count, table] = words(ram, loaded.bootInfoAddr + 20, 2);
    expect(count).toBe(2);
    const entries = words(ram, table, 8);
    expect([entries[0], entries[1], entries[4], entries[5]]).toEqual([0x101000, 0x101000 + 5000, 0x103000, 0x103003]);
    expect(string(ram, entries[2])).toBe("first.bin a=1");
    expect(string(ram, entries[6])).toBe("second.bin");
    expect(loaded.end).toBeGreaterThan(entries[6]);
  });

  it("that do not fit in RAM are refused with one line naming the module", () => {
    expect(() => loadMultibootKernel(new Uint8Array(2 << 20), kernelElf(new Uint8Array([0xf4])), "k", [{ bytes: new Uint8Array(2 << 20), cmdline: "big.bin" }])).toThrow(
      /^module 1 \(big.bin\) does not fit in guest memory: 2097152 bytes at 0x101000, RAM ends at 0x200000$/,
    );
  });
});

describe("qemuStyleCmdline", () => {
  it("is the kernel's path, then the appended text if any, as QEMU's -kernel/-append", () => {
    expect(qemuStyleCmdline("guests/hello.elf")).toBe("guests/hello.elf");
    expect(qemuStyleCmdline("guests/hello.elf", "a b")).toBe("guests/hello.elf a b");
  });
});
