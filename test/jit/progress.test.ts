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

// Such a block rests after a few entries in a row that made no progress (assembly/jit/block-cache.ts
// MAX_STALLS, REST_ARRIVALS): it is entered for nothing only now and then, not every iteration.
it("a block that keeps leaving before its first instruction is left to the interpreter for a while", () => {
  const cpu = new TestCpu(1 << 20, { jit: true });
  const stalls = () => cpu.core.stalledBlockEntries();
  const loop = "mov $3000, %ecx\n1: movl %ecx, 0xb8000\nadd $1, %eax\ndec %ecx\njnz 1b\nhlt";
  expect(cpu.exec(loop, 100_000)).toBe(L.EXIT_HLT);
  expect(cpu.reg("eax")).toBe(3000);
  expect(cpu.compiler!.compiled).toBeGreaterThan(0);
  expect(stalls()).toBeGreaterThan(0);
  expect(stalls()).toBeLessThan(3000 / 20);
});

// The same with two stores that share one check: the range fails because the leading store itself
// cannot run compiled, which is a stall like any other (unlike a range that only straddles pages).
it("a shared check whose leading access cannot run compiled stalls, and the block rests", () => {
  const cpu = new TestCpu(1 << 20, { jit: true });
  const stalls = () => cpu.core.stalledBlockEntries();
  const loop = "mov $3000, %ecx\n1: movl %ecx, 0xb8000\nmovl %ecx, 0xb8004\nadd $1, %eax\ndec %ecx\njnz 1b\nhlt";
  expect(cpu.exec(loop, 100_000)).toBe(L.EXIT_HLT);
  expect(cpu.read32(0xb8004)).toBe(1);
  expect(cpu.compiler!.compiled).toBeGreaterThan(0);
  expect(stalls()).toBeGreaterThan(0);
  expect(stalls()).toBeLessThan(3000 / 20);
});

// Accesses that share one check (src/jit/access-checks.ts) span more than each of them: where the
// span straddles two pages and the leading access does not, the block leaves there but tells the
// core it was no stall. Counted as stalls, a sliding window (a[i] and a[i + 10]) would stall at
// every step near a page's end, and rest: ~7 times slower. (The interpreter then performs the
// leader, and compiled code resumes after it, in a block whose own leader misses the TLB once in
// each of the window's 16 pages: those few are stalls.)
it("a shared check that fails where the leading access alone passes is no stall", () => {
  const cpu = new TestCpu(4 << 20, { jit: true });
  const PD = 0x200000, PT = 0x201000;
  cpu.write32(PD, PT | 7);
  for (let i = 0; i < 1024; i++) cpu.write32(PT + i * 4, (i << 12) | 7);
  cpu.setVmcs(L.G_CR3, PD);
  cpu.setVmcs(L.G_CR0, 0x80000011);
  const window = "mov $20000, %ecx\nmov $0x100000, %ebx\n1: mov (%ebx), %eax\nadd 40(%ebx), %eax\nmov %eax, 4(%ebx)\nadd $4, %ebx\nand $0x10fffc, %ebx\ndec %ecx\njnz 1b\nhlt";
  expect(cpu.exec(window, 1_000_000)).toBe(L.EXIT_HLT);
  expect(cpu.compiler!.compiled).toBeGreaterThan(0);
  expect(cpu.core.stalledBlockEntries()).toBeLessThan(20);
});
