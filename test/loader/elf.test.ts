import { describe, expect, it } from "vitest";
import { parseElf32, physicalEntry } from "../../src/loader/elf.js";
import { LoadError } from "../../src/loader/load-error.js";
import { elf32 } from "../support/images.js";

const code = new Uint8Array([0x90, 0x90, 0xf4]);
const valid = () => elf32({ entry: 0x100000, segments: [{ paddr: 0x100000, data: code, memsz: 0x2000 }] });

function errorOf(file: Uint8Array): string {
  try {
    parseElf32(file);
  } catch (error) {
    expect(error).toBeInstanceOf(LoadError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a LoadError");
}

describe("parseElf32", () => {
  it("reads the entry point and the PT_LOAD segments", () => {
    const elf = parseElf32(valid());
    expect(elf.entry).toBe(0x100000);
    expect(elf.segments).toEqual([{ paddr: 0x100000, vaddr: 0x100000, fileOffset: 84, filesz: 3, memsz: 0x2000, executable: true }]);
  });

  it("skips program headers that are not PT_LOAD", () => {
    const file = elf32({ entry: 0x100000, segments: [{ paddr: 0, data: code, type: 4 }, { paddr: 0x100000, data: code }] });
    expect(parseElf32(file).segments.map((s) => s.paddr)).toEqual([0x100000]);
  });

  it.each([
    ["a file without the magic", new Uint8Array(64), "not an ELF file (no \\x7fELF magic)"],
    ["a truncated header", valid().subarray(0, 40), "truncated ELF file: 40 bytes, shorter than the 52-byte ELF32 header"],
    ["a 64-bit ELF", elf32({ entry: 0, segments: [{ paddr: 0, data: code }], eclass: 2 }), "64-bit ELF (ELFCLASS64): Multiboot v1 kernels must be 32-bit ELF"],
    ["an unknown class", elf32({ entry: 0, segments: [{ paddr: 0, data: code }], eclass: 0 }), "unknown ELF class 0: expected 1 (ELFCLASS32)"],
    ["a big-endian ELF", elf32({ entry: 0, segments: [{ paddr: 0, data: code }], data: 2 }), "ELF data encoding 2 is not little-endian (ELFDATA2LSB)"],
    ["another machine", elf32({ entry: 0, segments: [{ paddr: 0, data: code }], machine: 40 }), "ELF machine 40 is not i386 (EM_386 = 3)"],
    ["a shared object", elf32({ entry: 0, segments: [{ paddr: 0, data: code }], type: 3 }), "ELF type 3 is not an executable (ET_EXEC = 2)"],
    ["no program headers", elf32({ entry: 0, segments: [] }), "ELF file has no program headers"],
    ["only non-loadable segments", elf32({ entry: 0, segments: [{ paddr: 0, data: code, type: 4 }] }), "ELF file has no loadable (PT_LOAD) segment"],
  ])("rejects %s", (_what, file, message) => {
    expect(errorOf(file)).toBe(message);
  });

  it("rejects program headers that run past the end of the file", () => {
    expect(errorOf(valid().subarray(0, 60))).toBe("truncated ELF file: program headers end at 0x54, file is 0x3c bytes");
  });

  it("rejects a segment whose bytes run past the end of the file", () => {
    expect(errorOf(valid().subarray(0, 85))).toBe("truncated ELF file: segment 0 needs bytes 0x54-0x57, file is 0x55 bytes");
  });

  it("rejects a segment with more file bytes than memory bytes", () => {
    const file = elf32({ entry: 0, segments: [{ paddr: 0x100000, data: code, memsz: 2 }] });
    expect(errorOf(file)).toBe("ELF segment 0 has p_filesz 0x3 larger than p_memsz 0x2");
  });
});

describe("physicalEntry", () => {
  it("translates the entry of a kernel linked high and loaded low, as QEMU does", () => {
    const elf = parseElf32(elf32({ entry: 0xc0100010, segments: [{ paddr: 0x100000, vaddr: 0xc0100000, data: new Uint8Array(32) }] }));
    expect(physicalEntry(elf)).toBe(0x100010);
  });

  it("leaves the entry alone when virtual and physical addresses agree", () => {
    expect(physicalEntry(parseElf32(valid()))).toBe(0x100000);
  });
});
