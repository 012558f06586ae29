// Event delivery through the guest IDT (assembly/cpu/interrupts.ts), exercised through real
// instructions and VM-entry injection: privilege switches through the TSS and IRET back, gate
// types and checks, error codes (EXT/IDT bits), double and triple faults, the exception bitmap.
import { describe, it, expect } from "vitest";
import { CODE_BASE } from "./harness";
import * as L from "../../assembly/vmcs-layout";
import {
  pmCpu, runAt, enterRing3, loadRing0, vectorTaken, stack, resume, setGate, clearPresent, handlerAddr,
  SEL, EXIT, FLAT_STACK, RING0_STACK, RING3_STACK, RING0_CODE,
} from "./pm-fixture";
import { gate } from "./harness";

const IF = 0x200;

describe("INT n and IRET", () => {
  it("INT 0x80 from ring 3 switches to the TSS stack; IRET returns to ring 3", () => {
    const cpu = pmCpu();
    enterRing3(cpu);
    cpu.eflags = 0x202;
    setGate(cpu, 0x80, gate(SEL.CODE0, RING0_CODE, 0xe, 3));
    loadRing0(cpu, "hlt\niret");
    expect(runAt(cpu, "int $0x80\nvmcall")).toBe(EXIT.HLT);
    expect(cpu.eip).toBe(RING0_CODE);
    expect(cpu.vmcs(L.G_CPL)).toBe(0);
    expect(cpu.segment(L.SR_CS).selector).toBe(SEL.CODE0);
    expect(cpu.segment(L.SR_SS).selector).toBe(SEL.DATA0);
    expect(cpu.reg("esp")).toBe(RING0_STACK - 20);
    expect(stack(cpu, 5)).toEqual([CODE_BASE + 2, SEL.CODE3, 0x202, RING3_STACK, SEL.DATA3]);
    expect(cpu.eflags & IF).toBe(0); // interrupt gate
    expect(resume(cpu)).toBe(EXIT.VMCALL);
    expect(cpu.eip).toBe(CODE_BASE + 2);
    expect(cpu.vmcs(L.G_CPL)).toBe(3);
    expect(cpu.segment(L.SR_SS).selector).toBe(SEL.DATA3);
    expect(cpu.reg("esp")).toBe(RING3_STACK);
    expect(cpu.eflags).toBe(0x202);
  });

  // IRET reads a frame lying within one page through one translation (stack.ts stackWindow()): one
  // that straddles two pages mapped apart must still read each part through its own page.
  it("an IRET frame that straddles two pages reads each part through its own page", () => {
    const cpu = pmCpu();
    const PD = 0x80000, PT = 0x81000;
    cpu.write32(PD, PT | 7);
    for (let i = 0; i < 256; i++) cpu.write32(PT + i * 4, (i << 12) | 7);
    cpu.write32(PT + 0x7f * 4, 0x85000 | 7); // linear 0x7f000 -> physical 0x85000
    [CODE_BASE + 4, SEL.CODE3, 0x2].forEach((v, i) => cpu.write32(0x7eff4 + 4 * i, v)); // EIP, CS, EFLAGS
    cpu.write32(0x85000, RING3_STACK); // ESP and SS, in the next linear page
    cpu.write32(0x85004, SEL.DATA3);
    cpu.write32(0x7f000, 0x1234); // physical 0x7f000: a null SS
    cpu.write32(0x7f004, 0);
    cpu.setVmcs(L.G_CR3, PD);
    cpu.setVmcs(L.G_CR0, cpu.vmcs(L.G_CR0) | 0x80000000);
    cpu.setReg("esp", 0x7eff4);
    expect(runAt(cpu, "mov (%esp), %eax\niret\nvmcall")).toBe(EXIT.VMCALL); // the read leaves the page in the TLB
    expect(cpu.vmcs(L.G_CPL)).toBe(3);
    expect(cpu.reg("esp")).toBe(RING3_STACK);
    expect(cpu.segment(L.SR_SS).selector).toBe(SEL.DATA3);
  });

  it("INT n through a DPL 0 gate from ring 3 raises #GP(vector*8+2), EXT clear", () => {
    const cpu = pmCpu();
    enterRing3(cpu);
    expect(runAt(cpu, "int $0x80")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(13);
    expect(stack(cpu, 6)).toEqual([0x402, CODE_BASE, SEL.CODE3, 0x2, RING3_STACK, SEL.DATA3]);
  });

  it("trap gates keep IF, interrupt gates clear it; INT3 returns past itself", () => {
    const cpu = pmCpu();
    setGate(cpu, 0x40, gate(SEL.CODE0, handlerAddr(0x40), 0xf, 0));
    expect(runAt(cpu, "sti\nint $0x40")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(0x40);
    expect(cpu.eflags & IF).toBe(IF);
    expect(stack(cpu, 3)).toEqual([CODE_BASE + 3, SEL.CODE0, 0x202]);
    const cpu2 = pmCpu();
    expect(runAt(cpu2, "sti\nint3")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu2)).toBe(3);
    expect(cpu2.eflags & IF).toBe(0);
    expect(stack(cpu2, 3)).toEqual([CODE_BASE + 2, SEL.CODE0, 0x202]);
  });

  it("a 16-bit interrupt gate pushes a 16-bit frame", () => {
    const cpu = pmCpu();
    cpu.load(0x1100, new Uint8Array([0xbd, 0x42, 0xe0, 0, 0, 0xf4]));
    setGate(cpu, 0x42, gate(SEL.CODE0, 0x1100, 0x6, 0));
    expect(runAt(cpu, "int $0x42")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(0x42);
    expect(cpu.reg("esp")).toBe(FLAT_STACK - 6);
    const w = (i: number) => cpu.read32(FLAT_STACK - 6 + 2 * i) & 0xffff;
    expect([w(0), w(1), w(2)]).toEqual([(CODE_BASE + 2) & 0xffff, SEL.CODE0, 0x2]);
  });

  it("IRET at CPL 3 cannot change IOPL or IF; at CPL 0 it can", () => {
    const src = (end: string) => `pushl $0x3001\npush %cs\npushl $1f\niret\n1: ${end}`;
    const cpu = pmCpu();
    enterRing3(cpu);
    cpu.eflags = 0x202;
    expect(runAt(cpu, src("vmcall"))).toBe(EXIT.VMCALL);
    expect(cpu.eflags).toBe(0x203); // CF from the image, IF and IOPL kept
    expect(cpu.reg("esp")).toBe(RING3_STACK);
    const cpu0 = pmCpu();
    cpu0.eflags = 0x202;
    expect(runAt(cpu0, src("hlt"))).toBe(EXIT.HLT);
    expect(cpu0.eflags).toBe(0x3003);
  });

  it("IRET to ring 3 nulls DPL 0 data segments; IRET checks CS and NT", () => {
    const cpu = pmCpu();
    expect(runAt(cpu, `pushl $0x23\npushl $${RING3_STACK}\npushl $0x202\npushl $0x1b\npushl $1f\niret\n1: vmcall`))
      .toBe(EXIT.VMCALL);
    expect(cpu.vmcs(L.G_CPL)).toBe(3);
    expect(cpu.reg("esp")).toBe(RING3_STACK);
    expect(cpu.eflags).toBe(0x202);
    for (const s of [L.SR_DS, L.SR_ES, L.SR_FS, L.SR_GS]) expect(cpu.segment(s).ar & L.AR_UNUSABLE).toBeTruthy();
    // CS with RPL < CPL
    const bad = pmCpu();
    enterRing3(bad);
    expect(runAt(bad, "pushl $0x202\npushl $0x08\npushl $0\niret")).toBe(EXIT.HLT);
    expect(vectorTaken(bad)).toBe(13);
    expect(stack(bad, 1)).toEqual([0x08]);
    // NT set: a task return, not supported: #GP(0)
    const nt = pmCpu();
    nt.eflags = 0x4002;
    expect(runAt(nt, "iret")).toBe(EXIT.HLT);
    expect(vectorTaken(nt)).toBe(13);
    expect(stack(nt, 3)).toEqual([0, CODE_BASE, SEL.CODE0]);
  });
});

describe("exceptions", () => {
  it("an exception from ring 3 is delivered on the ring-0 stack", () => {
    const cpu = pmCpu();
    enterRing3(cpu);
    expect(runAt(cpu, "ud2")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(6);
    expect(cpu.reg("esp")).toBe(RING0_STACK - 20);
    expect(stack(cpu, 5)).toEqual([CODE_BASE, SEL.CODE3, 0x2, RING3_STACK, SEL.DATA3]);
  });

  it("a not-present gate raises #NP(vector*8+2+EXT)", () => {
    const cpu = pmCpu();
    clearPresent(cpu, 6);
    expect(runAt(cpu, "ud2")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(11);
    expect(stack(cpu, 2)).toEqual([0x33, CODE_BASE]);
    const sw = pmCpu();
    clearPresent(sw, 0x50);
    expect(runAt(sw, "int $0x50")).toBe(EXIT.HLT);
    expect(vectorTaken(sw)).toBe(11);
    expect(stack(sw, 2)).toEqual([0x282, CODE_BASE]); // software: EXT clear, returns to the INT
  });

  it("a gate to a data segment raises #GP(selector+EXT)", () => {
    const cpu = pmCpu();
    setGate(cpu, 6, gate(SEL.DATA0, 0, 0xe, 0));
    expect(runAt(cpu, "ud2")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(13);
    expect(stack(cpu, 1)).toEqual([0x11]);
  });

  it("beyond the IDT limit: #GP(vector*8+2)", () => {
    const cpu = pmCpu();
    cpu.setVmcs(L.G_IDTR_LIMIT, 0x40 * 8 - 1);
    expect(runAt(cpu, "int $0x40")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(13);
    expect(stack(cpu, 2)).toEqual([0x202, CODE_BASE]);
  });

  it("#GP while delivering #GP becomes #DF with error code 0", () => {
    const cpu = pmCpu();
    clearPresent(cpu, 13);
    cpu.setReg("eax", 0);
    expect(runAt(cpu, "mov %ax, %ss")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(8);
    expect(stack(cpu, 3)).toEqual([0, CODE_BASE, SEL.CODE0]);
    expect(cpu.reg("esp")).toBe(FLAT_STACK - 16);
  });

  it("a fault while delivering #DF is a triple fault", () => {
    const cpu = pmCpu();
    clearPresent(cpu, 13);
    clearPresent(cpu, 8);
    cpu.setReg("eax", 0);
    expect(runAt(cpu, "mov %ax, %ss")).toBe(EXIT.TRIPLE_FAULT);
    expect(cpu.eip).toBe(CODE_BASE);
    expect(cpu.reg("esp")).toBe(FLAT_STACK);
    expect(vectorTaken(cpu)).toBe(-1);
  });

  it("a stack that cannot hold the frame: #UD -> #SS -> #DF -> triple fault", () => {
    const cpu = pmCpu();
    cpu.setSegment(L.SR_SS, SEL.SMALLSTACK0, 0, 0xfff, 0x4093);
    cpu.setReg("esp", 8);
    expect(runAt(cpu, "ud2")).toBe(EXIT.TRIPLE_FAULT);
    expect(cpu.reg("esp")).toBe(8);
    // with room for the #SS frame but not for the #UD one... there is none: the same stack. With
    // #SS caught by the bitmap, the #SS error code shows EXT set.
    const cpu2 = pmCpu();
    cpu2.setSegment(L.SR_SS, SEL.SMALLSTACK0, 0, 0xfff, 0x4093);
    cpu2.setReg("esp", 8);
    cpu2.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 12);
    expect(runAt(cpu2, "ud2")).toBe(EXIT.EXCEPTION);
    expect(cpu2.vmcs(L.X_INTR_INFO)).toBe(0x80000b0c);
    expect(cpu2.vmcs(L.X_INTR_ERROR)).toBe(1);
  });

  it("a TSS too short for the ring-0 stack: #TS(TR selector + EXT)", () => {
    const cpu = pmCpu();
    enterRing3(cpu);
    cpu.setSegment(L.SR_TR, SEL.TSS, 0x3000, 0x5, 0x8b);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 10);
    expect(runAt(cpu, "ud2")).toBe(EXIT.EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO)).toBe(0x80000b0a);
    expect(cpu.vmcs(L.X_INTR_ERROR)).toBe(0x29);
    expect(cpu.vmcs(L.G_CPL)).toBe(3);
  });
});

describe("exception bitmap", () => {
  it("a hardware exception whose bit is set exits instead of being delivered", () => {
    const cpu = pmCpu();
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13);
    cpu.setReg("eax", 0x13);
    expect(runAt(cpu, "mov %ax, %ss")).toBe(EXIT.EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO)).toBe(0x80000b0d);
    expect(cpu.vmcs(L.X_INTR_ERROR)).toBe(0x10);
    expect(cpu.eip).toBe(CODE_BASE);
    expect(cpu.reg("esp")).toBe(FLAT_STACK);
    expect(vectorTaken(cpu)).toBe(-1);
    const ud = pmCpu();
    ud.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 6);
    expect(runAt(ud, "ud2")).toBe(EXIT.EXCEPTION);
    expect(ud.vmcs(L.X_INTR_INFO)).toBe(0x80000306);
  });

  it("an exception raised while delivering another one is checked against the bitmap", () => {
    const cpu = pmCpu();
    clearPresent(cpu, 6);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 11);
    expect(runAt(cpu, "ud2")).toBe(EXIT.EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO)).toBe(0x80000b0b);
    expect(cpu.vmcs(L.X_INTR_ERROR)).toBe(0x33);
    expect(cpu.eip).toBe(CODE_BASE);
  });

  it("INT n is not subject to the bitmap", () => {
    const cpu = pmCpu();
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 0xffffffff);
    expect(runAt(cpu, "int $0x0d")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(13);
    expect(stack(cpu, 1)).toEqual([CODE_BASE + 2]); // no error code for INT 13
  });
});

describe("VM-entry event injection", () => {
  it("an injected external interrupt is delivered before the first instruction", () => {
    const cpu = pmCpu();
    cpu.eflags = 0x202;
    cpu.setVmcs(L.E_INTR_INFO, (L.INTR_VALID | L.INTR_TYPE_EXTERNAL | 0x20) >>> 0);
    expect(runAt(cpu, "nop")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(0x20);
    expect(stack(cpu, 3)).toEqual([CODE_BASE, SEL.CODE0, 0x202]);
    expect(cpu.eflags & IF).toBe(0);
  });

  it("an external interrupt through a not-present gate: #NP with EXT set", () => {
    const cpu = pmCpu();
    clearPresent(cpu, 0x21);
    cpu.setVmcs(L.E_INTR_INFO, (L.INTR_VALID | L.INTR_TYPE_EXTERNAL | 0x21) >>> 0);
    expect(runAt(cpu, "nop")).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(11);
    expect(stack(cpu, 2)).toEqual([0x10b, CODE_BASE]);
  });
});

describe("an exit during delivery records the event being delivered (X_VECTORING_INFO, SDM 27.2.4)", () => {
  // The frame's first push at FLAT_STACK - 4 hits the write trap, which exits before the write.
  function trappedStack(): ReturnType<typeof pmCpu> {
    const cpu = pmCpu();
    cpu.setVmcs(L.C_WRITE_TRAP_BASE, FLAT_STACK - 0x1000);
    cpu.setVmcs(L.C_WRITE_TRAP_SIZE, 0x1000);
    return cpu;
  }

  it("a write trap on the frame of an injected interrupt: the interrupt, and nothing retired or pushed", () => {
    const cpu = trappedStack();
    cpu.eflags = 0x202;
    cpu.setVmcs(L.E_INTR_INFO, (L.INTR_VALID | L.INTR_TYPE_EXTERNAL | 0x20) >>> 0);
    expect(runAt(cpu, "nop")).toBe(L.EXIT_WRITE_TRAP);
    expect(cpu.vmcs(L.X_VECTORING_INFO)).toBe(0x80000020);
    expect(cpu.vmcs(L.X_INSTRUCTION_LENGTH)).toBe(0);
    expect(cpu.eip).toBe(CODE_BASE);
    expect(cpu.reg("esp")).toBe(FLAT_STACK);
    // A trapped write of an instruction's own, next: no event.
    cpu.setVmcs(L.E_INTR_INFO, 0);
    expect(runAt(cpu, `movl $1, ${FLAT_STACK - 8}`)).toBe(L.EXIT_WRITE_TRAP);
    expect(cpu.vmcs(L.X_VECTORING_INFO)).toBe(0);
  });

  it("INT n's frame: the software interrupt, with INT's length; an injected one has the entry's length", () => {
    const cpu = trappedStack();
    expect(runAt(cpu, "int $0x21")).toBe(L.EXIT_WRITE_TRAP);
    expect(cpu.vmcs(L.X_VECTORING_INFO)).toBe(0x80000421);
    expect(cpu.vmcs(L.X_INSTRUCTION_LENGTH)).toBe(2);
    expect(cpu.eip).toBe(CODE_BASE); // at INT, as a fault during its delivery leaves it
    cpu.setVmcs(L.E_INTR_INFO, (L.INTR_VALID | (4 << 8) | 0x22) >>> 0);
    cpu.setVmcs(L.E_INSTRUCTION_LENGTH, 3);
    expect(runAt(cpu, "nop")).toBe(L.EXIT_WRITE_TRAP);
    expect(cpu.vmcs(L.X_VECTORING_INFO)).toBe(0x80000422);
    expect(cpu.vmcs(L.X_INSTRUCTION_LENGTH)).toBe(3);
  });

  it("an exception exit while INT n is delivered has INT's length; a #GP's frame, its error code", () => {
    const cpu = pmCpu();
    clearPresent(cpu, 0x21);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 11);
    expect(runAt(cpu, "int $0x21")).toBe(EXIT.EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO)).toBe(0x80000b0b);
    expect(cpu.vmcs(L.X_VECTORING_INFO)).toBe(0x80000421);
    expect(cpu.vmcs(L.X_INSTRUCTION_LENGTH)).toBe(2);
    const gp = trappedStack();
    gp.setReg("eax", 0x13);
    expect(runAt(gp, "mov %ax, %ss")).toBe(L.EXIT_WRITE_TRAP);
    expect(gp.vmcs(L.X_VECTORING_INFO)).toBe(0x80000b0d);
    expect(gp.vmcs(L.X_VECTORING_ERROR)).toBe(0x10);
  });

  it("a #DF that exits and a triple fault name no event", () => {
    const cpu = pmCpu();
    clearPresent(cpu, 13);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 8);
    cpu.setReg("eax", 0x13);
    expect(runAt(cpu, "mov %ax, %ss")).toBe(EXIT.EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO)).toBe(0x80000b08);
    expect(cpu.vmcs(L.X_VECTORING_INFO)).toBe(0);
    const triple = pmCpu();
    clearPresent(triple, 13);
    clearPresent(triple, 8);
    triple.setReg("eax", 0x13);
    expect(runAt(triple, "mov %ax, %ss")).toBe(EXIT.TRIPLE_FAULT);
    expect(triple.vmcs(L.X_VECTORING_INFO)).toBe(0);
  });
});

describe("real-address mode", () => {
  function realCpu() {
    const cpu = pmCpu();
    cpu.setVmcs(L.G_CR0, 0x10);
    cpu.setSegment(L.SR_CS, 0, 0, 0xffff, 0x9b);
    for (const s of [L.SR_SS, L.SR_DS, L.SR_ES, L.SR_FS, L.SR_GS]) cpu.setSegment(s, 0, 0, 0xffff, 0x93);
    cpu.setVmcs(L.G_IDTR_BASE, 0);
    cpu.setVmcs(L.G_IDTR_LIMIT, 0x3ff);
    cpu.setReg("esp", 0x8000);
    cpu.eflags = 0x202;
    return cpu;
  }
  it("INT n through the IVT and IRET back", () => {
    const cpu = realCpu();
    cpu.write32(0x21 * 4, 0x00400200); // 0040:0200 = linear 0x600
    cpu.load(0x600, new Uint8Array([0xbd, 0x21, 0xe0, 0xf4, 0xcf])); // mov $0xe021, %bp; hlt; iret
    cpu.load(0x1000, new Uint8Array([0xcd, 0x21, 0xf4])); // int $0x21; hlt
    cpu.eip = 0x1000;
    expect(cpu.run(1000)).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(0x21);
    expect(cpu.segment(L.SR_CS)).toMatchObject({ selector: 0x40, base: 0x400 });
    expect(cpu.eip).toBe(0x203);
    expect(cpu.eflags & IF).toBe(0);
    expect(cpu.reg("esp")).toBe(0x8000 - 6);
    expect(cpu.read32(0x8000 - 6)).toBe(0x00001002);
    expect(cpu.read32(0x8000 - 4) >>> 16).toBe(0x202);
    expect(resume(cpu)).toBe(EXIT.HLT);
    expect(cpu.eip).toBe(0x1002);
    expect(cpu.segment(L.SR_CS).selector).toBe(0);
    expect(cpu.reg("esp")).toBe(0x8000);
    expect(cpu.eflags).toBe(0x202);
  });
  it("far JMP and MOV Sreg use selector * 16", () => {
    const cpu = realCpu();
    // jmp 0100:0010; at 0x1010: mov $0x200, %ax; mov %ax, %ds; hlt
    cpu.load(0x1000, new Uint8Array([0xea, 0x10, 0x00, 0x00, 0x01]));
    cpu.load(0x1010, new Uint8Array([0xb8, 0x00, 0x02, 0x8e, 0xd8, 0xf4]));
    cpu.eip = 0x1000;
    expect(cpu.run(1000)).toBe(EXIT.HLT);
    expect(cpu.segment(L.SR_CS)).toMatchObject({ selector: 0x100, base: 0x1000, limit: 0xffff });
    expect(cpu.eip).toBe(0x15);
    expect(cpu.segment(L.SR_DS)).toMatchObject({ selector: 0x200, base: 0x2000, limit: 0xffff, ar: 0x93 });
  });
});
