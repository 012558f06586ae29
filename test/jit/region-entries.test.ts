// A block that gets hot while it is a block (not the first) of a region still compiled is entered
// there (src/jit/block-compiler.ts, the module's export b${k}) instead of being compiled as the
// first of a region of its own. The entry must then run as the interpreter does, at every slice
// boundary too, and be forgotten with the region when any of the region's blocks is rewritten,
// even one it does not start at (it may branch there inside the function).
import { describe, it, expect } from "vitest";
import { runBoth, expectAgreement, expectSameSlices, withPaging } from "./agreement";
import { Code, Op, encodeModule } from "../../src/jit/wasm-module";
import * as L from "../../assembly/vmcs-layout";

const ROUNDS = 3000;
// The loop's region (at 1, hot first: each round arrives there first) holds the block at 2 (JMP
// from 3); odd rounds reach 2 by a RET that leaves the region (2 is no CALL's return address), so
// the core arrives at 2 on its own.
const loop = (patch = "") => `mov $${ROUNDS}, %ecx\njmp 1f\n1: mov %ecx, %eax\nand $1, %eax\njz 3f\npush $2f\nret
3: add $5, %ebx\njmp 2f\n2: add %ecx, %ebx\nrol $3, %ebx\n${patch}dec %ecx\njnz 1b\nhlt`;
// halfway, the ADD's immediate at 3 becomes 7 (a block of the region that the entry at 2 does not start at)
const PATCHED = loop("cmp $1500, %ecx\njne 4f\nmovb $7, 3b + 2\n4: ");

describe("blocks entered in a region compiled at another", () => {
  it("the hot block inside the loop's region enters it there: the interpreter's end state, no region of its own", () => {
    const both = runBoth(loop());
    expectAgreement(both, L.EXIT_HLT);
    const compiler = both.compiled.cpu.compiler!;
    expect(compiler.entered).toBeGreaterThan(0);
    expect(compiler.compiled).toBe(1);
  });

  it.each([3, 7, 97, 1000, 4093])("slices of %i: the interpreter's state at the end of each", (slice) => {
    expectSameSlices(loop(), slice);
  });

  it("a block of the region rewritten halfway: the entry at another block runs the new code", () => {
    const both = runBoth(PATCHED);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.compiler!.entered).toBeGreaterThan(0);
  });

  it("a block of a region forgotten since gets hot: compiled anew, not entered in the stale region", () => {
    const both = runBoth(STALE);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.compiler!.entered).toBe(0);
  });
});

// With paging on a region's blocks share its first block's page: the entered block's own entry
// validates its translation, as the region's entry does for the region.
describe("blocks entered in a region compiled at another, paging on", () => {
  it("the hot block inside the loop's region enters it there", () => {
    const both = runBoth(loop(), withPaging);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.compiler!.entered).toBeGreaterThan(0);
    expect(both.compiled.cpu.compiler!.compiled).toBe(1);
  });

  it("a block of the region rewritten halfway: the entry at another block runs the new code", () => {
    const both = runBoth(PATCHED, withPaging);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.compiler!.entered).toBeGreaterThan(0);
  });
});

// The loop's region (at 1) holds the function at 2, which the core has not seen since (31
// arrivals, one short of compiling it); after the loop, 2's ROL is rewritten (the region is
// forgotten), then 2 is reached by RETs from the core: compiled, it must be of the new bytes,
// not the stale region's.
const STALE = `mov $100, %ecx\njmp 1f\n1: mov %ecx, %eax\ncall 2f\ndec %ecx\njnz 1b\nmovb $5, 3f + 2
mov $100, %edx\n6: push $7f\npush $2f\nret\n7: dec %edx\njnz 6b\nhlt\n2: add %ecx, %ebx\n3: rol $3, %ebx\nret`;

describe("a region module's entries", () => {
  it("each export tail-calls the body with its arguments", () => {
    const body = new Code(), start = body.param(), entry = body.param();
    body.get(start).i32(100).op(Op.I32Mul).get(entry).op(Op.I32Add).globalSet(0);
    const memory = new WebAssembly.Memory({ initial: 0 }), result = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
    const module = new WebAssembly.Module(encodeModule({ globals: [{ name: "result" }], functions: [], body, entries: [[0, 7], [2, 9]] }));
    const exports = new WebAssembly.Instance(module, { core: { memory, result } }).exports as Record<string, () => void>;
    exports.b1();
    expect(result.value).toBe(209);
    exports.b0();
    expect(result.value).toBe(7);
  });

  it("parameters come before locals", () => {
    const c = new Code();
    c.local();
    expect(() => c.param()).toThrow();
  });
});

// The same with the entered block on the region's second page (a function its loop calls, one page
// on): the entry at it is described with that page first and the loop's page second, so the patch
// on the loop's page, into a block the entry does not start at, still forgets it.
const ON_TWO_PAGES = (patch = "") => `mov $${ROUNDS}, %ecx\njmp 1f\n1: mov %ecx, %eax\nand $1, %eax\njz 3f\npush $4f\npush $2f\nret
3: add $5, %ebx\ncall 2f\n4: ${patch}dec %ecx\njnz 1b\nhlt\n.org 0x1000, 0x90\n2: add %ecx, %ebx\nrol $3, %ebx\nret`;

describe("a block entered in a region on its second page", () => {
  it("is entered there, and a block on the region's first page rewritten halfway forgets it", () => {
    const plain = runBoth(ON_TWO_PAGES());
    expectAgreement(plain, L.EXIT_HLT);
    expect(plain.compiled.cpu.compiler!.entered).toBeGreaterThan(0);
    const both = runBoth(ON_TWO_PAGES("cmp $1500, %ecx\njne 5f\nmovb $7, 3b + 2\n5: "));
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.compiler!.entered).toBeGreaterThan(0);
  });
});
