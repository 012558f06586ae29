// Kernel images built byte by byte for the tests, so loader and VM tests need no toolchain:
// Multiboot headers, ELF32 executables and a.out-kludge images, plus a few hand-encoded x86
// instructions for tiny guests.

export const MB_MAGIC = 0x1badb002;

export function multibootHeader(flags = 0, aout?: { headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number }): Uint8Array {
  const words = [MB_MAGIC, flags, (-(MB_MAGIC + flags)) >>> 0];
  if (aout) words.push(aout.headerAddr, aout.loadAddr, aout.loadEndAddr, aout.bssEndAddr, aout.entryAddr);
  return u32s(words);
}

export function u32s(words: number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w >>> 0, true));
  return bytes;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface SegmentSpec {
  paddr: number;
  vaddr?: number;
  data: Uint8Array;
  memsz?: number;
  type?: number;
  flags?: number;
}

export interface ElfSpec {
  entry: number;
  segments: SegmentSpec[];
  eclass?: number;
  data?: number;
  type?: number;
  machine?: number;
}

/** An ELF32 executable: header, program headers, then each segment's bytes in order. */
export function elf32(spec: ElfSpec): Uint8Array {
  const phoff = 52;
  let offset = phoff + spec.segments.length * 32;
  const offsets = spec.segments.map((s) => {
    const at = offset;
    offset += s.data.length;
    return at;
  });
  const file = new Uint8Array(offset);
  const view = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, spec.eclass ?? 1, spec.data ?? 1, 1]);
  view.setUint16(16, spec.type ?? 2, true);
  view.setUint16(18, spec.machine ?? 3, true);
  view.setUint32(20, 1, true);
  view.setUint32(24, spec.entry, true);
  view.setUint32(28, phoff, true);
  view.setUint16(40, 52, true);
  view.setUint16(42, 32, true);
  view.setUint16(44, spec.segments.length, true);
  spec.segments.forEach((s, i) => {
    const at = phoff + i * 32;
    view.setUint32(at, s.type ?? 1, true);
    view.setUint32(at + 4, offsets[i], true);
    view.setUint32(at + 8, s.vaddr ?? s.paddr, true);
    view.setUint32(at + 12, s.paddr, true);
    view.setUint32(at + 16, s.data.length, true);
    view.setUint32(at + 20, s.memsz ?? s.data.length, true);
    view.setUint32(at + 24, s.flags ?? 5, true); // R+X
    view.setUint32(at + 28, 0x1000, true);
  });
  offsets.forEach((at, i) => file.set(spec.segments[i].data, at));
  return file;
}

export const KERNEL_BASE = 0x100000;

/**
 * A minimal Multiboot ELF kernel: one segment at 1 MiB holding the Multiboot header and then
 * `code`, which is the entry point. `bss` zero bytes follow.
 */
export function kernelElf(code: Uint8Array, bss = 0): Uint8Array {
  const header = multibootHeader(0x3);
  const data = concat(header, code);
  return elf32({ entry: KERNEL_BASE + header.length, segments: [{ paddr: KERNEL_BASE, data, memsz: data.length + bss }] });
}

// Hand-encoded 32-bit x86 instructions for tiny guests.
export const x86 = {
  movEax: (v: number) => concat(new Uint8Array([0xb8]), u32s([v])),
  movEcx: (v: number) => concat(new Uint8Array([0xb9]), u32s([v])),
  movEsi: (v: number) => concat(new Uint8Array([0xbe]), u32s([v])),
  movEdi: (v: number) => concat(new Uint8Array([0xbf]), u32s([v])),
  movDx: (v: number) => new Uint8Array([0x66, 0xba, v & 0xff, v >> 8]),
  movAl: (v: number) => new Uint8Array([0xb0, v]),
  outDxAl: () => new Uint8Array([0xee]),
  inAlDx: () => new Uint8Array([0xec]),
  outImmAl: (port: number) => new Uint8Array([0xe6, port]),
  outImmEax: (port: number) => new Uint8Array([0xe7, port]),
  repOutsb: () => new Uint8Array([0xf3, 0x6e]),
  repInsb: () => new Uint8Array([0xf3, 0x6c]),
  cpuid: () => new Uint8Array([0x0f, 0xa2]),
  cli: () => new Uint8Array([0xfa]),
  sti: () => new Uint8Array([0xfb]),
  std: () => new Uint8Array([0xfd]),
  hlt: () => new Uint8Array([0xf4]),
  int3: () => new Uint8Array([0xcc]),
  jmpSelf: () => new Uint8Array([0xeb, 0xfe]),
};

/** A guest that ends the run with exit code `code` via isa-debug-exit. */
export const exitWith = (code: number) => concat(x86.movAl(code), x86.outImmAl(0xf4));
