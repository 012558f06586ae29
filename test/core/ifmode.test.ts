// The interrupt-flag modes in the core (docs/design.md, assembly/cpu/ifmode.ts): under vt the guest
// owns IF; under trap CLI/STI/PUSHF/POPF/IRET exit with reasons 0x100-0x104 before executing and
// emulate() completes them; under classic the kernel is deprivileged: CLI/STI raise #GP, POPF and
// IRET keep the real IF, SGDT/SIDT/SMSW show the VMM's values.
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE, FLAG } from "./harness";
import * as L from "../../assembly/vmcs-layout";

function cpuIn(mode: number, eflags = 0x2): TestCpu {
  const cpu = new TestCpu();
  cpu.setVmcs(L.C_IF_MODE, mode);
  cpu.eflags = eflags;
  return cpu;
}

describe("trap mode", () => {
  it.each([
    ["cli", L.EXIT_CLI, 4, 1],
    ["sti", L.EXIT_STI, 4, 1],
    ["pushf", L.EXIT_PUSHF, 4, 1],
    ["pushfw", L.EXIT_PUSHF, 2, 2],
    ["popf", L.EXIT_POPF, 4, 1],
    ["iret", L.EXIT_IRET, 4, 1],
  ])("%s exits before executing (reason %i, qualification %i)", (asm, reason, qual, length) => {
    const cpu = cpuIn(L.IF_MODE_TRAP, 0x202);
    const esp = cpu.reg("esp");
    expect(cpu.exec(`${asm}\nhlt`)).toBe(reason);
    expect(cpu.qualification).toBe(qual);
    expect(cpu.vmcs(L.X_INSTRUCTION_LENGTH)).toBe(length);
    expect(cpu.eip).toBe(CODE_BASE);
    expect(cpu.eflags & FLAG.IF).toBe(FLAG.IF);
    expect(cpu.reg("esp")).toBe(esp);
  });

  it("emulate() completes the trapped CLI and the guest runs on to the next exit", () => {
    const cpu = cpuIn(L.IF_MODE_TRAP, 0x202);
    expect(cpu.exec("cli\nmov $7, %eax\nhlt")).toBe(L.EXIT_CLI);
    expect(cpu.core.emulate()).toBe(L.EXIT_PREEMPTION_TIMER);
    expect(cpu.eip).toBe(CODE_BASE + 1);
    expect(cpu.eflags & FLAG.IF).toBe(0);
    expect(cpu.run()).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax")).toBe(7);
  });

  it("emulate() of a trapped POPF applies the popped flags", () => {
    const cpu = cpuIn(L.IF_MODE_TRAP, 0x2);
    expect(cpu.exec("push $0x202\npopf\nhlt")).toBe(L.EXIT_POPF);
    expect(cpu.core.emulate()).toBe(L.EXIT_PREEMPTION_TIMER);
    expect(cpu.eflags & FLAG.IF).toBe(FLAG.IF);
  });

  it("nothing exits under vt", () => {
    const cpu = cpuIn(L.IF_MODE_VT, 0x202);
    expect(cpu.exec("cli\npushf\npop %eax\nsti\nhlt")).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax") & FLAG.IF).toBe(0);
    expect(cpu.eflags & FLAG.IF).toBe(FLAG.IF);
  });
});

describe("classic mode", () => {
  it.each([["cli"], ["sti"]])("%s at guest CPL 0 raises #GP(0)", (asm) => {
    const cpu = cpuIn(L.IF_MODE_CLASSIC, 0x202);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13);
    expect(cpu.exec(`${asm}\nhlt`)).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO)).toBe((0x80000000 | 0x800 | 0x300 | 13) >>> 0);
    expect(cpu.vmcs(L.X_INTR_ERROR)).toBe(0);
    expect(cpu.eip).toBe(CODE_BASE);
  });

  it("POPF silently keeps the real IF, and PUSHF shows it", () => {
    const cpu = cpuIn(L.IF_MODE_CLASSIC, 0x202);
    expect(cpu.exec("push $0x2\npopf\npushf\npop %eax\nhlt")).toBe(L.EXIT_HLT);
    expect(cpu.eflags & FLAG.IF).toBe(FLAG.IF);
    expect(cpu.reg("eax") & FLAG.IF).toBe(FLAG.IF);
  });

  it("SGDT, SIDT and SMSW reveal the VMM's values; under vt they show the guest's", () => {
    for (const mode of [L.IF_MODE_CLASSIC, L.IF_MODE_VT]) {
      const cpu = cpuIn(mode);
      cpu.setVmcs(L.C_VMM_GDTR_BASE, 0xffc00000);
      cpu.setVmcs(L.C_VMM_GDTR_LIMIT, 0x3ff);
      cpu.setVmcs(L.C_VMM_IDTR_BASE, 0xffc01000);
      cpu.setVmcs(L.C_VMM_IDTR_LIMIT, 0x7ff);
      cpu.setVmcs(L.C_VMM_CR0, 0x8005003b);
      cpu.setVmcs(L.G_IDTR_BASE, 0x3000);
      cpu.setVmcs(L.G_IDTR_LIMIT, 0xff);
      expect(cpu.exec("sgdt 0x5000\nsidt 0x5010\nsmsw %eax\nhlt")).toBe(L.EXIT_HLT);
      const classic = mode === L.IF_MODE_CLASSIC;
      expect(cpu.read32(0x5002)).toBe(classic ? 0xffc00000 : 0x800);
      expect(cpu.read32(0x5012)).toBe(classic ? 0xffc01000 : 0x3000);
      expect(cpu.read8(0x5010) | (cpu.read8(0x5011) << 8)).toBe(classic ? 0x7ff : 0xff);
      expect(cpu.reg("eax")).toBe(classic ? 0x8005003b : 0x11);
    }
  });
});
