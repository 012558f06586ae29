// The core counts the instructions compiled blocks retire (STAT_COMPILED_INSTRUCTIONS, the share
// --stats shows): it must count exactly those, including across an exit delivered inside a block
// that then goes on, and nothing with the compiling tier off.
import { it, expect } from "vitest";
import { TestCpu, CODE_BASE, assemble } from "../core/harness";
import * as L from "../../assembly/vmcs-layout";

const compiledInstructions = (cpu: TestCpu) => cpu.vmcs(L.STAT_COMPILED_INSTRUCTIONS_LO) + cpu.vmcs(L.STAT_COMPILED_INSTRUCTIONS_LO + 4) * 2 ** 32;
const ITERATIONS = 10_000;
// Arrivals before a block is compiled (assembly/jit/block-cache.ts HOT_THRESHOLD), with room.
const WARM_UP = 40;

it("a hot loop's instructions are counted as compiled, all but its warm-up", () => {
  const cpu = new TestCpu(1 << 20, { jit: true });
  const loop = `mov $${ITERATIONS}, %ecx\n1: add $1, %eax\ndec %ecx\njnz 1b\nhlt`;
  expect(cpu.exec(loop, 1_000_000)).toBe(L.EXIT_HLT);
  const retired = cpu.core.instructionsRetired();
  expect(retired).toBe(1 + 3 * ITERATIONS); // the HLT exits before it retires
  const compiled = compiledInstructions(cpu);
  expect(compiled % 3).toBe(0); // whole iterations of the three-instruction block
  expect(compiled).toBeGreaterThanOrEqual(3 * (ITERATIONS - WARM_UP));
  expect(compiled).toBeLessThan(retired);
});

it("nothing is counted with the compiling tier off", () => {
  const cpu = new TestCpu(1 << 20, { jit: false });
  expect(cpu.exec(`mov $${ITERATIONS}, %ecx\n1: add $1, %eax\ndec %ecx\njnz 1b\nhlt`, 1_000_000)).toBe(L.EXIT_HLT);
  expect(cpu.core.instructionsRetired()).toBe(1 + 3 * ITERATIONS);
  expect(compiledInstructions(cpu)).toBe(0);
});

/** A core whose VMM completes CPUID exits, counting them; `resumes(k)`: whether the k-th resumes the guest. */
function cpuidVmm(resumes: (k: number) => boolean = () => true): { cpu: TestCpu; exits: () => number } {
  let exits = 0;
  const cpu: TestCpu = new TestCpu(1 << 20, {
    jit: true,
    exitHandler: (reason) => {
      if (reason !== L.EXIT_CPUID) return false;
      exits++;
      cpu.eip = cpu.eip + cpu.vmcs(L.X_INSTRUCTION_LENGTH); // the VMM completes CPUID
      return resumes(exits);
    },
  });
  return { cpu, exits: () => exits };
}

it("an exit delivered inside a block counts the block's other instructions, not the exiting one", () => {
  const { cpu, exits } = cpuidVmm();
  expect(cpu.exec(`mov $${ITERATIONS}, %ecx\n1: cpuid\nadd $1, %esi\ndec %ecx\njnz 1b\nhlt`, 1_000_000)).toBe(L.EXIT_HLT);
  expect(exits()).toBe(ITERATIONS);
  expect(cpu.reg("esi")).toBe(ITERATIONS);
  const retired = cpu.core.instructionsRetired();
  expect(retired).toBe(1 + 3 * ITERATIONS); // an exiting CPUID does not retire: the VMM emulates it
  const compiled = compiledInstructions(cpu);
  expect(compiled % 3).toBe(0);
  expect(compiled).toBeGreaterThanOrEqual(3 * (ITERATIONS - WARM_UP));
  expect(compiled).toBeLessThan(retired);
});

it("an exit that ends the run inside a block, instructions after it: the count stays exact", () => {
  const { cpu, exits } = cpuidVmm((k) => k % 100 !== 0); // every 100th exit returns from run(), inside the block
  cpu.load(CODE_BASE, assemble(`mov $${ITERATIONS}, %ecx\n1: add $1, %esi\ncpuid\nadd $1, %edi\ndec %ecx\njnz 1b\nhlt`));
  cpu.eip = CODE_BASE;
  while (cpu.run(1_000_000) === L.EXIT_CPUID);
  expect(exits()).toBe(ITERATIONS);
  const retired = cpu.core.instructionsRetired();
  expect(retired).toBe(1 + 4 * ITERATIONS);
  const compiled = compiledInstructions(cpu);
  expect(compiled).toBeLessThanOrEqual(retired); // a double refund would wrap it past 2^32
  expect(compiled).toBeGreaterThanOrEqual(4 * (ITERATIONS - WARM_UP * 2));
});

// Compiled code resumes after any instruction the interpreter performs where it stopped, not
// only at the next branch: here each iteration starts with forms no block starts with (PUSHF, and
// POPF, which may change IF) and holds one no block holds (CLI is never interpreted in place),
// and the rest of the loop still runs compiled.
it("compiled code resumes right after an instruction it left to the interpreter", () => {
  const cpu = new TestCpu(1 << 20, { jit: true });
  const body = "add $1, %eax\nxor %eax, %ebx\nadd %ebx, %esi\nrol $3, %edi\nadd %esi, %edi\n";
  const loop = `mov $${ITERATIONS}, %ecx\n1: pushf\npopf\n${body}cli\n${body}dec %ecx\njnz 1b\nhlt`;
  expect(cpu.exec(loop, 1_000_000)).toBe(L.EXIT_HLT);
  const retired = cpu.core.instructionsRetired();
  expect(retired).toBe(1 + 15 * ITERATIONS);
  // nearly all of the 12 others, warm-ups aside (before, none: the interpreter ran to the next branch)
  expect(compiledInstructions(cpu)).toBeGreaterThan(11 * ITERATIONS);
  expect(compiledInstructions(cpu)).toBeLessThanOrEqual(12 * ITERATIONS);
});
