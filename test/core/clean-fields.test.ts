// The clean-fields bits (C_CLEAN_FIELDS): VM entry keeps what the core derived from a group of
// fields only while the group's bit is set. The core sets every bit at exit; a write through the
// VMM's accessor clears its group's bit, so a change the VMM makes between exits is seen by the
// guest at the next entry, for every group. Each test stops the guest at a HLT, makes the change
// (after an entry that let the core derive the old state), and resumes after the HLT.
import { describe, it, expect } from "vitest";
import { TestCpu } from "./harness";
import * as L from "../../assembly/vmcs-layout";
import { Vmcs, cleanGroupOf } from "../../src/core/vmcs";

// Runs `source` to its first HLT, lets `change` edit the VMCS, then resumes after the HLT.
function resumeAfter(cpu: TestCpu, source: string, change: (cpu: TestCpu) => void): number {
  expect(cpu.exec(source)).toBe(L.EXIT_HLT);
  expect(cpu.vmcs(L.C_CLEAN_FIELDS)).toBe(L.CLEAN_ALL);
  change(cpu);
  cpu.eip = cpu.eip + 1;
  return cpu.run();
}

describe("clean fields", () => {
  it("segments: a new DS base is used after entry", () => {
    const cpu = new TestCpu();
    cpu.write32(0x3000, 0x11111111);
    cpu.write32(0x4000, 0x22222222);
    const reason = resumeAfter(cpu, "mov 0x3000, %eax\nhlt\nmov 0x3000, %ebx\nhlt", (c) => c.setSegment(L.SR_DS, 0x10, 0x1000, 0xffffffff, 0xc093));
    expect(reason).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax")).toBe(0x11111111);
    expect(cpu.reg("ebx")).toBe(0x22222222);
  });

  it("control registers: paging switched on by the VMM translates the next access", () => {
    const cpu = new TestCpu(8 << 20);
    const pd = 0x200000, pt = 0x201000;
    cpu.write32(pd, pt | 3);
    for (let i = 0; i < 1024; i++) cpu.write32(pt + i * 4, (i << 12) | 3);
    cpu.write32(pt + 5 * 4, 0x6000 | 3); // linear 0x5000 -> physical 0x6000
    cpu.write32(0x5000, 0x55555555);
    cpu.write32(0x6000, 0x66666666);
    cpu.setVmcs(L.G_CR3, pd);
    const reason = resumeAfter(cpu, "mov 0x5000, %eax\nhlt\nmov 0x5000, %ebx\nhlt", (c) => c.setVmcs(L.G_CR0, c.vmcs(L.G_CR0) | 0x80000000));
    expect(reason).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax")).toBe(0x55555555);
    expect(cpu.reg("ebx")).toBe(0x66666666);
  });

  it("controls: an interrupt-flag mode set by the VMM traps the next CLI", () => {
    const cpu = new TestCpu();
    expect(resumeAfter(cpu, "cli\nhlt\ncli\nhlt", (c) => c.setVmcs(L.C_IF_MODE, L.IF_MODE_TRAP))).toBe(L.EXIT_CLI);
  });

  it("controls: a write trap set by the VMM catches the next write", () => {
    const cpu = new TestCpu();
    const reason = resumeAfter(cpu, "movl $1, 0xb8000\nhlt\nmovl $2, 0xb8000\nhlt", (c) => {
      c.setVmcs(L.C_WRITE_TRAP_BASE, 0xb8000);
      c.setVmcs(L.C_WRITE_TRAP_SIZE, 0x1000);
    });
    expect(reason).toBe(L.EXIT_WRITE_TRAP);
    expect(cpu.read32(0xb8000)).toBe(1);
  });

  it("controls: turning the compiling tier off stops block compilation at the next entry", () => {
    const cpu = new TestCpu(1 << 20, { jit: true });
    const compiledBlocks = () => cpu.core.compiledBlocks();
    const loop = "mov $200, %ecx\n1: add $1, %eax\ndec %ecx\njnz 1b\n";
    const reason = resumeAfter(cpu, `${loop}hlt\n${loop.replace("1", "2").replace("1b", "2b")}hlt`, (c) => {
      expect(compiledBlocks()).toBeGreaterThan(0);
      c.setVmcs(L.C_JIT, 0);
    });
    expect(reason).toBe(L.EXIT_HLT);
    expect(compiledBlocks()).toBe(1);
  });

  it("a write clears only its own group's bit; registers and EIP belong to none", () => {
    const vmcs = new Vmcs(new Int32Array(L.VMCS_SIZE >> 2));
    const cases: [number, number][] = [
      [L.G_SEG + L.SR_ES * L.SEG_STRIDE + L.SEG_SEL, L.CLEAN_SEGMENTS],
      [L.G_SEG + L.SR_TR * L.SEG_STRIDE + L.SEG_AR, L.CLEAN_SEGMENTS],
      [L.G_CR0, L.CLEAN_CONTROL_REGS], [L.G_CR3, L.CLEAN_CONTROL_REGS], [L.G_CR4, L.CLEAN_CONTROL_REGS],
      [L.C_IF_MODE, L.CLEAN_CONTROLS], [L.C_JIT, L.CLEAN_CONTROLS],
      [L.C_WRITE_TRAP_BASE, L.CLEAN_CONTROLS], [L.C_WRITE_TRAP_SIZE, L.CLEAN_CONTROLS],
      [L.G_EFLAGS, L.CLEAN_ENTRY_STATE], [L.G_ACTIVITY, L.CLEAN_ENTRY_STATE], [L.G_INTERRUPTIBILITY, L.CLEAN_ENTRY_STATE],
      [L.E_INTR_INFO, L.CLEAN_ENTRY_STATE], [L.C_PRIMARY, L.CLEAN_ENTRY_STATE],
      [L.G_REGS, 0], [L.G_EIP, 0], [L.G_CR2, 0], [L.G_GDTR_BASE, 0], [L.C_PREEMPTION_TIMER, 0],
    ];
    for (const [offset, group] of cases) {
      expect(cleanGroupOf(offset)).toBe(group);
      vmcs.set(L.C_CLEAN_FIELDS, L.CLEAN_ALL);
      vmcs.set(offset, 1);
      expect(vmcs.get(L.C_CLEAN_FIELDS)).toBe(L.CLEAN_ALL & ~group);
    }
    vmcs.set(L.C_CLEAN_FIELDS, L.CLEAN_ALL);
    vmcs.setSegment(L.SR_FS, { selector: 0, base: 0, limit: 0, ar: L.AR_UNUSABLE });
    expect(vmcs.get(L.C_CLEAN_FIELDS)).toBe(L.CLEAN_ALL & ~L.CLEAN_SEGMENTS);
  });
});
