// With paging off, a region may hold the blocks of one page besides its first block's (src/jit/region.ts):
// a loop calling a function on another page (a comparison function, a string routine) then runs
// the call and the RET back inside one function. The core tracks writes to both pages
// (assembly/jit/code-pages.ts: the entry is on both pages' lists, BLOCK_SECOND_PAGE): a store into
// any block of either page must forget the region, whoever makes it (the region itself, the
// interpreter, the VMM), and forgetting or evicting it must leave both pages' masks as the blocks
// still compiled make them where that is known without a walk (a page left with no block, or one a
// store has just walked; code-pages.ts may leave a stale bit otherwise). Each guest here would end
// differently from the interpreter if a stale region ran on.
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE, assemble } from "../core/harness";
import { translateBlock, type TranslateEnv } from "../../src/jit/translate";
import { RegionImports } from "../../src/jit/region-imports";
import { runBoth, expectAgreement, expectSameSlices, withPaging } from "./agreement";
import * as L from "../../assembly/vmcs-layout";
import {
  BLOCK_CACHE_ENTRIES, BLOCK_ENTRY_SIZE, BLOCK_FUNCTION, BLOCK_PHYSICAL, BLOCK_REGION_BLOCKS, BLOCK_SECOND_PAGE,
  REGION_BLOCKS_OFFSET, REGION_BLOCKS_STRIDE, REGION_BLOCK_IN_SECOND_PAGE,
} from "../../assembly/jit-abi";

const CALLS = 3000;
// the loop on the first page; f (direct CALL) on the next, g (through EDI) on the one after
const THREE_PAGES = `mov $${CALLS}, %ecx\nmov $g, %edi\n1: mov %ecx, %eax\ncall f\nadd %eax, %ebx\ncall *%edi\nxor %eax, %esi\ndec %ecx\njnz 1b\nhlt
.p2align 12\nf: lea 3(%eax,%eax,2), %eax\ncmp $100, %eax\njb 2f\nadd %ecx, %eax\n2: ret
.p2align 12\ng: rol $5, %eax\nadd $0x9e37, %eax\nret`;

// Where each compiled entry's blocks lie, as the core's masks must mark them (code-pages.ts): a
// 64-byte chunk per bit, from 3 bytes before a block (a dword store there reaches it) to its end.
function expectedMasks(cpu: TestCpu): Map<number, bigint> {
  const view = new DataView(cpu.core.memory.buffer), base = cpu.core.blockCacheBase(), masks = new Map<number, bigint>();
  const mark = (page: number, bit: number) => masks.set(page, (masks.get(page) ?? 0n) | (1n << BigInt(bit)));
  for (let i = 0; i < BLOCK_CACHE_ENTRIES; i++) {
    const e = base + i * BLOCK_ENTRY_SIZE, second = view.getUint32(e + BLOCK_SECOND_PAGE, true);
    if (view.getUint32(e + BLOCK_FUNCTION, true) === 0) { expect(second).toBe(0); continue; }
    for (let b = 0; b < view.getUint8(e + BLOCK_REGION_BLOCKS); b++) {
      const word = view.getUint32(base + REGION_BLOCKS_OFFSET + i * REGION_BLOCKS_STRIDE + 4 * b, true);
      const page = word & REGION_BLOCK_IN_SECOND_PAGE ? second - 1 : view.getUint32(e + BLOCK_PHYSICAL, true) >>> 12;
      const from = word & 0xfff, to = from + (word >>> 16);
      for (let c = Math.max(from - 3, 0) >> 6; c <= (to - 1) >> 6; c++) mark(page, c);
      if (from < 3 && page > 0) mark(page - 1, 63);
    }
  }
  return masks;
}
// (with paging, the page tables withPaging() writes at 2 MiB are watched whole by the shadow MMU instead)
const PAGE_TABLES = [0x200, 0x201];
function expectMasksOfCompiledBlocks(cpu: TestCpu): void {
  const expected = expectedMasks(cpu), view = new DataView(cpu.core.memory.buffer), at = cpu.core.codePageMasks();
  const paging = (cpu.vmcs(L.G_CR0) & 0x80000000) !== 0;
  for (let page = 0; page < cpu.core.ramSize() >>> 12; page++) {
    if (paging && PAGE_TABLES.includes(page)) continue;
    expect(view.getBigUint64(at + page * 8, true), `page ${page.toString(16)}`).toBe(expected.get(page) ?? 0n);
  }
}
// The compiled entries whose regions hold blocks of a second page.
function twoPageRegions(cpu: TestCpu): number {
  const view = new DataView(cpu.core.memory.buffer), base = cpu.core.blockCacheBase();
  let n = 0;
  for (let i = 0; i < BLOCK_CACHE_ENTRIES; i++) {
    const e = base + i * BLOCK_ENTRY_SIZE;
    if (view.getUint32(e + BLOCK_FUNCTION, true) !== 0 && view.getUint32(e + BLOCK_SECOND_PAGE, true) !== 0) n++;
  }
  return n;
}

describe("which blocks of other pages a region holds", () => {
  const code = new Uint8Array(0x20000), bytes = assemble(THREE_PAGES);
  code.set(bytes, CODE_BASE);
  const loop = CODE_BASE + 10, f = CODE_BASE + 0x1000, g = CODE_BASE + 0x2000;
  const env = (paging: boolean): TranslateEnv => ({
    code, eip: loop, physical: loop, paging, cpl: 0, ramBase: 0x10000, ramSize: code.length, codePageMasks: 0, regs: 0x1000,
    links: new RegionImports().links, reached: () => true, lastIndirectTarget: (site) => (site === loop + 2 + 5 + 2 ? g : undefined),
  });

  it("paging off: the function called on a second page, with its RET; not the one on a third", () => {
    const t = translateBlock(env(false))!;
    expect(t.inner).toEqual(expect.arrayContaining([loop, f]));
    expect(t.blocks.filter((b) => b.physical >>> 12 === f >>> 12).length).toBe(3); // f's LEA..JB, its ADD, its RET
    expect(t.inner).not.toContain(g);
    expect(new Set(t.blocks.map((b) => b.physical >>> 12))).toEqual(new Set([loop >>> 12, f >>> 12]));
  });

  it("paging on (another page's linear address may map anywhere): the first block's page alone", () => {
    const t = translateBlock(env(true))!;
    expect(t.blocks.every((b) => b.physical >>> 12 === loop >>> 12)).toBe(true);
    expect(t.inner).not.toContain(f);
  });
});

describe("a loop calling functions on other pages", () => {
  it("the interpreter's end state, paging off and on; the core's masks mark both pages", () => {
    for (const setup of [() => {}, withPaging]) {
      const both = runBoth(THREE_PAGES, setup);
      expectAgreement(both, L.EXIT_HLT);
      expectMasksOfCompiledBlocks(both.compiled.cpu);
      expect(twoPageRegions(both.compiled.cpu) > 0).toBe(setup !== withPaging);
    }
  });

  it.each([3, 7, 97, 1000, 4093])("slices of %i: the interpreter's state at the end of each", (slice) => {
    expect(twoPageRegions(expectSameSlices(THREE_PAGES, slice))).toBeGreaterThan(0);
  });
});

// The function on the second page (two pages on: the one between holds no code) is rewritten halfway (its ADD's immediate becomes 7) while the
// loop runs compiled, by a store the region compiles, by one the interpreter makes for it (REP
// STOSB, jitRepString), and by a dword store into the 3 bytes before the page that reaches the
// function's first two bytes (ADD becomes SUB), a page where no block lies: the new code must run
// from the next call on.
const rewriting = (store: string) => `mov $${CALLS}, %ecx\nmov $f, %edi\n1: mov %ecx, %eax\ncall f\nadd %eax, %ebx\ncmp $1000, %ecx\njne 2f
${store}\n2: dec %ecx\njnz 1b\nhlt\n.p2align 12, 0x90\n.skip 4096, 0x90\nf: add $3, %eax\nret`;
const STORES: [string, string][] = [
  ["a compiled byte store", "movb $7, f + 2"],
  ["REP STOSB, by the core", "push %ecx\npush %edi\nlea 2(%edi), %edi\nmov $1, %ecx\nmov $7, %al\nrep stosb\npop %edi\npop %ecx"],
  ["a dword store reaching it from the page before", "movl $0xe8839090, f - 2"],
];

describe("a store into a region's second page forgets it", () => {
  it.each(STORES)("%s: the new code runs, the masks follow", (_, store) => {
    const source = rewriting(store);
    for (const setup of [() => {}, withPaging]) {
      const both = runBoth(source, setup);
      expectAgreement(both, L.EXIT_HLT);
      expectMasksOfCompiledBlocks(both.compiled.cpu);
    }
    const compiled = runBoth(source).compiled.cpu;
    expect(twoPageRegions(compiled)).toBeGreaterThan(0);
  });

  it.each(STORES)("%s, slices of 97: the interpreter's state at the end of each", (_, store) => {
    expectSameSlices(rewriting(store), 97);
  });

  it("a write by the VMM (noteHostWrite): the region is forgotten and both masks cleared of it", () => {
    const cpu = new TestCpu(1 << 20, { jit: true });
    const source = `mov $${CALLS}, %ecx\n1: mov %ecx, %eax\ncall f\nadd %eax, %ebx\ndec %ecx\njnz 1b\nhlt\n.p2align 12, 0x90\nf: add $3, %eax\nret`;
    expect(cpu.exec(source, 1_000_000)).toBe(L.EXIT_HLT);
    expect(twoPageRegions(cpu)).toBeGreaterThan(0);
    const f = CODE_BASE + 0x1000;
    cpu.ram[f + 2] = 7;
    cpu.core.noteHostWrite(f + 2, 1);
    expect(twoPageRegions(cpu)).toBe(0);
    expectMasksOfCompiledBlocks(cpu);
  });
});

// The loop's entry is claimed by a hot block elsewhere (the same cache index: at the next page,
// its offset's low bit flipped, block-cache.ts entryFor): evicting the two-page region must take
// it off both pages' lists and clear its chunks from both masks (no other block of the function's
// page is compiled: the loop's region took the calls in before the function was hot), and a later
// rewrite of the function must still be seen.
describe("a two-page region evicted from its entry", () => {
  const loop = CODE_BASE + 0x10; // 1:, below; the colliding block at CODE_BASE + 0x1011
  const source = `mov $${CALLS}, %ecx\njmp 1f\n.org 0x10, 0x90\n1: call f\ndec %ecx\njnz 1b\nmov $${CALLS}, %ecx\njmp 3f
.org 0x1011, 0x90\n3: add $5, %ebx\ndec %ecx\njnz 3b\nmovb $7, f + 2\nmov $100, %ecx\n4: call f\ndec %ecx\njnz 4b\nhlt
.p2align 12, 0x90\nf: add $3, %eax\nret`;

  const FIRST_LOOPS = 2 + 5 * CALLS + 2 + 3 * CALLS; // instructions up to the store into f (CALL, ADD, RET, DEC, JNZ a round)

  it("leaves both pages' masks as the remaining blocks make them; the rewritten function runs", () => {
    expect(((loop ^ (loop >>> 12)) & 4095)).toBe(((loop + 0x1001) ^ ((loop + 0x1001) >>> 12)) & 4095);
    const [interpreted, compiled] = [false, true].map((jit) => {
      const cpu = new TestCpu(1 << 20, { jit });
      expect(cpu.exec(source, FIRST_LOOPS)).toBe(L.EXIT_PREEMPTION_TIMER);
      expect(cpu.eip).toBe(CODE_BASE + 0x1011 + 3 + 1 + 2); // after JNZ 3b
      if (jit) {
        expect(twoPageRegions(cpu)).toBe(0); // evicted
        const masks = cpu.core.codePageMasks(), view = new DataView(cpu.core.memory.buffer);
        expect(view.getBigUint64(masks + ((CODE_BASE + 0x2000) >>> 12) * 8, true)).toBe(0n); // f's page
        expectMasksOfCompiledBlocks(cpu);
      }
      expect(cpu.run(1_000_000)).toBe(L.EXIT_HLT);
      return { eax: cpu.reg("eax"), ebx: cpu.reg("ebx"), eip: cpu.eip, retired: cpu.core.instructionsRetired(), cpu };
    });
    expect({ ...compiled, cpu: 0 }).toEqual({ ...interpreted, cpu: 0 });
    expect(twoPageRegions(compiled.cpu)).toBeGreaterThan(0);
    expectMasksOfCompiledBlocks(compiled.cpu);
  });
});
