// ELF32 parsing for Multiboot kernels: the file header and the PT_LOAD program headers, which is
// all a boot loader needs (sections and symbols are the kernel's business). Validates what a
// loader must trust before it copies bytes: class, byte order, machine, type, and that every table
// and segment lies inside the file.

import { LoadError, hex } from "./load-error.js";

export interface ElfSegment {
  /** Where the segment goes in guest-physical memory (p_paddr, as QEMU and GRUB load it). */
  paddr: number;
  vaddr: number;
  /** Its bytes in the file; memsz - filesz zero bytes follow (bss). */
  fileOffset: number;
  filesz: number;
  memsz: number;
  executable: boolean;
}

export interface Elf32 {
  entry: number;
  segments: ElfSegment[];
}

const EHDR_SIZE = 52;
const PHDR_SIZE = 32;
const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ET_EXEC = 2;
const EM_386 = 3;
const PT_LOAD = 1;
const PF_X = 1;

export function isElf(file: Uint8Array): boolean {
  return file.length >= 4 && file[0] === 0x7f && file[1] === 0x45 && file[2] === 0x4c && file[3] === 0x46;
}

export function parseElf32(file: Uint8Array): Elf32 {
  if (!isElf(file)) throw new LoadError("not an ELF file (no \\x7fELF magic)");
  if (file.length < EHDR_SIZE) throw new LoadError(`truncated ELF file: ${file.length} bytes, shorter than the 52-byte ELF32 header`);
  const eclass = file[4];
  if (eclass === ELFCLASS64) throw new LoadError("64-bit ELF (ELFCLASS64): Multiboot v1 kernels must be 32-bit ELF");
  if (eclass !== ELFCLASS32) throw new LoadError(`unknown ELF class ${eclass}: expected 1 (ELFCLASS32)`);
  if (file[5] !== ELFDATA2LSB) throw new LoadError(`ELF data encoding ${file[5]} is not little-endian (ELFDATA2LSB)`);

  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const type = view.getUint16(16, true);
  const machine = view.getUint16(18, true);
  if (machine !== EM_386) throw new LoadError(`ELF machine ${machine} is not i386 (EM_386 = 3)`);
  if (type !== ET_EXEC) throw new LoadError(`ELF type ${type} is not an executable (ET_EXEC = 2)`);

  const entry = view.getUint32(24, true);
  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  if (phnum === 0) throw new LoadError("ELF file has no program headers");
  if (phentsize < PHDR_SIZE) throw new LoadError(`ELF program header size ${phentsize} is smaller than 32`);
  if (phoff + phnum * phentsize > file.length) {
    throw new LoadError(`truncated ELF file: program headers end at ${hex(phoff + phnum * phentsize)}, file is ${hex(file.length)} bytes`);
  }

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (view.getUint32(at, true) !== PT_LOAD) continue;
    const segment: ElfSegment = {
      fileOffset: view.getUint32(at + 4, true),
      vaddr: view.getUint32(at + 8, true),
      paddr: view.getUint32(at + 12, true),
      filesz: view.getUint32(at + 16, true),
      memsz: view.getUint32(at + 20, true),
      executable: (view.getUint32(at + 24, true) & PF_X) !== 0,
    };
    if (segment.fileOffset + segment.filesz > file.length) {
      throw new LoadError(
        `truncated ELF file: segment ${i} needs bytes ${hex(segment.fileOffset)}-${hex(segment.fileOffset + segment.filesz)}, file is ${hex(file.length)} bytes`,
      );
    }
    if (segment.filesz > segment.memsz) {
      throw new LoadError(`ELF segment ${i} has p_filesz ${hex(segment.filesz)} larger than p_memsz ${hex(segment.memsz)}`);
    }
    if (segment.memsz > 0) segments.push(segment);
  }
  if (segments.length === 0) throw new LoadError("ELF file has no loadable (PT_LOAD) segment");
  return { entry, segments };
}

/**
 * The entry point as a physical address. e_entry is virtual; for a kernel linked high but loaded
 * low (p_vaddr != p_paddr) it is translated through the executable segment that contains it,
 * exactly as QEMU's ELF loader does for -kernel.
 */
export function physicalEntry(elf: Elf32): number {
  for (const s of elf.segments) {
    if (s.executable && s.vaddr !== s.paddr && elf.entry >= s.vaddr && elf.entry < s.vaddr + s.filesz) {
      return (elf.entry - s.vaddr + s.paddr) >>> 0;
    }
  }
  return elf.entry;
}
