// A region that leaves by a branch goes on in the region compiled at its target with a tail call
// (src/jit/translate.ts emitLink) instead of returning to the core's run loop: a loop calling
// functions on other pages, directly, through a pointer and back by RET, must end as the
// interpreter ends it, at every slice boundary too (each link takes budget as the loop does), and
// the run loop must enter far fewer regions than the loop makes calls (the links did the rest).
// The last case rewrites a called function halfway: a link must not reach its stale region.
import { describe, it, expect } from "vitest";
import { runBoth, expectAgreement, expectSameSlices } from "./agreement";
import * as L from "../../assembly/vmcs-layout";

const CALLS = 3000;
// the loop on the first page; f (direct CALL) and g (through EDI) each on a page of its own (f joins
// the loop's region as its second page, cross-page-regions.test.ts; g, on a third, is reached by links)
const CROSS_PAGE = `mov $${CALLS}, %ecx\nmov $g, %edi\n1: mov %ecx, %eax\ncall f\nadd %eax, %ebx\ncall *%edi\nxor %eax, %esi\ndec %ecx\njnz 1b\nhlt
.p2align 12\nf: lea 3(%eax,%eax,2), %eax\nret
.p2align 12\ng: rol $5, %eax\nadd $0x9e37, %eax\nret`;

// the same loop, rewriting f's immediate (LEA's displacement) once, at the 1000th round
const PATCHED = `mov $${CALLS}, %ecx\n1: mov %ecx, %eax\ncall f\nadd %eax, %ebx\ncmp $1000, %ecx\njne 2f\nmovb $7, f + 3
2: dec %ecx\njnz 1b\nhlt
.p2align 12\nf: lea 3(%eax,%eax,2), %eax\nret`;

describe("links between regions", () => {
  it("calls and returns across pages: the interpreter's end state, with few entries from the run loop", () => {
    const both = runBoth(CROSS_PAGE);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.core.blockEntriesFromLoop()).toBeLessThan(CALLS / 10);
  });

  it.each([3, 7, 97, 1000, 4093])("slices of %i: the interpreter's state at the end of each", (slice) => {
    expectSameSlices(CROSS_PAGE, slice);
  });

  it("a called function rewritten halfway: the new code runs", () => {
    const both = runBoth(PATCHED);
    expectAgreement(both, L.EXIT_HLT);
  });
});
