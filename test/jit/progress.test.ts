// A compiled block whose first instruction cannot run compiled (here: a write into the VGA hole,
// which compiled code leaves to the interpreter) must hand that instruction to the interpreter
// rather than re-enter the block forever.
import { it, expect } from "vitest";
import { TestCpu } from "../core/harness";
import * as L from "../../assembly/vmcs-layout";

it("a block that side-exits at its first instruction does not hang the dispatcher", () => {
  const cpu = new TestCpu(1 << 20, { jit: true });
  const loop = "mov $200, %ecx\n1: movl %ecx, 0xb8000\nadd $1, %eax\ndec %ecx\njnz 1b\nhlt";
  expect(cpu.exec(loop, 100_000)).toBe(L.EXIT_HLT);
  expect(cpu.reg("eax")).toBe(200);
  expect(cpu.read32(0xb8000)).toBe(1);
  expect(cpu.compiler!.compiled).toBeGreaterThan(0);
});

// Such a block rests after a few entries in a row that made no progress (assembly/cpu/jit.ts
// MAX_STALLS, REST_ARRIVALS): it is entered for nothing only now and then, not every iteration.
it("a block that keeps leaving before its first instruction is left to the interpreter for a while", () => {
  const cpu = new TestCpu(1 << 20, { jit: true });
  const stalls = () => (cpu.core as unknown as { stalledBlockEntries(): number }).stalledBlockEntries();
  const loop = "mov $3000, %ecx\n1: movl %ecx, 0xb8000\nadd $1, %eax\ndec %ecx\njnz 1b\nhlt";
  expect(cpu.exec(loop, 100_000)).toBe(L.EXIT_HLT);
  expect(cpu.reg("eax")).toBe(3000);
  expect(cpu.compiler!.compiled).toBeGreaterThan(0);
  expect(stalls()).toBeGreaterThan(0);
  expect(stalls()).toBeLessThan(3000 / 20);
});
