// The interrupt-flag modes in the core (docs/design.md, assembly/cpu/ifmode.ts): under vt the guest
// owns IF; under trap CLI/STI/PUSHF/POPF/IRET exit with reasons 0x100-0x104 before executing and
// emulate() completes them; under classic the kernel is deprivileged: CLI/STI raise #GP, POPF and
// IRET keep the real IF, SGDT/SIDT/SLDT/STR/SMSW show the VMM's values, and the kernel is shown ring 1.
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

describe("classic mode's ring compression: the kernel is shown ring 1 (ifmode.ts)", () => {
  it("MOV from CS/SS and PUSH CS/SS give RPL 1, LAR DPL 1; under vt RPL and DPL 0", () => {
    for (const mode of [L.IF_MODE_CLASSIC, L.IF_MODE_VT]) {
      const cpu = cpuIn(mode);
      expect(cpu.exec("mov %cs, %eax\nmov %ss, %ebx\npush %cs\npop %ecx\npush %ss\npop %edx\nlar %eax, %esi\nmov %ds, %edi\nhlt")).toBe(L.EXIT_HLT);
      const rpl = mode === L.IF_MODE_CLASSIC ? 1 : 0;
      expect([cpu.reg("eax"), cpu.reg("ebx"), cpu.reg("ecx") & 0xffff, cpu.reg("edx") & 0xffff]).toEqual([0x08 | rpl, 0x10 | rpl, 0x08 | rpl, 0x10 | rpl]);
      expect((cpu.reg("esi") >>> 13) & 3).toBe(rpl); // LAR of the selector as read: valid, DPL as shown
      expect(cpu.reg("edi")).toBe(0x10); // data segments are as the kernel loaded them
    }
  });

  it("a selector with RPL 1 handed back at CPL 0 means ring 0: segment loads, LRET, IRET, far JMP and CALL stay at CPL 0", () => {
    const cpu = cpuIn(L.IF_MODE_CLASSIC);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 0xffffffff); // any fault would end the run as an exception exit
    const program = [
      "mov %ss, %eax", "mov %eax, %ss", "mov %eax, %ds", // 0x11
      "push %cs", "push $1f", "lret", "1:",
      "pushf", "push %cs", "push $2f", "iret", "2:",
      "push %cs", "push $3f", "ljmp *(%esp)", "3:", "add $8, %esp",
      "mov %cs, %ebx", "push %ebx", "push $5f", "lcall *(%esp)", "jmp 6f",
      "5:", "mov (%esp), %edx", "mov 4(%esp), %edi", "lret", // the return address as a far call pushed it
      "6:", "add $8, %esp", "hlt",
    ].join("\n");
    expect(cpu.exec(program)).toBe(L.EXIT_HLT);
    expect(cpu.vmcs(L.G_CPL)).toBe(0);
    expect([cpu.segment(L.SR_CS).selector, cpu.segment(L.SR_SS).selector, cpu.segment(L.SR_DS).selector]).toEqual([0x08, 0x10, 0x10]);
    expect(cpu.reg("edi")).toBe(0x09); // the CS that LCALL pushed carries RPL 1 as well
  });

  it("SLDT and STR show the VMM's selectors; under vt the guest's", () => {
    for (const mode of [L.IF_MODE_CLASSIC, L.IF_MODE_VT]) {
      const cpu = cpuIn(mode);
      cpu.setVmcs(L.C_VMM_LDTR, 0x0ff0);
      cpu.setVmcs(L.C_VMM_TR, 0x0ff8);
      cpu.setSegment(L.SR_TR, 0x28, 0x4000, 0x67, 0x8b);
      expect(cpu.exec("sldt %eax\nstr %ebx\nhlt")).toBe(L.EXIT_HLT);
      const classic = mode === L.IF_MODE_CLASSIC;
      expect([cpu.reg("eax"), cpu.reg("ebx")]).toEqual(classic ? [0x0ff0, 0x0ff8] : [0, 0x28]);
    }
  });
});
