// SYSENTER and SYSEXIT (assembly/cpu/sysenter.ts) against SDM Vol. 2B: the flat segments they
// load from IA32_SYSENTER_CS (SYSENTER: CS = MSR & 0xFFFC, SS = CS + 8, DPL 0; SYSEXIT: CS =
// (MSR + 16) | 3, SS = (MSR + 24) | 3, DPL 3), ESP and EIP from the MSRs (SYSEXIT: from ECX and
// EDX), the EFLAGS bits SYSENTER clears, and each #GP(0) with nothing changed. The fixture's GDT
// has ring-0 code and data at 0x08/0x10 and ring-3 code and data at 0x18/0x20, the layout both
// instructions assume (the descriptors themselves are not read).
import { describe, it, expect } from "vitest";
import { CODE_BASE } from "./harness";
import * as L from "../../assembly/vmcs-layout";
import { pmCpu, runAt, enterRing3, vectorTaken, stack, loadRing0, EXIT, SEL, RING0_CODE, RING3_STACK } from "./pm-fixture";
import type { TestCpu } from "./harness";

const KERNEL_STACK = 0x78000;
const IF = 0x200, RF = 0x10000, VM = 0x20000, CF = 1, ZF = 0x40, DF = 0x400;
const FLAT = { base: 0, limit: 0xffffffff };

function withMsrs(cpu: TestCpu, cs: number, esp = KERNEL_STACK, eip = RING0_CODE): TestCpu {
  cpu.setVmcs(L.G_MSR_SYSENTER_CS, cs);
  cpu.setVmcs(L.G_MSR_SYSENTER_ESP, esp);
  cpu.setVmcs(L.G_MSR_SYSENTER_EIP, eip);
  return cpu;
}

describe("SYSENTER", () => {
  it("enters ring 0 at the MSRs' EIP and ESP with flat CS and SS, clearing IF, RF and VM only", () => {
    const cpu = withMsrs(pmCpu(), SEL.CODE0 | 3); // the RPL bits of the MSR are dropped
    enterRing3(cpu);
    loadRing0(cpu, "movl %esp, %ebx\nhlt");
    cpu.eflags = 0x2 | IF | RF | CF | ZF | DF;
    expect(runAt(cpu, "sysenter")).toBe(EXIT.HLT);
    expect(cpu.eip).toBe(RING0_CODE + 2);
    expect(cpu.reg("ebx")).toBe(KERNEL_STACK);
    expect(cpu.eflags).toBe(0x2 | CF | ZF | DF);
    expect(cpu.segment(L.SR_CS)).toEqual({ selector: 0x08, ...FLAT, ar: 0xc09b });
    expect(cpu.segment(L.SR_SS)).toEqual({ selector: 0x10, ...FLAT, ar: 0xc093 });
    expect(cpu.vmcs(L.G_CPL)).toBe(0);
    // DS, ES, FS and GS are left as they were
    expect(cpu.segment(L.SR_DS).selector).toBe(SEL.DATA3);
  });

  it("clears VM as well (the image it would restore is gone)", () => {
    const cpu = withMsrs(pmCpu(), SEL.CODE0);
    loadRing0(cpu, "hlt");
    cpu.eflags = 0x2 | VM;
    expect(runAt(cpu, "sysenter")).toBe(EXIT.HLT);
    expect(cpu.eflags & VM).toBe(0);
  });

  it("raises #GP(0) when IA32_SYSENTER_CS[15:2] is zero, changing nothing", () => {
    for (const msr of [0, 3, 0x10000]) { // bits above 15 do not count
      const cpu = withMsrs(pmCpu(), msr);
      enterRing3(cpu);
      cpu.eflags = 0x2 | IF;
      expect(runAt(cpu, "sysenter")).toBe(EXIT.HLT);
      expect(vectorTaken(cpu)).toBe(13);
      // delivered from ring 3 through the TSS: error 0, EIP at SYSENTER, ring-3 CS, IF still set
      expect(stack(cpu, 6)).toEqual([0, CODE_BASE, SEL.CODE3, 0x2 | IF, RING3_STACK, SEL.DATA3]);
    }
  });

  it("raises #GP(0) in real-address mode", () => {
    const cpu = withMsrs(pmCpu(), SEL.CODE0);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13);
    cpu.setVmcs(L.G_CR0, 0x10);
    cpu.setSegment(L.SR_CS, 0, 0, 0xffff, 0x9b);
    cpu.setSegment(L.SR_SS, 0, 0, 0xffff, 0x93);
    cpu.setReg("esp", 0x8000);
    expect(runAt(cpu, "sysenter")).toBe(EXIT.EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(13);
    expect(cpu.vmcs(L.X_INTR_ERROR)).toBe(0);
    expect(cpu.eip).toBe(CODE_BASE);
    expect(cpu.reg("esp")).toBe(0x8000);
  });
});

describe("SYSEXIT", () => {
  it("returns to ring 3 at EDX with ESP = ECX, flat CS = MSR+16|3 and SS = MSR+24|3, EFLAGS kept", () => {
    const cpu = withMsrs(pmCpu(), SEL.CODE0);
    cpu.eflags = 0x2 | IF | CF;
    cpu.setReg("edx", CODE_BASE + 0x100);
    cpu.setReg("ecx", RING3_STACK - 0x40);
    cpu.load(CODE_BASE + 0x100, new Uint8Array([0x89, 0xe3, 0xf4])); // movl %esp, %ebx; hlt
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13); // HLT at ring 3 raises #GP: make it exit
    expect(runAt(cpu, "sysexit")).toBe(EXIT.EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(13);
    expect(cpu.eip).toBe(CODE_BASE + 0x102);
    expect(cpu.reg("ebx")).toBe(RING3_STACK - 0x40);
    expect(cpu.eflags).toBe(0x2 | IF | CF);
    expect(cpu.segment(L.SR_CS)).toEqual({ selector: 0x1b, ...FLAT, ar: 0xc0fb });
    expect(cpu.segment(L.SR_SS)).toEqual({ selector: 0x23, ...FLAT, ar: 0xc0f3 });
    expect(cpu.vmcs(L.G_CPL)).toBe(3);
  });

  it("round trip: SYSENTER, the kernel's SYSEXIT, back in ring 3 after the SYSENTER's return point", () => {
    const cpu = withMsrs(pmCpu(), SEL.CODE0);
    enterRing3(cpu);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13);
    loadRing0(cpu, "movl %esp, %esi\nmovl $0x1234, %eax\nsysexit");
    const source = "movl $1f, %edx\nmovl %esp, %ecx\nsysenter\n1: hlt";
    expect(runAt(cpu, source)).toBe(EXIT.EXCEPTION); // the HLT in ring 3
    expect(cpu.reg("eax")).toBe(0x1234);
    expect(cpu.reg("esi")).toBe(KERNEL_STACK);
    expect(cpu.reg("esp")).toBe(RING3_STACK);
    expect(cpu.segment(L.SR_CS).selector).toBe(SEL.CODE3);
    expect(cpu.segment(L.SR_SS).selector).toBe(SEL.DATA3);
  });

  it("raises #GP(0) at CPL 3, with a null IA32_SYSENTER_CS, and in real-address mode", () => {
    const ring3 = withMsrs(pmCpu(), SEL.CODE0);
    enterRing3(ring3);
    expect(runAt(ring3, "sysexit")).toBe(EXIT.HLT);
    expect(vectorTaken(ring3)).toBe(13);
    expect(stack(ring3, 3)).toEqual([0, CODE_BASE, SEL.CODE3]);

    const nullCs = withMsrs(pmCpu(), 2);
    expect(runAt(nullCs, "sysexit")).toBe(EXIT.HLT);
    expect(vectorTaken(nullCs)).toBe(13);
    expect(stack(nullCs, 3)).toEqual([0, CODE_BASE, SEL.CODE0]);

    const real = withMsrs(pmCpu(), SEL.CODE0);
    real.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13);
    real.setVmcs(L.G_CR0, 0x10);
    real.setSegment(L.SR_CS, 0, 0, 0xffff, 0x9b);
    real.setSegment(L.SR_SS, 0, 0, 0xffff, 0x93);
    expect(runAt(real, "sysexit")).toBe(EXIT.EXCEPTION);
    expect(real.vmcs(L.X_INTR_INFO) & 0xff).toBe(13);
    expect(real.eip).toBe(CODE_BASE);
  });
});
