import { describe, expect, it } from "vitest";
import { copyKernel, parseKernel } from "../../src/loader/kernel-image.js";
import { LoadError } from "../../src/loader/load-error.js";
import { concat, elf32, kernelElf, multibootHeader } from "../support/images.js";

const MiB = 1 << 20;

/** A flat binary: 16 bytes of code, the header at file offset 16, 16 more bytes, loaded at `loadAddr`. */
function aoutFile(fields: Partial<Parameters<typeof multibootHeader>[1] & object> = {}): Uint8Array {
  const aout = { headerAddr: 0x200010, loadAddr: 0x200000, loadEndAddr: 0, bssEndAddr: 0, entryAddr: 0x200004, ...fields };
  return concat(new Uint8Array(16).fill(0x90), multibootHeader(0x10000, aout), new Uint8Array(16).fill(0xcc));
}

function loadError(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(LoadError);
    return (error as Error).message;
  }
  throw new Error("expected a LoadError");
}

describe("parseKernel with an ELF kernel", () => {
  it("loads PT_LOAD segments at their physical addresses and enters at e_entry", () => {
    const image = parseKernel(kernelElf(new Uint8Array([0xf4]), 0x1000));
    expect(image.format).toBe("elf");
    expect(image.entry).toBe(0x10000c);
    expect(image.start).toBe(0x100000);
    expect(image.end).toBe(0x100000 + 13 + 0x1000);
  });

  it("copies segment bytes and zeroes the bss", () => {
    const file = kernelElf(new Uint8Array([0xf4]), 8);
    const ram = new Uint8Array(2 * MiB).fill(0xaa);
    copyKernel(ram, file, parseKernel(file));
    expect([...ram.subarray(0x100000, 0x10000d)]).toEqual([...file.subarray(52 + 32)]);
    expect([...ram.subarray(0x10000d, 0x100015)]).toEqual(new Array(8).fill(0));
    expect(ram[0x100015]).toBe(0xaa);
  });

  it("refuses a kernel that does not fit in guest RAM", () => {
    const file = kernelElf(new Uint8Array([0xf4]), 2 * MiB);
    expect(loadError(() => copyKernel(new Uint8Array(2 * MiB), file, parseKernel(file)))).toBe(
      "kernel too large for guest memory: it occupies 0x100000-0x30000d, guest RAM ends at 0x200000 (2 MiB; it needs at least 4 MiB)",
    );
  });

  it("refuses a small kernel loaded above the end of guest RAM", () => {
    const file = elf32({ entry: 0x3000000, segments: [{ paddr: 0x3000000, data: multibootHeader(0) }] });
    expect(loadError(() => copyKernel(new Uint8Array(32 * MiB), file, parseKernel(file)))).toBe(
      "kernel loaded beyond the end of guest memory: it occupies 0x3000000-0x300000c, guest RAM ends at 0x2000000 (32 MiB; it needs at least 49 MiB)",
    );
  });

  it("refuses an entry point outside the bytes loaded from the file", () => {
    const outside = elf32({ entry: 0x200000, segments: [{ paddr: 0x100000, data: multibootHeader(0), memsz: 0x1000 }] });
    expect(loadError(() => parseKernel(outside))).toBe(
      "entry point 0x200000 is outside the kernel image: no bytes are loaded there from the file (the image occupies 0x100000-0x101000)",
    );
    const inBss = elf32({ entry: 0x100800, segments: [{ paddr: 0x100000, data: multibootHeader(0), memsz: 0x1000 }] });
    expect(loadError(() => parseKernel(inBss))).toMatch(/^entry point 0x100800 is outside the kernel image/);
  });

  it("refuses segments that overlap in physical memory", () => {
    const file = elf32({
      entry: 0x100000,
      segments: [
        { paddr: 0x100000, data: multibootHeader(0), memsz: 0x2000 },
        { paddr: 0x101000, data: new Uint8Array(16) },
      ],
    });
    expect(loadError(() => parseKernel(file))).toBe("ELF segments 0 and 1 overlap in physical memory: 0x100000-0x102000 and 0x101000-0x101010");
  });

  it("refuses a non-ELF file whose header has no load addresses", () => {
    expect(loadError(() => parseKernel(concat(new Uint8Array(8), multibootHeader(0))))).toBe(
      "not an ELF file, and its Multiboot header has no load addresses (flags bit 16 clear)",
    );
  });

  it("refuses a 64-bit ELF that carries a Multiboot header", () => {
    const file = elf32({ entry: 0, eclass: 2, segments: [{ paddr: 0x100000, data: multibootHeader(0) }] });
    expect(loadError(() => parseKernel(file))).toBe("64-bit ELF (ELFCLASS64): Multiboot v1 kernels must be 32-bit ELF");
  });

  it("refuses a kernel that extends past 4 GiB", () => {
    const file = elf32({ entry: 0xfffff000, segments: [{ paddr: 0xfffff000, data: multibootHeader(0), memsz: 0x2000 }] });
    expect(loadError(() => parseKernel(file))).toBe("kernel does not fit in the 32-bit address space: it extends past 0xffffffff");
  });
});

describe("parseKernel with the a.out kludge", () => {
  it("loads from the header's file offset back to load_addr, to the end of the file", () => {
    const image = parseKernel(aoutFile());
    expect(image.format).toBe("aout-kludge");
    expect(image.chunks).toEqual([{ addr: 0x200000, fileOffset: 0, fileBytes: 64, memBytes: 64 }]);
    expect(image.entry).toBe(0x200004);
  });

  it("loads only up to load_end_addr and zeroes up to bss_end_addr", () => {
    const file = aoutFile({ loadEndAddr: 0x200020, bssEndAddr: 0x200100 });
    const image = parseKernel(file);
    expect(image.chunks).toEqual([{ addr: 0x200000, fileOffset: 0, fileBytes: 0x20, memBytes: 0x100 }]);
    const ram = new Uint8Array(4 * MiB).fill(0xaa);
    copyKernel(ram, file, image);
    expect([...ram.subarray(0x200000, 0x200020)]).toEqual([...file.subarray(0, 0x20)]);
    expect(ram.subarray(0x200020, 0x200100).every((b) => b === 0)).toBe(true);
    expect(ram[0x200100]).toBe(0xaa);
  });

  it("skips file bytes before load_addr's position (header_addr - load_addr < header offset)", () => {
    const image = parseKernel(aoutFile({ headerAddr: 0x200008, loadAddr: 0x200000 }));
    expect(image.chunks[0]).toMatchObject({ addr: 0x200000, fileOffset: 8, fileBytes: 56 });
  });

  it("takes precedence over ELF program headers", () => {
    const header = multibootHeader(0x10000, { headerAddr: 0x300054, loadAddr: 0x300000, loadEndAddr: 0, bssEndAddr: 0, entryAddr: 0x300060 });
    const file = elf32({ entry: 0x100000, segments: [{ paddr: 0x100000, data: header }] });
    const image = parseKernel(file);
    expect(image.format).toBe("aout-kludge");
    expect(image.entry).toBe(0x300060);
    expect(image.start).toBe(0x300000);
  });

  it.each([
    [{ headerAddr: 0x1ffff0 }, "invalid Multiboot header: header_addr 0x1ffff0 is below load_addr 0x200000"],
    [{ loadAddr: 0x1fff00 }, "invalid Multiboot header: header_addr - load_addr = 0x110 but the header is at file offset 0x10"],
    [{ loadEndAddr: 0x1fffff }, "invalid Multiboot header: load_end_addr 0x1fffff is below load_addr 0x200000"],
    [{ loadEndAddr: 0x200100 }, "truncated kernel: load_end_addr 0x200100 needs file bytes up to 0x100, file is 0x40 bytes"],
    [{ loadEndAddr: 0x200020, bssEndAddr: 0x200010 }, "invalid Multiboot header: bss_end_addr 0x200010 is below the end of the loaded image 0x200020"],
    [{ entryAddr: 0x100000 }, "entry point 0x100000 is outside the kernel image: no bytes are loaded there from the file (the image occupies 0x200000-0x200040)"],
    [{ loadEndAddr: 0x200004, bssEndAddr: 0x200100 }, "entry point 0x200004 is outside the kernel image: no bytes are loaded there from the file (the image occupies 0x200000-0x200100)"],
  ])("rejects %o", (fields, message) => {
    expect(loadError(() => parseKernel(aoutFile(fields)))).toBe(message);
  });
});
