// The Multiboot (v1) header a kernel carries so a boot loader can find and load it: magic
// 0x1BADB002, flags, checksum, 4-byte aligned within the first 8 KiB of the file. Flags bit 16 says
// the header also gives the load addresses (the "a.out kludge"), for kernels that are not ELF.

import { LoadError, hex } from "./load-error.js";

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
const SEARCH_BYTES = 8192;
/** Flags bit 16: the address fields below are valid and take precedence over ELF headers. */
export const MULTIBOOT_AOUT_KLUDGE = 1 << 16;

export interface AoutKludge {
  headerAddr: number;
  loadAddr: number;
  /** 0 = load to the end of the file. */
  loadEndAddr: number;
  /** 0 = no bss. */
  bssEndAddr: number;
  entryAddr: number;
}

export interface MultibootHeader {
  /** File offset of the magic. */
  offset: number;
  flags: number;
  /** Present when flags bit 16 is set. */
  aout?: AoutKludge;
}

/** Finds the first header whose checksum is right (as QEMU and GRUB do); throws if there is none. */
export function findMultibootHeader(file: Uint8Array): MultibootHeader {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const end = Math.min(file.length, SEARCH_BYTES) - 12;
  let badChecksumAt = -1;
  for (let offset = 0; offset <= end; offset += 4) {
    if (view.getUint32(offset, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = view.getUint32(offset + 4, true);
    const checksum = view.getUint32(offset + 8, true);
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0) !== 0) {
      if (badChecksumAt < 0) badChecksumAt = offset;
      continue;
    }
    if ((flags & MULTIBOOT_AOUT_KLUDGE) === 0) return { offset, flags };
    if (offset + 32 > file.length) {
      throw new LoadError(`truncated Multiboot header at ${hex(offset)}: flags bit 16 needs 32 bytes, file ends at ${hex(file.length)}`);
    }
    const field = (n: number) => view.getUint32(offset + 12 + 4 * n, true);
    return {
      offset,
      flags,
      aout: { headerAddr: field(0), loadAddr: field(1), loadEndAddr: field(2), bssEndAddr: field(3), entryAddr: field(4) },
    };
  }
  if (badChecksumAt >= 0) {
    throw new LoadError(`not a Multiboot kernel: the header at offset ${hex(badChecksumAt)} has a bad checksum`);
  }
  throw new LoadError("not a Multiboot kernel: no Multiboot header (magic 0x1badb002) in the first 8 KiB");
}
