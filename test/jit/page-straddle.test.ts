// A block's last instruction may run into the next page when paging is off (src/jit/decode.ts):
// a loop whose branch straddles two pages stays compiled, and the bytes in the next page, which
// write tracking does not cover, are compared before the instruction runs, so rewriting them
// takes effect at once.
import { describe, it, expect } from "vitest";
import { CODE_BASE, assemble } from "../core/harness";
import * as L from "../../assembly/vmcs-layout";
import { runBoth, expectAgreement, withPaging } from "./agreement";

const ROUNDS = 3000;
const PAGE_END = CODE_BASE + 0x1000;

// A loop whose instruction `straddling` starts `before` bytes ahead of the page's end, the loop's
// other instructions ahead of it; `last` follows it (in the next page), then HLT.
function program(straddling: string, before: number, body: string, last = "dec %ecx\njnz 1b"): string {
  return `mov $${ROUNDS}, %ecx\nxor %eax, %eax\nmov $1, %ebx\njmp 1f\n.org 0xff0, 0x90\n1: ${body}\n` +
    `.org 0x1000 - ${before}, 0x90\n${straddling}\n${last}\nhlt`;
}
const compiledShare = (run: ReturnType<typeof runBoth>["compiled"]) => run.cpu.vmcs(L.STAT_COMPILED_INSTRUCTIONS_LO) / run.retired;

// Each: the instruction across the boundary, how many of its bytes lie before it, its length.
const STRADDLING: [string, string, number, number, string][] = [
  ["JNZ rel8", "dec %ecx\nadd %ecx, %eax\nrol $3, %eax\ntest %ecx, %ecx", 1, 2, "jnz 1b"],
  ["JNZ rel32, 2 bytes before", "dec %ecx\nadd %ecx, %eax\nrol $3, %eax\ntest %ecx, %ecx", 2, 6, "jnz.d32 1b"],
  ["JNZ rel32, 5 bytes before", "dec %ecx\nadd %ecx, %eax\nrol $3, %eax\ntest %ecx, %ecx", 5, 6, "jnz.d32 1b"],
];

describe("a loop whose branch straddles two pages", () => {
  it.each(STRADDLING)("%s stays compiled, and agrees with the interpreter", (_, body, before, length, jump) => {
    const source = program(jump, before, body, "");
    const bytes = assemble(source);
    expect(bytes.length).toBeGreaterThan(0x1000 - before + length - 1); // laid out as meant: across
    const both = runBoth(source);
    expectAgreement(both, L.EXIT_HLT);
    expect(compiledShare(both.compiled)).toBeGreaterThan(0.95); // the branch is not left to the interpreter: 1 in 6-8
  });

  it("with paging on, it agrees too (left to the interpreter: the next page need not follow)", () => {
    const [, body, before, , jump] = STRADDLING[0];
    expectAgreement(runBoth(program(jump, before, body, ""), withPaging), L.EXIT_HLT);
  });
});

describe("the bytes of a straddling instruction in the next page", () => {
  // ADD EAX, imm32 with two bytes of its immediate in the next page; the loop increments the top
  // one every round (INC m8, compiled), so each round adds another value.
  const source = program("add $0x12345678, %eax", 3, `incb 0x${(PAGE_END + 1).toString(16)}\nrol $3, %eax`);

  it("rewritten in every round: each round runs the instruction as it is then", () => {
    const both = runBoth(source);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.regs[0]).toBe(both.interpreted.regs[0]);
  });

  it("rewritten by the VMM: the compiled loop runs the new bytes", () => {
    // Rounds of a loop that does not write them, then new immediate bytes written by the VMM (which
    // reports the write, as DMA does; the block's tracking covers its own page only), then the same
    // rounds again.
    const stable = program("add $0x12345678, %eax", 3, "rol $3, %eax");
    const results = [false, true].map((jit) => {
      const both = runBoth(stable);
      const cpu = jit ? both.compiled.cpu : both.interpreted.cpu;
      cpu.write8(PAGE_END + 1, 0x9a);
      cpu.write8(PAGE_END, 0xbc);
      cpu.setReg("ecx", ROUNDS);
      cpu.eip = CODE_BASE + 0xff0;
      expect(cpu.run(1_000_000)).toBe(L.EXIT_HLT);
      return cpu.reg("eax");
    });
    expect(results[1]).toBe(results[0]);
  });
});
