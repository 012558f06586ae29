// Stores into 64-byte chunks that hold compiled code (src/jit/translate.ts requireNoCode): the
// block leaves before the instruction, and the interpreter makes the store with its write tracking
// (assembly/jit/code-pages.ts). Each loop here patches the immediate of a function compiled into
// its region, a new value every 64 rounds; a store compiled code made itself would leave the old
// immediate running, and the sum would differ from the interpreter's.
import { describe, it, expect } from "vitest";
import * as L from "../../assembly/vmcs-layout";
import { runBoth, expectAgreement, withPaging } from "./agreement";

const ROUNDS = 2000;
// `patch` stores EDX (the round count >> 6) into patched's immediate; the sum of what patched
// returned ends in EAX.
const loop = (patch: string, tail = "") => `mov $${ROUNDS}, %ecx\nxor %ebx, %ebx\n1: call patched\nadd %eax, %ebx\n` +
  `mov %ecx, %edx\nshr $6, %edx\n${patch}\ndec %ecx\njnz 1b\nmov %ebx, %eax\nhlt\n${tail}`;
const PATCHED = "patched: mov $0, %eax\nret";

// What the interpreter computes: each round adds the value the round before it stored.
let expected = 0;
for (let c = ROUNDS - 1; c >= 1; c--) expected += (c + 1) >> 6;

const STORES: [string, string][] = [
  // one store, checked alone
  ["a MOV", loop("mov %edx, patched + 1", PATCHED)],
  // ... in a region that calls the core (the interpreted BSF), where with paging each access
  // looks its page up in the TLB
  ["a MOV in a region that calls the core", loop("bsf %ecx, %edi\nmov %edx, patched + 1", PATCHED)],
  // a store sharing a check with a load before it through ESI (access-checks.ts): the load lies
  // in a chunk with no code, the store 33 bytes on, in patched's chunk (only the range's last
  // byte finds it)
  ["a store whose check a load in a chunk without code leads", loop("mov $data + 40, %esi\nmov (%esi), %eax\nmov %edx, 29(%esi)",
    `.balign 64\ndata: .fill 64, 1, 0\nnop\nnop\nnop\nnop\n${PATCHED}`)],
  // PUSH, ESP just past the immediate
  ["a PUSH", loop("mov %esp, %ebp\nmov $patched + 5, %esp\npush %edx\nmov %ebp, %esp", PATCHED)],
];

describe("a store into a chunk holding compiled code leaves the block, and the interpreter makes it", () => {
  it.each(STORES)("%s: the code it writes runs, as with the interpreter alone (paging off and on)", (_, source) => {
    for (const setup of [() => {}, withPaging]) {
      const both = runBoth(source, setup);
      expectAgreement(both, L.EXIT_HLT);
      expect(both.compiled.regs[0]).toBe(expected);
    }
  });

  it("a store of the value already there forgets nothing, and the loop ends as the interpreter's", () => {
    // the word shares its chunk with the loop's code
    const both = runBoth(`mov $3000, %ecx\nxor %ebx, %ebx\n1: add %ecx, %ebx\nmovl $7, word\ndec %ecx\njnz 1b\nhlt\nword: .long 7`);
    expectAgreement(both, L.EXIT_HLT);
  });
});
