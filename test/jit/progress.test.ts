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
