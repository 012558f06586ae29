// Exceptions raised by instructions, observed through the exception bitmap: with the vector's bit
// set in C_EXCEPTION_BITMAP a fault leaves non-root mode with exit reason 0 and
// X_INTR_INFO = vector | type << 8 | (error code valid) << 11 | valid << 31 (type 3 = hardware
// exception, 6 = software exception INT3/INTO), X_INTR_ERROR = the error code; a fault leaves EIP
// at the faulting instruction and the state as it was before it (SDM Vol. 3 6.5, 27.2.2).
// Covered: #DE (DIV/IDIV by zero and quotient overflow, AAM 0), #UD (UD2, UD0, SSE/MMX, LOCK on a
// non-lockable instruction, register forms of LEA/BOUND/CMPXCHG8B, MOV to CR1/CS), #NM (x87 with
// CR0.EM or CR0.TS, WAIT with MP and TS), #GP(0) from privileged instructions at CPL 3 and from bad
// CR0/CR4 values, #GP(0)/#SS(0) from segment limits, #BR from BOUND, INT3/INTO.
import { describe, it, expect } from "vitest";
import { cpuWith, named, DATA, type Regs } from "./helpers";
import { TestCpu, CODE_BASE, AR_CODE3, AR_DATA3 } from "./harness";
import * as L from "../../assembly/vmcs-layout";

const DE = 0, BP = 3, OFV = 4, BR = 5, UD = 6, NM = 7, SS = 12, GP = 13;
const VALID = 0x80000000, ERR = 1 << 11, HW = 3 << 8, SW = 6 << 8;
type Setup = (cpu: TestCpu) => void;

// Run `nop; <asm>; hlt` with `vector` intercepted; return the core at the exit.
function run(asm: string, vector: number, regs: Regs = {}, setup: Setup = () => {}, mem: Record<number, number> = {}): TestCpu {
  const cpu = cpuWith(regs);
  for (const [a, v] of Object.entries(mem)) cpu.write32(Number(a), v);
  cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << vector);
  setup(cpu);
  cpu.exec(`nop\n${asm}\nhlt`);
  return cpu;
}

function expectFault(cpu: TestCpu, vector: number, errorCode?: number): void {
  expect(cpu.exitReason, "exit reason").toBe(L.EXIT_EXCEPTION);
  const info = (vector | HW | (errorCode !== undefined ? ERR : 0) | VALID) >>> 0;
  expect((cpu.vmcs(L.X_INTR_INFO) >>> 0).toString(16), "interruption info").toBe(info.toString(16));
  if (errorCode !== undefined) expect(cpu.vmcs(L.X_INTR_ERROR), "error code").toBe(errorCode);
  expect(cpu.eip, "EIP at the faulting instruction").toBe(CODE_BASE + 1);
}

const cr0 = (v: number): Setup => (cpu) => cpu.setVmcs(L.G_CR0, v);
const ring3: Setup = (cpu) => {
  cpu.setSegment(L.SR_CS, 0x1b, 0, 0xffffffff, AR_CODE3);
  for (const s of [L.SR_SS, L.SR_DS, L.SR_ES, L.SR_FS, L.SR_GS]) cpu.setSegment(s, 0x23, 0, 0xffffffff, AR_DATA3);
  // a TSS whose I/O map base (at +0x66) lies beyond its limit: no I/O permission bitmap
  cpu.setSegment(L.SR_TR, 0x28, 0, 0x67, 0x8b);
  cpu.write32(0x64, 0x00680000);
};

describe("#DE", () => {
  it.each(named<[asm: string, regs: Regs]>([
    ["divl %ebx", { eax: 1, edx: 0, ebx: 0 }],
    ["divb %bl", { eax: 0x1234, ebx: 0xff00 }],
    ["divw 0x40000", { eax: 0x1234, edx: 0 }],
    ["divb %bl", { eax: 0x0100, ebx: 1 }], // quotient 0x100 does not fit AL
    ["divw %bx", { eax: 0, edx: 0xffff, ebx: 0xffff }], // 0xffff0000 / 0xffff = 0x10000
    ["divl %ecx", { eax: 0, edx: 1, ecx: 1 }], // 2^32
    ["divl %ecx", { eax: 0xffffffff, edx: 0xffffffff, ecx: 0xffffffff }],
    ["idivl %ecx", { eax: 0, edx: 0, ecx: 0 }],
    ["idivl %ecx", { eax: 0x80000000, edx: 0xffffffff, ecx: 0xffffffff }], // -2^31 / -1
    ["idivl %ecx", { eax: 0x80000000, edx: 0, ecx: 1 }], // +2^31 does not fit
    ["idivw %bx", { eax: 0x8000, edx: 0xffff, ebx: 0xffff }], // -32768 / -1
    ["idivb %bl", { eax: 0xff80, ebx: 0xff }], // -128 / -1
    ["idivb %bl", { eax: 0xfefe, ebx: 2 }], // -258 / 2 = -129
    ["idivb %bl", { eax: 0x0100, ebx: 2 }], // 256 / 2 = 128
    ["aam $0", { eax: 0x1234 }],
  ], 2))("%s", (_, asm, regs) => {
    const cpu = run(asm, DE, regs, () => {}, { [DATA]: 0 });
    expectFault(cpu, DE);
    for (const [r, v] of Object.entries(regs)) expect(cpu.reg(r as keyof Regs), `${r} unchanged`).toBe(v);
  });

  it("the largest quotients that fit do not fault", () => {
    const cpu = run("divb %bl\n idivb %cl", DE, { eax: 0x01fe, ebx: 2, ecx: 0 });
    expect(cpu.exitReason).toBe(L.EXIT_EXCEPTION); // the IDIVB by CL = 0 faults, after DIVB completed
    expect(cpu.reg("eax")).toBe(0x00ff);
    expect(cpu.eip).toBe(CODE_BASE + 3);
  });
});

describe("#UD", () => {
  it.each<[asm: string, regs?: Regs, setup?: Setup]>([
    ["ud2"],
    [".byte 0x0f,0xff # ud0"],
    ["addps %xmm0,%xmm1"],
    ["movd %eax,%mm0"],
    [".byte 0x0f,0x0f,0xc1,0x9e # 3DNow! pfadd"],
    [".byte 0xf0,0x89,0xd8 # lock movl %ebx,%eax"],
    [".byte 0xf0,0x01,0xd8 # lock addl %ebx,%eax (register destination)"],
    [".byte 0xf0,0x39,0x05,0x00,0x00,0x04,0x00 # lock cmpl %eax,0x40000 (CMP is not lockable)"],
    [".byte 0xf0,0x8b,0x05,0x00,0x00,0x04,0x00 # lock movl 0x40000,%eax"],
    [".byte 0x8d,0xc0 # leal %eax,%eax"],
    [".byte 0x62,0xc3 # boundl %ebx,%eax"],
    [".byte 0x0f,0xc7,0xc8 # cmpxchg8b %eax"],
    [".byte 0x0f,0x22,0xc8 # movl %eax,%cr1"],
    [".byte 0x0f,0x20,0xe8 # movl %cr5,%eax"],
    [".byte 0x8e,0xc8 # movw %ax,%cs"],
    [".byte 0x8e,0xf0 # mov %ax,sreg 6"],
    [".byte 0xc6,0xc8,0x00 # C6 /1"],
    [".byte 0xfe,0xd0 # FE /2"],
    [".byte 0xff,0xff # FF /7"],
    [".byte 0x0f,0xba,0xc0,0x00 # 0F BA /0"],
    [".byte 0xc4,0xc0 # les %eax,%eax"],
  ])("%s", (asm, regs = {}, setup) => {
    expectFault(run(asm, UD, regs, setup), UD);
  });
});

describe("what does not raise #UD or #GP", () => {
  it.each<string>([
    "lock addl %eax,0x40000",
    "lock xchgl %eax,0x40000",
    "lock btsl $3,0x40000",
    "lock cmpxchg8b 0x40000",
    "nopw 0x0(%eax,%eax,1)",
    "nopl 0x12345678(%eax)",
    ".fill 14,1,0x3e\n nop # 15 bytes",
    ".fill 4,1,0x3e\n addl $0x12345678,0x40000(%eax,%ecx,4) # 4 + 11 bytes",
  ])("%s", (asm) => {
    expect(run(asm, UD, {}, (cpu) => cpu.setVmcs(L.C_EXCEPTION_BITMAP, (1 << UD) | (1 << GP))).exitReason).toBe(L.EXIT_HLT);
  });

  it("LOCK on an instruction whose ModR/M byte is on the next page (paging on)", () => {
    // Identity-mapped 4 MiB; the NOPs put LOCK at 0x10FFE, the opcode at 0x10FFF and ModR/M at 0x11000.
    const paging: Setup = (cpu) => {
      cpu.write32(0xc0000, 0xc1000 | 7);
      for (let i = 0; i < 1024; i++) cpu.write32(0xc1000 + i * 4, (i << 12) | 7);
      cpu.setVmcs(L.G_CR3, 0xc0000);
      cpu.setVmcs(L.G_CR0, 0x80000011);
      cpu.setVmcs(L.C_EXCEPTION_BITMAP, (1 << UD) | (1 << GP));
    };
    const cpu = run(".fill 0xffd,1,0x90\n lock addl %eax,0x40000", UD, { eax: 5 }, paging, { [DATA]: 2 });
    expect(cpu.exitReason).toBe(L.EXIT_HLT);
    expect(cpu.read32(DATA)).toBe(7);
  });

  it.each<string>([
    ".fill 15,1,0x3e\n nop # 16 bytes",
    ".fill 10,1,0x3e\n addl $0x12345678,0x40000(%eax) # 10 prefixes + 10 bytes",
    ".fill 5,1,0x3e\n addl $0x12345678,0x40000(%eax,%ecx,4) # 5 + 11 bytes",
  ])("an instruction longer than 15 bytes raises #GP(0): %s", (asm) => {
    expectFault(run(asm, GP), GP, 0);
  });
});

describe("#NM", () => {
  it.each<[asm: string, cr0Value: number]>([
    ["fld1", 0x15], // EM
    ["fldl 0x40000", 0x15],
    ["faddp", 0x19], // TS
    ["fwait", 0x1b], // MP and TS
  ])("%s with CR0 %i", (asm, value) => {
    expectFault(run(asm, NM, {}, cr0(value)), NM);
  });

  it("WAIT with TS but not MP does not fault", () => {
    expect(run("fwait", NM, {}, cr0(0x19)).exitReason).toBe(L.EXIT_HLT);
  });
});

describe("#GP(0)", () => {
  it.each<[asm: string, regs?: Regs]>([
    ["hlt"], ["cli"], ["sti"], ["clts"], ["lmsw %ax"], ["invlpg (%eax)"], ["rdmsr"], ["wrmsr"],
    ["movl %eax,%cr0"], ["movl %cr3,%eax"], ["movl %dr7,%eax"], ["movl %eax,%dr0"],
    ["lgdt 0x40000"], ["lidt 0x40000"], [".byte 0x0f,0x00,0xd0 # lldt %ax"], [".byte 0x0f,0x09 # wbinvd"],
    ["inb $0x60,%al"], ["outb %al,%dx", { edx: 0x3f8 }], ["insb", { edi: DATA }], ["rep outsl", { esi: DATA, ecx: 1 }],
  ])("%s at CPL 3", (asm, regs = {}) => {
    const cpu = run(asm, GP, regs, ring3);
    expectFault(cpu, GP, 0);
    expect(cpu.vmcs(L.G_CPL)).toBe(3);
  });

  it("RDTSC at CPL 3 with CR4.TSD", () => {
    expectFault(run("rdtsc", GP, {}, (cpu) => { ring3(cpu); cpu.setVmcs(L.G_CR4, 4); }), GP, 0);
  });

  it("unprivileged at CPL 3: CPUID and VMCALL still exit, SGDT/SMSW run", () => {
    expect(run("cpuid", GP, {}, ring3).exitReason).toBe(L.EXIT_CPUID);
    expect(run("vmcall", GP, {}, ring3).exitReason).toBe(L.EXIT_VMCALL);
    const cpu = run("sgdt 0x40000\n rdtsc\n smsw %ax\n int3", BP, {}, ring3);
    expect(cpu.exitReason).toBe(L.EXIT_EXCEPTION); // reached the INT3
    expect(cpu.reg("eax") & 0xffff).toBe(0x11);
  });

  it.each(named<[asm: string, regs: Regs]>([
    ["movl %eax,%cr0", { eax: 0x80000010 }], // PG without PE
    ["movl %eax,%cr4", { eax: 0x80000000 }], // reserved bit
  ], 2))("%s", (_, asm, regs) => {
    const cpu = run(asm, GP, regs);
    expectFault(cpu, GP, 0);
    expect(cpu.vmcs(asm.endsWith("cr0") ? L.G_CR0 : L.G_CR4)).toBe(asm.endsWith("cr0") ? 0x11 : 0);
  });
});

describe("segment limits", () => {
  const limitDs = (limit: number): Setup => (cpu) => cpu.setSegment(L.SR_DS, 0x10, 0, limit, 0x4093);
  const limitSs = (limit: number): Setup => (cpu) => cpu.setSegment(L.SR_SS, 0x10, 0, limit, 0x4093);
  it("a dword read crossing the DS limit: #GP(0)", () => {
    expectFault(run("movl 0xfffe,%eax", GP, { eax: 7 }, limitDs(0xffff)), GP, 0);
    expect(run("movw 0xfffe,%ax", GP, {}, limitDs(0xffff)).exitReason).toBe(L.EXIT_HLT);
  });
  it("an access through SS beyond its limit: #SS(0), ESP unchanged by a faulting PUSH", () => {
    expectFault(run("movl 0x10(%ebp),%eax", SS, { ebp: 0xfff0 }, limitSs(0xffff)), SS, 0);
    const cpu = run("pushl %eax", SS, { esp: 0x2 }, limitSs(0xffff));
    expectFault(cpu, SS, 0);
    expect(cpu.reg("esp")).toBe(0x2);
  });
  it("REP MOVSB faulting mid-string keeps the progress made in ECX ESI EDI", () => {
    const cpu = run("rep movsb", GP, { esi: 0xfffd, edi: DATA, ecx: 8 }, limitDs(0xffff), { [0xfffc]: 0x44332211 });
    expectFault(cpu, GP, 0);
    expect([cpu.reg("ecx"), cpu.reg("esi"), cpu.reg("edi")]).toEqual([5, 0x10000, DATA + 3]);
    expect(cpu.read32(DATA)).toBe(0x00443322);
  });
});

describe("#BR, INT3, INTO", () => {
  it.each(named<[asm: string, regs: Regs, mem: [number, number], faults: boolean]>([
    ["boundl %eax,0x40000", { eax: 10 }, [0, 5], true],
    ["boundl %eax,0x40000", { eax: 5 }, [0, 5], false], // bounds are inclusive
    ["boundl %eax,0x40000", { eax: 0 }, [0, 5], false],
    ["boundl %eax,0x40000", { eax: 0xffffffff }, [0, 5], true], // signed: -1 < 0
    ["boundl %eax,0x40000", { eax: 0xfffffffe }, [0xfffffff0, 0x10], false],
    ["boundw %ax,0x40000", { eax: 0x0000ffff }, [0x0005fffe, 0], false], // -1 in [-2, 5]
    ["boundw %ax,0x40000", { eax: 0xffff0006 }, [0x0005fffe, 0], true],
  ], 3))("%s (bounds lower,upper)", (_, asm, regs, [lo, hi], faults) => {
    const cpu = run(asm, BR, regs, () => {}, { [DATA]: lo, [DATA + 4]: hi });
    if (faults) expectFault(cpu, BR);
    else expect(cpu.exitReason).toBe(L.EXIT_HLT);
  });

  it.each<[asm: string, flags: number, vector: number, exits: boolean]>([
    ["int3", 0, BP, true],
    ["into", 0x800, OFV, true],
    ["into", 0, OFV, false],
  ])("%s with EFLAGS %i: software exception, type 6", (asm, flags, vector, exits) => {
    const cpu = cpuWith({}, flags);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << vector);
    cpu.exec(`nop\n${asm}\nhlt`);
    if (!exits) { expect(cpu.exitReason).toBe(L.EXIT_HLT); return; }
    expect(cpu.exitReason).toBe(L.EXIT_EXCEPTION);
    expect((cpu.vmcs(L.X_INTR_INFO) >>> 0).toString(16)).toBe(((vector | SW | VALID) >>> 0).toString(16));
    expect(cpu.vmcs(L.X_INSTRUCTION_LENGTH)).toBe(1);
    expect(cpu.eip).toBe(CODE_BASE + 1);
  });
});
