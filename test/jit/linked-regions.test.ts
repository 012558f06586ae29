// A region does not take in the blocks of a region of many blocks already compiled at an edge's
// target (src/jit/region.ts LINKED_REGION_BLOCKS): the edge leaves for it, linked, instead of
// compiling those blocks again; but a CALL's callee is taken in whatever its size. Each guest
// must still end as the interpreter does, at every slice boundary too.
import { describe, it, expect } from "vitest";
import { runBoth, expectAgreement, expectSameSlices, withPaging } from "./agreement";
import * as L from "../../assembly/vmcs-layout";

// An inner loop of 11 blocks (five bit tests, each taken and not, then the loop's end), hot and
// compiled within the first outer round; the outer rounds' code gets hot later and reaches it
// by `enter`: a JMP, or a CALL with the loop ending in RET.
const nested = (enter: "jmp" | "call") => `mov $60, %edx\n5: mov $100, %ecx\n${enter} 6f\n${enter === "call" ? "" : "7: "}dec %edx\njnz 5b\nhlt
6: ${[1, 2, 4, 8, 16].map((bit, k) => `test $${bit}, %ecx\njz ${k + 1}f\nadd $${bit}, %ebx\n${k + 1}: rol $1, %ebx\n`).join("")}dec %ecx\njnz 6b
${enter === "call" ? "ret" : "jmp 7b"}`;
const INNER_BLOCKS = 11;

describe("regions linked to a region compiled at an edge's target", () => {
  it.each([
    ["paging off", () => {}],
    ["paging on", withPaging],
  ] as const)("a JMP into the inner loop's region leaves for it: its blocks are compiled once (%s)", (_, setup) => {
    const both = runBoth(nested("jmp"), setup);
    expectAgreement(both, L.EXIT_HLT);
    const compiler = both.compiled.cpu.compiler!;
    expect(compiler.compiled).toBeGreaterThan(1); // the outer rounds' code got a region of its own
    expect(compiler.blocksCompiled()).toBeLessThan(2 * INNER_BLOCKS);
  });

  it("a CALL of the inner loop takes its blocks in again (a callee stays in its callers' regions)", () => {
    const both = runBoth(nested("call"));
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.compiler!.blocksCompiled()).toBeGreaterThanOrEqual(2 * INNER_BLOCKS);
  });

  it.each([5, 97, 1000])("slices of %i: the interpreter's state at the end of each", (slice) => {
    expectSameSlices(nested("jmp"), slice);
  });
});
