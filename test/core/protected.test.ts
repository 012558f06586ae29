// Protected-mode segmentation and control transfer (assembly/cpu/protected.ts), exercised through
// real instructions: segment loads and their faults (delivered through the fixture's IDT), far
// JMP/CALL/RETF directly and through call gates with the TSS stack switch, LLDT/LTR, LAR/LSL/VERR/VERW.
import { describe, it, expect } from "vitest";
import { CODE_BASE, GDT_BASE, assemble } from "./harness";
import * as L from "../../assembly/vmcs-layout";
import {
  pmCpu, runAt, enterRing3, loadRing0, vectorTaken, stack, resume, setGdt, handlerAddr,
  SEL, EXIT, FLAT_STACK, RING0_STACK, RING3_STACK, RING0_CODE,
} from "./pm-fixture";
import { descriptor } from "./harness";

// Run `source` at ring 0 (or ring 3) and expect exception `vector` with `error` at its first byte.
function expectFault(source: string, vector: number, error: number | null, ring3 = false, eax = 0) {
  const cpu = pmCpu();
  if (ring3) enterRing3(cpu);
  cpu.setReg("eax", eax);
  expect(runAt(cpu, source)).toBe(EXIT.HLT);
  expect(vectorTaken(cpu)).toBe(vector);
  const frame = stack(cpu, 6);
  const f = error === null ? frame : frame.slice(1);
  if (error !== null) expect(frame[0]).toBe(error);
  expect(f[0]).toBe(CODE_BASE); // faults restart the instruction
  expect(f[1]).toBe(ring3 ? SEL.CODE3 : SEL.CODE0);
  return cpu;
}

describe("segment register loads", () => {
  it("MOV SS faults with the SDM's error codes", () => {
    expectFault("mov %ax, %ss", 13, 0, false, 0); // null
    expectFault("mov %ax, %ss", 13, 0x10, false, 0x13); // RPL != CPL
    expectFault("mov %ax, %ss", 13, 0x08, false, 0x08); // code segment
    expectFault("mov %ax, %ss", 13, 0x50, false, 0x50); // read-only data (and DPL != CPL)
    expectFault("mov %ax, %ss", 13, 0x20, false, 0x20); // DPL 3 data at CPL 0
    expectFault("mov %ax, %ss", 12, 0x38, false, 0x38); // not present: #SS(sel)
    expectFault("mov %ax, %ss", 13, 0x1000, false, 0x1003); // beyond the GDT limit
    expectFault("mov %ax, %ss", 13, 0x0c, false, 0x0c); // LDT selector with no LDT loaded
  });

  it("a faulting MOV SS changes nothing", () => {
    const cpu = expectFault("mov %ax, %ss", 12, 0x38, false, 0x38);
    expect(cpu.segment(L.SR_SS).selector).toBe(SEL.DATA0);
    expect(cpu.reg("esp")).toBe(FLAT_STACK - 16);
  });

  it("MOV DS/ES faults: #NP when not present, #GP for execute-only code and privilege", () => {
    expectFault("mov %ax, %ds", 11, 0x38, false, 0x38);
    expectFault("mov %ax, %es", 13, 0x40, false, 0x40);
    expectFault("mov %ax, %fs", 13, 0x28, false, 0x28); // a TSS is not a data segment
    expectFault("mov %ax, %gs", 13, 0x88, false, 0x8b); // RPL 3 > DPL 1
    const cpu = expectFault("mov %ax, %ds", 13, 0x10, true, 0x13); // DPL 0 data from ring 3
    // delivered on the ring-0 stack from the TSS, with the ring-3 SS:ESP above the frame
    expect(cpu.reg("esp")).toBe(RING0_STACK - 24);
    expect(stack(cpu, 6).slice(4)).toEqual([RING3_STACK, SEL.DATA3]);
  });

  it("loads readable code and conforming code into data registers, sets the accessed bit", () => {
    const cpu = pmCpu();
    expect(cpu.read8(GDT_BASE + 0x10 + 5) & 1).toBe(0);
    expect(runAt(cpu, "mov $0x10, %ax\nmov %ax, %ds\nmov $0x08, %ax\nmov %ax, %es\nmov $0x30, %ax\nmov %ax, %fs\nhlt"))
      .toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(-1);
    expect(cpu.read8(GDT_BASE + 0x10 + 5) & 1).toBe(1);
    expect(cpu.segment(L.SR_DS)).toEqual({ selector: 0x10, base: 0, limit: 0xffffffff, ar: 0xc093 });
    expect(cpu.segment(L.SR_ES).ar).toBe(0xc09b);
    expect(cpu.segment(L.SR_FS).ar).toBe(0xc09f);
  });

  it("a null selector makes DS unusable; using it raises #GP(0)", () => {
    const cpu = pmCpu();
    expect(runAt(cpu, "xor %eax, %eax\nmov %ax, %ds\nmovl $0x100, %ebx\nhlt")).toBe(EXIT.HLT);
    expect(cpu.segment(L.SR_DS).ar & L.AR_UNUSABLE).toBeTruthy();
    const cpu2 = pmCpu();
    cpu2.setSegment(L.SR_DS, 0, 0, 0, L.AR_UNUSABLE);
    expect(runAt(cpu2, "movl (0x100), %ebx\nhlt")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu2)).toBe(13);
    expect(stack(cpu2, 2)).toEqual([0, CODE_BASE]);
  });

  it("POP SS and MOV SS load SS at CPL 3 with the right selector", () => {
    const cpu = pmCpu();
    enterRing3(cpu);
    expect(runAt(cpu, "pushl $0x23\npopl %ss\nmov $0x23, %ax\nmov %ax, %ss\nvmcall")).toBe(EXIT.VMCALL);
    expect(cpu.segment(L.SR_SS).selector).toBe(0x23);
    expect(cpu.reg("esp")).toBe(RING3_STACK);
  });

  it("LLDT, then loads through the LDT", () => {
    const cpu = pmCpu();
    cpu.write32(0x5010, 0xcafef00d);
    expect(runAt(cpu, "mov $0x58, %ax\nlldt %ax\nmov $0x0c, %ax\nmov %ax, %es\nmovl %es:(0x10), %ebx\nhlt")).toBe(EXIT.HLT);
    expect(cpu.reg("ebx")).toBe(0xcafef00d);
    expect(cpu.segment(L.SR_LDTR)).toEqual({ selector: 0x58, base: 0x3800, limit: 0x1f, ar: 0x82 });
    expect(cpu.segment(L.SR_ES).base).toBe(0x5000);
    expectFault("lldt %ax", 13, 0x10, false, 0x10); // not an LDT descriptor
  });

  it("LTR marks the TSS busy; loading a busy TSS faults", () => {
    const cpu = pmCpu();
    expect(runAt(cpu, "mov $0x68, %ax\nltr %ax\nhlt")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(-1);
    expect(cpu.segment(L.SR_TR)).toEqual({ selector: 0x68, base: 0x3100, limit: 0x67, ar: 0x8b });
    expect((cpu.read8(GDT_BASE + 0x68 + 5)) & 0xf).toBe(0xb);
    expectFault("ltr %ax", 13, 0x28, false, 0x28); // already busy
    expectFault("ltr %ax", 13, 0, false, 0); // null
    expectFault("ltr %ax", 13, 0, true, 0x68); // CPL 3
  });
});

describe("far JMP and CALL", () => {
  it("JMP to a based code segment", () => {
    const cpu = pmCpu();
    // CODE_BASE + 0x20 in the flat code segment is offset 0x20 in BASED0
    expect(runAt(cpu, "ljmp $0x70, $0x20\n.org 0x20\nhlt")).toBe(EXIT.HLT);
    expect(cpu.segment(L.SR_CS)).toEqual({ selector: 0x70, base: CODE_BASE, limit: 0xffff, ar: 0x409b });
    expect(cpu.eip).toBe(0x20);
  });

  it("JMP faults: beyond the limit, data, task gate, more privileged code, not present", () => {
    expectFault("ljmp $0x70, $0x10000", 13, 0);
    expectFault("ljmp $0x10, $0", 13, 0x10);
    expectFault("ljmp $0x60, $0", 13, 0x60); // task switches are not supported
    expectFault("ljmp $0x08, $0", 13, 0x08, true);
    expectFault("ljmp $0x1b, $0", 13, 0x18); // non-conforming DPL 3 from CPL 0
    expectFault("ljmp $0, $0", 13, 0);
    const cpu = pmCpu();
    setGdt(cpu, 0x70, descriptor(CODE_BASE, 0xffff, 0x1a, 0x4)); // not present
    cpu.setReg("eax", 0);
    expect(runAt(cpu, "ljmp $0x70, $0x20")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(11);
    expect(stack(cpu, 1)).toEqual([0x70]);
  });

  it("CALL and RETF at the same privilege, 32- and 16-bit", () => {
    const cpu = pmCpu();
    expect(runAt(cpu, "lcall $0x08, $1f\nhlt\n1: hlt\nlret")).toBe(EXIT.HLT);
    expect(stack(cpu, 2)).toEqual([CODE_BASE + 7, 0x08]);
    expect(resume(cpu)).toBe(EXIT.HLT);
    expect(cpu.eip).toBe(CODE_BASE + 7);
    expect(cpu.reg("esp")).toBe(FLAT_STACK);
    // 16-bit: run inside BASED0 so that the offsets fit in 16 bits
    const cpu16 = pmCpu();
    cpu16.load(CODE_BASE, assemble("lcallw $0x70, $1f\nhlt\n1: hlt\nlretw", 0));
    cpu16.setSegment(L.SR_CS, 0x70, CODE_BASE, 0xffff, 0x409b);
    cpu16.eip = 0;
    expect(cpu16.run()).toBe(EXIT.HLT);
    expect(cpu16.eip).toBe(7);
    expect(cpu16.reg("esp")).toBe(FLAT_STACK - 4);
    expect(cpu16.read32(FLAT_STACK - 4)).toBe((0x70 << 16) | 6);
    expect(resume(cpu16)).toBe(EXIT.HLT);
    expect(cpu16.eip).toBe(6);
    expect(cpu16.reg("esp")).toBe(FLAT_STACK);
  });

  it("CALL to conforming code keeps CPL 3 (CS.RPL = 3)", () => {
    const cpu = pmCpu();
    enterRing3(cpu);
    loadRing0(cpu, "movl %cs, %ebx\nlret");
    expect(runAt(cpu, `lcall $0x30, $${RING0_CODE}\nvmcall`)).toBe(EXIT.VMCALL);
    expect(cpu.reg("ebx")).toBe(0x33);
    expect(cpu.segment(L.SR_CS).selector).toBe(SEL.CODE3);
    expect(cpu.reg("esp")).toBe(RING3_STACK);
  });

  it("CALL through a call gate from ring 3: TSS stack, parameters, RETF imm16 back to ring 3", () => {
    const cpu = pmCpu();
    enterRing3(cpu);
    loadRing0(cpu, "mov $0x10, %ax\nmov %ax, %es\nhlt\nlret $8");
    expect(runAt(cpu, "pushl $0x11111111\npushl $0x22222222\nlcall $0x4b, $0\nvmcall")).toBe(EXIT.HLT);
    expect(cpu.segment(L.SR_CS).selector).toBe(0x08);
    expect(cpu.segment(L.SR_SS).selector).toBe(0x10);
    expect(cpu.vmcs(L.G_CPL)).toBe(0);
    expect(cpu.reg("esp")).toBe(RING0_STACK - 24);
    expect(stack(cpu, 6)).toEqual([CODE_BASE + 17, 0x1b, 0x22222222, 0x11111111, RING3_STACK - 8, 0x23]);
    expect(resume(cpu)).toBe(EXIT.VMCALL);
    expect(cpu.vmcs(L.G_CPL)).toBe(3);
    expect(cpu.segment(L.SR_SS).selector).toBe(0x23);
    expect(cpu.reg("esp")).toBe(RING3_STACK);
    expect(cpu.segment(L.SR_ES).ar & L.AR_UNUSABLE).toBeTruthy(); // DPL 0 data is nulled
    expect(cpu.segment(L.SR_ES).selector).toBe(0);
    expect(cpu.segment(L.SR_DS).selector).toBe(0x23);
  });

  it("CALL through a 16-bit call gate pushes words", () => {
    const cpu = pmCpu();
    enterRing3(cpu);
    cpu.load(0x1000, new Uint8Array([0xf4])); // hlt in CODE16 at 0x1000
    expect(runAt(cpu, "pushl $0x12345678\nlcall $0x9b, $0\nvmcall")).toBe(EXIT.HLT);
    expect(cpu.segment(L.SR_CS).selector).toBe(0x90);
    expect(cpu.reg("esp")).toBe(RING0_STACK - 10);
    const w = (i: number) => cpu.read32(RING0_STACK - 10 + 2 * i) & 0xffff;
    expect([w(0), w(1), w(2), w(3), w(4)]).toEqual([(CODE_BASE + 12) & 0xffff, 0x1b, 0x5678, (RING3_STACK - 4) & 0xffff, 0x23]);
  });

  it("call gate checks: gate DPL, bad TSS stack", () => {
    expectFault("lcall $0x78, $0", 13, 0x78, true); // gate DPL 0 < CPL 3
    // SS0 = a DPL 3 segment: #TS(0x20). (Delivering it from ring 3 would need the same broken
    // ring-0 stack, so it is caught through the exception bitmap.)
    const cpu = pmCpu();
    enterRing3(cpu);
    cpu.write32(0x3000 + 8, 0x20);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 10);
    expect(runAt(cpu, "lcall $0x4b, $0")).toBe(EXIT.EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO)).toBe((0x80000b0a) >>> 0);
    expect(cpu.vmcs(L.X_INTR_ERROR)).toBe(0x20);
    expect(cpu.eip).toBe(CODE_BASE);
    expect(cpu.reg("esp")).toBe(RING3_STACK);
    expect(cpu.vmcs(L.G_CPL)).toBe(3);
  });

  it("JMP through a call gate stays at the same privilege", () => {
    const cpu = pmCpu();
    loadRing0(cpu, "hlt");
    expect(runAt(cpu, "ljmp $0x78, $0")).toBe(EXIT.HLT);
    expect(cpu.eip).toBe(RING0_CODE);
    expect(cpu.reg("esp")).toBe(FLAT_STACK);
    expectFault("ljmp $0x4b, $0", 13, 0x08, true); // to DPL 0 code from ring 3
  });

  it("RETF to an outer ring checks the popped SS", () => {
    const cpu = pmCpu();
    // a frame returning to ring 3 with an SS whose RPL does not match
    const src = `pushl $0x20\npushl $${RING3_STACK}\npushl $0x1b\npushl $1f\nlret\n1: vmcall`;
    expect(runAt(cpu, src)).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(13);
    expect(stack(cpu, 1)).toEqual([0x20]);
    const ok = pmCpu();
    expect(runAt(ok, src.replace("$0x20", "$0x23"))).toBe(EXIT.VMCALL);
    expect(ok.vmcs(L.G_CPL)).toBe(3);
    expect(ok.reg("esp")).toBe(RING3_STACK);
    expect(ok.segment(L.SR_DS).ar & L.AR_UNUSABLE).toBeTruthy();
  });
});

describe("LAR, LSL, VERR, VERW", () => {
  function probe(sel: number, ring3 = false) {
    const cpu = pmCpu();
    if (ring3) enterRing3(cpu);
    cpu.setReg("eax", sel);
    cpu.setReg("ebx", 0xdeadbeef);
    cpu.setReg("ecx", 0xdeadbeef);
    const end = ring3 ? "vmcall" : "hlt";
    expect(runAt(cpu, `lar %eax, %ebx\nsetz %dl\nlsl %eax, %ecx\nsetz %dh\nverr %ax\nsetz %bl\nverw %ax\nsetz %bh\n${end}`))
      .toBe(ring3 ? EXIT.VMCALL : EXIT.HLT);
    // (ebx's low 16 bits are overwritten by the SETZs)
    return { lar: cpu.reg("ebx") >>> 16, larOk: cpu.reg("edx") & 1, lsl: cpu.reg("ecx"), lslOk: (cpu.reg("edx") >> 8) & 1,
      verr: cpu.reg("ebx") & 0xff, verw: (cpu.reg("ebx") >> 8) & 0xff };
  }
  it("data, code, system descriptors", () => {
    expect(probe(0x10)).toEqual({ lar: 0xc0, larOk: 1, lsl: 0xffffffff, lslOk: 1, verr: 1, verw: 1 });
    expect(probe(0x08)).toMatchObject({ lar: 0xc0, larOk: 1, verr: 1, verw: 0 });
    expect(probe(0x40)).toMatchObject({ larOk: 1, verr: 0, verw: 0 }); // execute-only
    expect(probe(0x28)).toMatchObject({ lar: 0x00, larOk: 1, lsl: 0x67, lslOk: 1, verr: 0, verw: 0 }); // TSS
    expect(probe(0x48)).toMatchObject({ larOk: 1, lslOk: 0, lsl: 0xdeadbeef }); // call gate: LAR only
    expect(probe(0)).toEqual({ lar: 0xdead, larOk: 0, lsl: 0xdeadbeef, lslOk: 0, verr: 0, verw: 0 });
    expect(probe(0x2000)).toMatchObject({ larOk: 0, lslOk: 0, verr: 0 }); // beyond the limit
  });
  it("privilege: non-conforming DPL 0 invisible at CPL 3, conforming visible", () => {
    expect(probe(0x13, true)).toMatchObject({ larOk: 0, lslOk: 0, verr: 0, verw: 0 });
    expect(probe(0x33, true)).toMatchObject({ larOk: 1, lslOk: 1, verr: 1, verw: 0 });
    expect(probe(0x53, true)).toMatchObject({ larOk: 1, verr: 1, verw: 0 }); // read-only data
    expect(probe(0x8b, true)).toMatchObject({ larOk: 0 }); // DPL 1 < CPL 3
  });
});

it("handlers are where the fixture says", () => {
  expect(handlerAddr(13)).toBe(0x200d0);
});
