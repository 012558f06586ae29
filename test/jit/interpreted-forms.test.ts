// The core counts, when asked, the forms its interpreter performs where compiled code could run
// (assembly/jit/interpreted-forms.ts; --stats and --stats-json show them): by opcode, with the
// operand-size and REP prefixes apart, whether the run loop or a block (in place) interpreted
// them, and nothing where compiled code may not run.
import { it, expect } from "vitest";
import { TestCpu } from "../core/harness";
import { readInterpretedForms } from "../../src/vmm/interpreted-forms";
import * as L from "../../assembly/vmcs-layout";

const ITERATIONS = 1000;
// BSF (0F BC) starts the loop, and the 16-bit PUSH and POP follow it: no block starts at any of the
// three, each found so only after 32 arrivals (block-cache.ts HOT_THRESHOLD); then ADD, DEC and
// JNZ are compiled once their block is hot, 32 arrivals later.
const LOOP = `mov $${ITERATIONS}, %ecx\n1: bsf %eax, %ebx\npushw %ax\npopw %dx\nadd $1, %eax\ndec %ecx\njnz 1b\nhlt`;

function run(options: { jit: boolean; counting: boolean }) {
  const cpu = new TestCpu(1 << 20, { jit: options.jit });
  cpu.core.countInterpretedForms(options.counting ? 1 : 0);
  expect(cpu.exec(LOOP, 1_000_000)).toBe(L.EXIT_HLT);
  return readInterpretedForms(cpu.core);
}

it("counts every interpreted instruction of a form where compiled code could run, most frequent first", () => {
  const forms = run({ jit: true, counting: true });
  const count = (form: string) => forms.find((f) => f.form === form)?.count;
  expect(count("0F BC")).toBe(ITERATIONS);
  expect(count("66 50")).toBe(ITERATIONS);
  expect(count("66 5A")).toBe(ITERATIONS);
  expect(forms.find((f) => f.form === "0F BC")?.name).toBe("bsf Gv,Ev");
  // the compiled ones only while their block warmed up
  expect(count("83")).toBeLessThanOrEqual(4 * 32);
  expect(forms.map((f) => f.count)).toEqual(forms.map((f) => f.count).sort((a, b) => b - a));
});

it("counts nothing where compiled code may not run, or when not asked", () => {
  expect(run({ jit: false, counting: true })).toEqual([]);
  expect(run({ jit: true, counting: false })).toEqual([]);
});
