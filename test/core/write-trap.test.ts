// The write trap (C_WRITE_TRAP_BASE/SIZE): writes into the range exit (EXIT_WRITE_TRAP, reason 48)
// before they happen, with the guest-physical address; reads do not exit; emulate() lets the one
// trapped write through. This is what `--vga-trap` is built on.
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE } from "./harness";
import * as L from "../../assembly/vmcs-layout";

function trapped(jit = false): TestCpu {
  const cpu = new TestCpu(1 << 20, { jit });
  cpu.setVmcs(L.C_WRITE_TRAP_BASE, 0xb8000);
  cpu.setVmcs(L.C_WRITE_TRAP_SIZE, 0x8000);
  return cpu;
}

describe("write trap", () => {
  it.each([
    ["movl $0x0741, 0xb8000", 0xb8000],
    ["movb $0x41, 0xbffff", 0xbffff],
    ["mov $0xb8010, %edi\nmovw $0x1f41, (%edi)", 0xb8010],
    ["mov $0xb8100, %esp\npush $1", 0xb80fc],
    ["mov $0xb8000, %edi\nmov $4, %ecx\nrep stosl", 0xb8000],
    ["addl $1, 0xb8004", 0xb8004],
  ])("%s exits before writing", (asm, address) => {
    const cpu = trapped();
    cpu.write32(address & ~3, 0x12345678);
    const before = cpu.read32(address & ~3);
    expect(cpu.exec(`${asm}\nhlt`)).toBe(L.EXIT_WRITE_TRAP);
    expect(cpu.qualification & 2).toBe(2);
    expect(cpu.vmcs(L.X_GUEST_PHYSICAL)).toBe(address);
    expect(cpu.read32(address & ~3)).toBe(before);
  });

  it("a write just below the range and any read do not exit", () => {
    const cpu = trapped();
    expect(cpu.exec("movl $1, 0xb7ffc\nmov 0xb8000, %eax\nhlt")).toBe(L.EXIT_HLT);
  });

  it("emulate() completes the trapped write and the guest runs on", () => {
    const cpu = trapped();
    expect(cpu.exec("movw $0x0741, 0xb8000\nmov $1, %eax\nhlt")).toBe(L.EXIT_WRITE_TRAP);
    expect(cpu.eip).toBe(CODE_BASE);
    expect(cpu.core.emulate()).toBe(L.EXIT_PREEMPTION_TIMER);
    expect(cpu.read8(0xb8000)).toBe(0x41);
    expect(cpu.run()).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax")).toBe(1);
  });

  it("compiled blocks leave trapped writes to the interpreter", () => {
    const cpu = trapped(true);
    const loop = "mov $100, %ecx\n1: add $1, %eax\ndec %ecx\njnz 1b\nmov %eax, 0xb8000\nhlt";
    expect(cpu.exec(loop)).toBe(L.EXIT_WRITE_TRAP);
    expect(cpu.reg("eax")).toBe(100);
    expect(cpu.compiler!.compiled).toBeGreaterThan(0);
  });
});
