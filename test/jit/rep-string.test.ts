// REP MOVS and REP STOS compiled as a call of the core's string function (assembly/jit/helpers.ts
// jitRepString), after which the block goes on: checked against the interpreter for every width,
// both directions, overlapping copies, a fault part-way and a budget that runs out part-way.
import { describe, it, expect } from "vitest";
import * as L from "../../assembly/vmcs-layout";
import { TestCpu } from "../core/harness";
import { readInterpretedForms } from "../../src/vmm/interpreted-forms";
import { DATA, withPaging, runBoth, expectAgreement, expectSameSlices } from "./agreement";

// 300 rounds of one block: the copies and fills vary in length with the round (EBX), and what they
// leave in ESI, EDI and ECX is folded into EBP; the data area holds what they wrote.
const ROUNDS = `xor %ebx, %ebx\nxor %ebp, %ebp\n1:\n` +
  `mov %ebx, %ecx\nand $31, %ecx\nlea ${DATA + 128}(%ebx), %esi\nand $0xfffffff7, %esi\nmov $${DATA}, %edi\nrep movsb\nadd %esi, %ebp\n` +
  // overlapping, the destination ahead of the source: byte by byte, never at once
  `mov %ebx, %ecx\nand $15, %ecx\nmov $${DATA}, %esi\nmov $${DATA + 1}, %edi\nrep movsb\nadd %edi, %ebp\n` +
  `mov %ebx, %ecx\nand $7, %ecx\nimul $0x01010101, %ebx, %eax\nmov $${DATA + 64}, %edi\nrep stosl\nadd %edi, %ebp\n` +
  `mov %ebx, %ecx\nand $7, %ecx\nmov $${DATA + 100}, %edi\nrep stosw\nadd %ecx, %ebp\n` +
  `mov %ebx, %ecx\nand $7, %ecx\nmov $${DATA + 160}, %esi\nmov $${DATA + 200}, %edi\nrep movsw\nadd %esi, %ebp\n` +
  `std\nmov %ebx, %ecx\nand $7, %ecx\nmov $${DATA + 250}, %esi\nmov $${DATA + 220}, %edi\nrep movsl\ncld\nadd %edi, %ebp\n` +
  `mov %ebx, %ecx\nand $3, %ecx\nmov $${DATA + 40}, %edi\nrep stosb\nrol $3, %ebp\n` +
  `inc %ebx\ncmp $300, %ebx\njb 1b\nhlt`;

describe.each([["paging off", () => {}], ["paging on", withPaging]])("REP MOVS and REP STOS in compiled blocks, %s", (_, setup) => {
  it("agree with the interpreter: every width, both directions, overlapping copies", () => {
    expectAgreement(runBoth(ROUNDS, setup), L.EXIT_HLT);
  });
});

it("no longer reach the interpreter once their block is compiled", () => {
  const cpu = new TestCpu(4 << 20, { jit: true });
  cpu.core.countInterpretedForms(1);
  expect(cpu.exec(ROUNDS, 5_000_000)).toBe(L.EXIT_HLT);
  const forms = readInterpretedForms(cpu.core);
  for (const form of ["F3 A4", "F3 A5", "F3 AA", "F3 AB"]) expect(forms.find((f) => f.form === form)?.count ?? 0).toBeLessThan(100);
});

// A budget running out part-way through a REP stops it where the interpreter would (its
// iterations are paid one by one), and the block leaves there: same state at every slice's end.
describe("a REP cut short by the budget", () => {
  it.each([7, 50, 333, 1000])("slices of %i instructions", (slice) => {
    expect(expectSameSlices(ROUNDS, slice).compiler!.compiled).toBeGreaterThan(0);
  });
});

// A copy that grows round by round until its source runs into an unmapped page: the #PF (an exit
// through the exception bitmap) comes part-way, with ESI, EDI and ECX showing the progress made.
it("a fault part-way leaves the registers as the interpreter does", () => {
  const unmapped = 0x30000;
  const source = `xor %ebx, %ebx\n1:\nmov %ebx, %ecx\nshr $2, %ecx\nmov $${unmapped - 0x100}, %esi\nmov $${DATA}, %edi\nrep movsl\n` +
    `add %ecx, %ebp\ninc %ebx\ncmp $300, %ebx\njb 1b\nhlt`;
  const setup = (cpu: TestCpu) => {
    withPaging(cpu);
    cpu.write32(0x201000 + (unmapped >> 12) * 4, 0);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 14);
  };
  const both = runBoth(source, setup);
  expectAgreement(both, L.EXIT_EXCEPTION);
  expect(both.compiled.regs[6]).toBe(unmapped); // ESI: at the first dword it could not read
});

// The last round's REP STOSB fills its own block with HLT bytes, from just before itself on. The
// interpreter decoded it once and goes on with it to the end of its slice; compiled, it must stop
// at the same iteration (paying from the budget its block prepaid for the instructions after it),
// not early and then be fetched again from the HLTs it wrote.
it("a REP writing over its own block and cut short by the budget stops where the interpreter's does", () => {
  const after = Array.from({ length: 20 }, (_, i) => `add $${i + 1}, %edx`).join("\n");
  const source = `mov $40, %ebx\nmov $0xf4, %al\n1:\nmov $${DATA}, %edi\nmov $16, %ecx\ncmp $1, %ebx\njne 2f\n` +
    `mov $2f - 8, %edi\nmov $64, %ecx\n2:\nrep stosb\n${after}\ndec %ebx\njnz 1b\nhlt`;
  for (const slice of [7, 30, 41, 50, 97]) expect(expectSameSlices(source, slice).compiler!.compiled).toBeGreaterThan(0);
});
