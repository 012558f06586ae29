// Where a Multiboot kernel's bytes go in guest-physical memory and where it starts: from the a.out
// kludge of its Multiboot header when flags bit 16 is set, otherwise from its ELF program headers.
// The rules and their checks follow QEMU's -kernel Multiboot loader (hw/i386/multiboot.c), so a
// kernel that boots there boots here at the same addresses. On top of QEMU's checks, addresses
// that cannot describe a kernel are refused: pieces that overlap each other, an entry point
// outside the bytes loaded from the file, and an image that lies (partly) beyond guest RAM.

import { isElf, parseElf32, physicalEntry } from "./elf.js";
import { LoadError, hex } from "./load-error.js";
import { findMultibootHeader, type AoutKludge, type MultibootHeader } from "./multiboot-header.js";

/** A run of guest-physical memory: fileBytes copied from the file, then zeroes up to memBytes. */
export interface KernelChunk {
  addr: number;
  fileOffset: number;
  fileBytes: number;
  memBytes: number;
}

export interface KernelImage {
  format: "elf" | "aout-kludge";
  header: MultibootHeader;
  chunks: KernelChunk[];
  /** Physical entry point. */
  entry: number;
  /** Lowest physical address the kernel occupies, and one past the highest. */
  start: number;
  end: number;
}

export function parseKernel(file: Uint8Array): KernelImage {
  const header = findMultibootHeader(file);
  if (header.aout) return fromAoutKludge(file, header, header.aout);
  if (!isElf(file)) throw new LoadError("not an ELF file, and its Multiboot header has no load addresses (flags bit 16 clear)");
  const elf = parseElf32(file);
  const chunks = elf.segments.map((s) => ({ addr: s.paddr, fileOffset: s.fileOffset, fileBytes: s.filesz, memBytes: s.memsz }));
  return withExtent({ format: "elf", header, chunks, entry: physicalEntry(elf) });
}

function fromAoutKludge(file: Uint8Array, header: MultibootHeader, a: AoutKludge): KernelImage {
  if (a.headerAddr < a.loadAddr) {
    throw new LoadError(`invalid Multiboot header: header_addr ${hex(a.headerAddr)} is below load_addr ${hex(a.loadAddr)}`);
  }
  if (a.headerAddr - a.loadAddr > header.offset) {
    throw new LoadError(
      `invalid Multiboot header: header_addr - load_addr = ${hex(a.headerAddr - a.loadAddr)} but the header is at file offset ${hex(header.offset)}`,
    );
  }
  const fileOffset = header.offset - (a.headerAddr - a.loadAddr);
  let loadBytes = file.length - fileOffset;
  if (a.loadEndAddr !== 0) {
    if (a.loadEndAddr < a.loadAddr) {
      throw new LoadError(`invalid Multiboot header: load_end_addr ${hex(a.loadEndAddr)} is below load_addr ${hex(a.loadAddr)}`);
    }
    loadBytes = a.loadEndAddr - a.loadAddr;
    if (fileOffset + loadBytes > file.length) {
      throw new LoadError(
        `truncated kernel: load_end_addr ${hex(a.loadEndAddr)} needs file bytes up to ${hex(fileOffset + loadBytes)}, file is ${hex(file.length)} bytes`,
      );
    }
  }
  let memBytes = loadBytes;
  if (a.bssEndAddr !== 0) {
    if (a.bssEndAddr < a.loadAddr + loadBytes) {
      throw new LoadError(`invalid Multiboot header: bss_end_addr ${hex(a.bssEndAddr)} is below the end of the loaded image ${hex(a.loadAddr + loadBytes)}`);
    }
    memBytes = a.bssEndAddr - a.loadAddr;
  }
  const chunks = [{ addr: a.loadAddr, fileOffset, fileBytes: loadBytes, memBytes }];
  return withExtent({ format: "aout-kludge", header, chunks, entry: a.entryAddr });
}

function withExtent(image: Omit<KernelImage, "start" | "end">): KernelImage {
  const start = Math.min(...image.chunks.map((c) => c.addr));
  const end = Math.max(...image.chunks.map((c) => c.addr + c.memBytes));
  if (end > 0x1_0000_0000) throw new LoadError(`kernel does not fit in the 32-bit address space: it extends past 0xffffffff`);
  checkNoOverlap(image.chunks);
  if (!image.chunks.some((c) => image.entry >= c.addr && image.entry < c.addr + c.fileBytes)) {
    throw new LoadError(`entry point ${hex(image.entry)} is outside the kernel image: no bytes are loaded there from the file (the image occupies ${hex(start)}-${hex(end)})`);
  }
  return { ...image, start, end };
}

/** Two ELF segments loaded over each other mean a corrupt file (the later one would win silently). */
function checkNoOverlap(chunks: KernelChunk[]): void {
  const sorted = chunks.map((chunk, index) => ({ ...chunk, index })).sort((a, b) => a.addr - b.addr);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (b.addr < a.addr + a.memBytes) {
      const [first, second] = a.index < b.index ? [a, b] : [b, a];
      throw new LoadError(
        `ELF segments ${first.index} and ${second.index} overlap in physical memory: ${hex(first.addr)}-${hex(first.addr + first.memBytes)} and ${hex(second.addr)}-${hex(second.addr + second.memBytes)}`,
      );
    }
  }
}

/** Copies the kernel into guest RAM (index = guest-physical address); throws if it does not fit. */
export function copyKernel(ram: Uint8Array, file: Uint8Array, image: KernelImage): void {
  if (image.end > ram.length) {
    const what = image.end - image.start > ram.length ? "kernel too large for guest memory" : "kernel loaded beyond the end of guest memory";
    const needMiB = Math.ceil(image.end / (1 << 20));
    throw new LoadError(
      `${what}: it occupies ${hex(image.start)}-${hex(image.end)}, guest RAM ends at ${hex(ram.length)} (${ram.length >> 20} MiB; it needs at least ${needMiB} MiB)`,
    );
  }
  for (const chunk of image.chunks) {
    ram.set(file.subarray(chunk.fileOffset, chunk.fileOffset + chunk.fileBytes), chunk.addr);
    ram.fill(0, chunk.addr + chunk.fileBytes, chunk.addr + chunk.memBytes);
  }
}
