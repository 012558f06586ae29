// The guest-side tables a fuzz case starts with, written into guest RAM: a GDT with flat ring-0
// and ring-3 segments, 16-bit, conforming and expand-down segments, a TSS, a call gate and a few
// random descriptors; an IDT (or real-mode IVT) whose gates lead to small handlers (return, skip
// the faulting byte, halt, or random code); and 2-level page tables that identity-map low memory
// with random permissions, plus entries that point at the tables themselves, at 4 MiB pages and
// at frames beyond RAM.
import type { Rng } from "./rng.js";

// Guest-physical layout shared by every case (the code sits at CODE from the start).
export const GDT = 0x800;
export const TSS = 0xa00;
export const IDT = 0x1000;
const HANDLERS = 0x2000;
export const PD = 0x3000;
const PT0 = 0x4000;
const PT1 = 0x5000;
export const DATA = 0x8000;
export const USER_STACK = 0xe000;
const KERNEL_STACK = 0xff00;
export const CODE = 0x10000;

export const SEL = { code0: 0x08, data0: 0x10, code3: 0x1b, data3: 0x23, tss: 0x28, code16: 0x30, data16: 0x38 } as const;
const GDT_ENTRIES = 16;
const HANDLER_SIZE = 0x40;

/** Where a case's memory writes go (fuzz-case.ts `memory` and `runs`). */
export interface MemoryWriter {
  bytes(at: number, data: ArrayLike<number>): void;
  dword(at: number, value: number): void;
  run(at: number, count: number, first: number, step: number): void;
}

/** An 8-byte segment descriptor: base, 20-bit limit, access byte, flags nibble (G, D/B). */
function descriptor(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo >>> 0, hi >>> 0];
}

/** An interrupt, trap or call gate. */
function gate(selector: number, offset: number, type: number, dpl: number, present = true): [number, number] {
  const lo = ((selector & 0xffff) << 16) | (offset & 0xffff);
  const hi = (offset & 0xffff0000) | (present ? 0x8000 : 0) | ((dpl & 3) << 13) | ((type & 0xf) << 8);
  return [lo >>> 0, hi >>> 0];
}

export function writeGdt(m: MemoryWriter, rng: Rng, tssLimit: number): void {
  const entries: [number, number][] = [
    [0, 0],
    descriptor(0, 0xfffff, 0x9b, 0xc), descriptor(0, 0xfffff, 0x93, 0xc),
    descriptor(0, 0xfffff, 0xfb, 0xc), descriptor(0, 0xfffff, 0xf3, 0xc),
    descriptor(TSS, tssLimit, 0x8b, 0), descriptor(CODE, 0xffff, 0x9b, 0), descriptor(0, 0xffff, 0x93, 0),
    gate(SEL.code0, HANDLERS, 0xc, 3), descriptor(0, 0xfffff, 0x9f, 0xc), descriptor(0, 0xfff, 0x97, 0x4),
  ];
  while (entries.length < GDT_ENTRIES) entries.push([rng.u32(), rng.u32()]);
  entries.forEach(([lo, hi], i) => { m.dword(GDT + i * 8, lo); m.dword(GDT + i * 8 + 4, hi); });
}

/** The TSS: ring-0 stack, I/O map base, and a random I/O permission bitmap after it. */
export function writeTss(m: MemoryWriter, rng: Rng, bitmapBytes: number): void {
  m.dword(TSS + 4, KERNEL_STACK);
  m.dword(TSS + 8, SEL.data0);
  m.dword(TSS + 0x64, 0x68 << 16);
  m.bytes(TSS + 0x68, rng.bytes(bitmapBytes).map((b) => (rng.chance(0.5) ? 0 : b)));
}

// Handler bodies: return; drop the error code and return; step past the faulting byte (so that
// a storm of faults walks through the code); halt; random bytes.
const RETURN = [0xcf];
const STEP = [0xff, 0x04, 0x24, 0xcf]; // incl (%esp); iret
const DROP_ERROR = [0x83, 0xc4, 0x04];
const HALT = [0xf4, 0xeb, 0xfd];
const HAS_ERROR = new Set([8, 10, 11, 12, 13, 14, 17]);

function handler(rng: Rng, vector: number): number[] {
  const body = rng.weighted([[3, RETURN], [5, STEP], [1, HALT], [1, Array.from(rng.bytes(rng.range(1, 24)))]] as const);
  return HAS_ERROR.has(vector) && rng.chance(0.9) ? [...DROP_ERROR, ...body] : [...body];
}

/** A protected-mode IDT of 256 gates, most to handlers, some not present or random. */
export function writeIdt(m: MemoryWriter, rng: Rng, vectors: number[]): void {
  vectors.forEach((vector, slot) => {
    const at = HANDLERS + slot * HANDLER_SIZE;
    m.bytes(at, handler(rng, vector));
    const [lo, hi] = rng.chance(0.05)
      ? [rng.u32(), rng.u32()]
      : gate(SEL.code0, at, rng.chance(0.7) ? 0xe : 0xf, rng.chance(0.6) ? 3 : 0, rng.chance(0.95));
    m.dword(IDT + vector * 8, lo);
    m.dword(IDT + vector * 8 + 4, hi);
  });
}

/** A real-mode IVT at 0: segment HANDLERS >> 4, 16-bit handlers that return or halt. */
export function writeIvt(m: MemoryWriter, rng: Rng, vectors: number[]): void {
  vectors.forEach((vector, slot) => {
    const offset = slot * HANDLER_SIZE;
    m.bytes(HANDLERS + offset, rng.chance(0.8) ? RETURN : HALT);
    m.dword(vector * 4, ((HANDLERS >> 4) << 16) | offset);
  });
}

/**
 * Page tables at PD: the first 4 MiB identity-mapped through PT0 with `flags`, a few entries
 * changed to random frames and permissions, and a few more directory entries of every kind.
 */
export function writePageTables(m: MemoryWriter, rng: Rng, flags: number, ramBytes: number): void {
  m.dword(PD, PT0 | flags);
  m.run(PT0, 1024, flags, 0x1000);
  const frame = (): number => rng.weighted([
    [4, () => rng.below(ramBytes >>> 12) << 12],
    [2, () => rng.pick([PD, PT0, PT1, CODE, DATA])],
    [2, () => (ramBytes + rng.below(64) * 0x1000) >>> 0],
    [1, () => rng.u32() & 0xfffff000],
  ] as const)();
  for (let n = rng.below(12); n > 0; n--) {
    const index = rng.chance(0.7) ? rng.below(0x20) : rng.below(1024);
    m.dword(PT0 + index * 4, frame() | (rng.u32() & 0xfff));
  }
  for (let n = rng.below(6); n > 0; n--) {
    const index = rng.range(1, 1023);
    const pde = rng.weighted([
      [3, () => PT1 | (rng.u32() & 0xfff & ~0x80)],
      [2, () => (rng.below(4) << 22) | 0x80 | (rng.u32() & 0x17f)],
      [1, () => PD | flags],
      [1, () => ((ramBytes + 0x100000) & 0xfffff000) | flags],
      [1, () => rng.u32()],
    ] as const)();
    m.dword(PD + index * 4, pde);
  }
  if (rng.chance(0.5)) m.run(PT1, 1024, (rng.below(ramBytes >>> 12) << 12) | flags, 0x1000);
}
