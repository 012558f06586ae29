import { describe, expect, it } from "vitest";
import { LoadError } from "../../src/loader/load-error.js";
import { findMultibootHeader } from "../../src/loader/multiboot-header.js";
import { concat, multibootHeader, u32s } from "../support/images.js";

const padding = (n: number) => new Uint8Array(n);

describe("findMultibootHeader", () => {
  it("finds a header on a 4-byte boundary and reads its flags", () => {
    expect(findMultibootHeader(concat(padding(100), multibootHeader(3), padding(16)))).toEqual({ offset: 100, flags: 3 });
  });

  it("reads the a.out kludge fields when flags bit 16 is set", () => {
    const aout = { headerAddr: 0x100000, loadAddr: 0x100000, loadEndAddr: 0x101000, bssEndAddr: 0x102000, entryAddr: 0x100020 };
    expect(findMultibootHeader(multibootHeader(0x10000, aout))).toEqual({ offset: 0, flags: 0x10000, aout });
  });

  it("finds a header that ends exactly at 8 KiB but not one that starts past it", () => {
    expect(findMultibootHeader(concat(padding(8192 - 12), multibootHeader(0))).offset).toBe(8180);
    expect(() => findMultibootHeader(concat(padding(8192), multibootHeader(0)))).toThrow(
      "not a Multiboot kernel: no Multiboot header (magic 0x1badb002) in the first 8 KiB",
    );
  });

  it("ignores a magic that is not 4-byte aligned", () => {
    expect(() => findMultibootHeader(concat(padding(2), multibootHeader(0), padding(2)))).toThrow(LoadError);
  });

  it("reports a bad checksum when that is the only header", () => {
    const bad = u32s([0x1badb002, 0, 0x12345678]);
    expect(() => findMultibootHeader(concat(padding(8), bad))).toThrow("not a Multiboot kernel: the header at offset 0x8 has a bad checksum");
  });

  it("skips a header with a bad checksum and takes the next good one, as QEMU does", () => {
    const bad = u32s([0x1badb002, 0, 0x12345678]);
    expect(findMultibootHeader(concat(bad, multibootHeader(2))).offset).toBe(12);
  });

  it("rejects an a.out-kludge header cut short by the end of the file", () => {
    expect(() => findMultibootHeader(concat(padding(4), multibootHeader(0x10000)))).toThrow(
      "truncated Multiboot header at 0x4: flags bit 16 needs 32 bytes, file ends at 0x10",
    );
  });

  it("rejects an empty file", () => {
    expect(() => findMultibootHeader(new Uint8Array(0))).toThrow("no Multiboot header");
  });
});
