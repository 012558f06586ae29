// System instructions and VM exits: MOV to/from CR0 CR2 CR3 CR4 and DR0-DR7, LGDT SGDT LIDT SIDT,
// SMSW LMSW CLTS, and every exit the core takes for an instruction (SDM Vol. 3 ch. 25-28):
// CPUID (10), HLT (12), INVLPG (14, qualification = linear address), RDTSC (16), VMCALL (18),
// CR access (28, qualification: CR number 3:0, access type 5:4 (0 MOV to, 2 CLTS, 3 LMSW),
// LMSW operand type 6 (1 = memory), GPR 11:8, LMSW source data 31:16), I/O (30, qualification:
// size-1 2:0, direction 3 (1 = IN), string 4, REP 5, immediate operand 6, port 31:16), RDMSR (31)
// and WRMSR (32). A fault-like exit leaves EIP at the instruction, nothing of it executed, and
// X_INSTRUCTION_LENGTH holds its length.
import { describe, it, expect } from "vitest";
import { cpuWith, DATA, type Regs } from "./helpers";
import { TestCpu, CODE_BASE } from "./harness";
import * as L from "../../assembly/vmcs-layout";

type Setup = (cpu: TestCpu) => void;

// Run `nop; <asm>; hlt` so that an exiting instruction starts at CODE_BASE + 1.
function run(asm: string, regs: Regs = {}, setup: Setup = () => {}, mem: Record<number, number> = {}): TestCpu {
  const cpu = cpuWith(regs);
  for (const [a, v] of Object.entries(mem)) cpu.write32(Number(a), v);
  setup(cpu);
  cpu.exec(`nop\n${asm}\nhlt`);
  return cpu;
}
function setBit(cpu: TestCpu, map: number, port: number): void {
  new Uint8Array(cpu.core.memory.buffer)[map + ((port & 0x7fff) >> 3)] |= 1 << (port & 7);
}
const controls = (c: number): Setup => (cpu) => cpu.setVmcs(L.C_PRIMARY, c);
const both = (...fs: Setup[]): Setup => (cpu) => fs.forEach((f) => f(cpu));
const vmcs = (field: number, v: number): Setup => (cpu) => cpu.setVmcs(field, v);
const cr0Owned = (mask: number, shadow: number): Setup => both(vmcs(L.C_CR0_MASK, mask), vmcs(L.C_CR0_SHADOW, shadow));
// CR3-load exiting with `count` valid CR3-target values
const cr3Targets = (count: number, ...t: number[]): Setup => (cpu) => {
  cpu.setVmcs(L.C_PRIMARY, L.CTL_HLT_EXITING | L.CTL_CR3_LOAD_EXITING);
  cpu.setVmcs(L.C_CR3_TARGET_COUNT, count);
  t.forEach((v, i) => cpu.setVmcs(L.C_CR3_TARGETS + 4 * i, v));
};

describe("instructions that exit", () => {
  type Row = [asm: string, regs: Regs, setup: Setup, reason: number, qualification: number, length: number];
  it.each<Row>([
    ["cpuid", { eax: 1, ecx: 0 }, () => {}, L.EXIT_CPUID, 0, 2],
    ["hlt", {}, () => {}, L.EXIT_HLT, 0, 1],
    ["invlpg 0x1234(%ebx)", { ebx: 0x10 }, controls(L.CTL_HLT_EXITING | L.CTL_INVLPG_EXITING), L.EXIT_INVLPG, 0x1244, 7],
    ["invlpg %fs:(%ebx)", { ebx: 0x10 }, both(controls(L.CTL_HLT_EXITING | L.CTL_INVLPG_EXITING),
      (cpu) => cpu.setSegment(L.SR_FS, 0x10, 0x00400000, 0xffffffff, 0xc093)), L.EXIT_INVLPG, 0x00400010, 4],
    ["rdtsc", {}, controls(L.CTL_HLT_EXITING | L.CTL_RDTSC_EXITING), L.EXIT_RDTSC, 0, 2],
    ["vmcall", {}, () => {}, L.EXIT_VMCALL, 0, 3],
    ["rdmsr", { ecx: 0x10 }, () => {}, L.EXIT_RDMSR, 0, 2],
    ["wrmsr", { ecx: 0x10 }, () => {}, L.EXIT_WRMSR, 0, 2],
    // CR3-load exiting and the CR3-target list
    ["movl %ecx,%cr3", { ecx: 0x5000 }, cr3Targets(0), L.EXIT_CR_ACCESS, 0x103, 3],
    ["movl %eax,%cr3", { eax: 0x6000 }, cr3Targets(1, 0x5000, 0x6000), L.EXIT_CR_ACCESS, 0x003, 3],
    ["movl %edi,%cr3", { edi: 0x7000 }, cr3Targets(4, 0x1000, 0x2000, 0x3000, 0x4000), L.EXIT_CR_ACCESS, 0x703, 3],
    // CR0/CR4 guest/host masks: a write changing an owned bit away from the read shadow exits
    ["movl %edx,%cr0", { edx: 0x80000011 }, cr0Owned(0x80000001, 0x11), L.EXIT_CR_ACCESS, 0x200, 3],
    ["movl %eax,%cr0", { eax: 0x19 }, cr0Owned(0x8, 0), L.EXIT_CR_ACCESS, 0x000, 3],
    ["movl %esi,%cr4", { esi: 0x10 }, both(vmcs(L.C_CR4_MASK, 0x10), vmcs(L.C_CR4_SHADOW, 0)), L.EXIT_CR_ACCESS, 0x604, 3],
    ["clts", {}, cr0Owned(0x8, 0x8), L.EXIT_CR_ACCESS, 0x20, 2],
    ["lmsw %ax", { eax: 0x000b }, cr0Owned(0x8, 0), L.EXIT_CR_ACCESS, 0x000b0030, 3],
    ["lmsw 0x40000", {}, both(cr0Owned(0x8, 0), (cpu) => cpu.write32(DATA, 0xffff0009)), L.EXIT_CR_ACCESS, 0x00090070, 7],
    // I/O with unconditional I/O exiting
    ["inb $0x60,%al", {}, () => {}, L.EXIT_IO, 0x00600048, 2],
    ["inw $0x60,%ax", {}, () => {}, L.EXIT_IO, 0x00600049, 3],
    ["outb %al,$0x80", {}, () => {}, L.EXIT_IO, 0x00800040, 2],
    ["outl %eax,$0x80", {}, () => {}, L.EXIT_IO, 0x00800043, 2],
    ["outw %ax,%dx", { edx: 0x3f8 }, () => {}, L.EXIT_IO, 0x03f80001, 2],
    ["inl %dx,%eax", { edx: 0x12340cf8 }, () => {}, L.EXIT_IO, 0x0cf8000b, 1],
    ["inb %dx,%al", { edx: 0xffff }, () => {}, L.EXIT_IO, 0xffff0008, 1],
    ["insb", { edx: 0x1f0, edi: DATA }, () => {}, L.EXIT_IO, 0x01f00018, 1],
    ["rep outsw", { edx: 0x1f0, esi: DATA, ecx: 4 }, () => {}, L.EXIT_IO, 0x01f00031, 3],
    ["rep insl", { edx: 0x1f0, edi: DATA, ecx: 4 }, () => {}, L.EXIT_IO, 0x01f0003b, 2],
  ])("%s: exit reason, qualification, length, EIP", (asm, regs, setup, reason, qual, length) => {
    const cpu = run(asm, regs, setup);
    expect(cpu.exitReason).toBe(reason);
    expect(cpu.qualification >>> 0).toBe(qual);
    expect(cpu.vmcs(L.X_INSTRUCTION_LENGTH)).toBe(length);
    expect(cpu.eip).toBe(CODE_BASE + 1);
    for (const [r, v] of Object.entries(regs)) expect(cpu.reg(r as keyof Regs)).toBe(v); // nothing executed
  });

  it("state is unchanged by an exiting MOV CR3 / MOV CR0 / CLTS", () => {
    const cpu = run("movl %ecx,%cr3", { ecx: 0x5000 }, cr3Targets(0));
    expect(cpu.vmcs(L.G_CR3)).toBe(0);
    const c0 = run("movl %edx,%cr0", { edx: 0x80000011 }, cr0Owned(0x80000001, 0x11));
    expect(c0.vmcs(L.G_CR0)).toBe(0x11);
    const c1 = run("clts", {}, both(cr0Owned(0x8, 0x8), vmcs(L.G_CR0, 0x19)));
    expect(c1.vmcs(L.G_CR0)).toBe(0x19);
  });

  it("the string I/O exit reports the linear address of the memory operand", () => {
    expect(run("rep outsw", { edx: 0x1f0, esi: DATA + 2, ecx: 4 }).vmcs(L.X_GUEST_LINEAR)).toBe(DATA + 2);
    expect(run("insb", { edx: 0x1f0, edi: DATA + 9 }).vmcs(L.X_GUEST_LINEAR)).toBe(DATA + 9);
  });

  it("the VMM resumes after emulating: EIP += length continues with the next instruction", () => {
    const cpu = run("cpuid\n movl $7,%ebx", { eax: 0 });
    expect(cpu.exitReason).toBe(L.EXIT_CPUID);
    cpu.setReg("eax", 0x11);
    cpu.eip += cpu.vmcs(L.X_INSTRUCTION_LENGTH);
    expect(cpu.run()).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax")).toBe(0x11);
    expect(cpu.reg("ebx")).toBe(7);
    expect(cpu.eip).toBe(CODE_BASE + 1 + 2 + 5);
  });
});

describe("no exit when the controls do not ask for one", () => {
  it.each<[string, Regs, Setup, Regs]>([
    ["movl %eax,%cr3", { eax: 0x6000 }, cr3Targets(2, 0x5000, 0x6000), {}],
    ["movl %eax,%cr3", { eax: 0x4000 }, cr3Targets(4, 0x1000, 0x2000, 0x3000, 0x4000), {}],
    ["movl %eax,%cr3", { eax: 0x7000 }, controls(L.CTL_HLT_EXITING), {}],
    ["movl %edx,%cr0", { edx: 0x13 }, cr0Owned(0x80000001, 0x11), {}],
    ["clts", {}, both(cr0Owned(0x8, 0), vmcs(L.G_CR0, 0x19)), {}],
    ["invlpg (%eax)", { eax: 0x1000 }, controls(L.CTL_HLT_EXITING), {}],
    ["inb $0x60,%al", { eax: 0x12345600 }, controls(L.CTL_HLT_EXITING), { eax: 0x123456ff }],
    ["inl %dx,%eax", { edx: 0x3f8, eax: 0 }, controls(L.CTL_HLT_EXITING), { eax: 0xffffffff }],
    ["outb %al,%dx", { edx: 0x3f8 }, controls(L.CTL_HLT_EXITING | L.CTL_USE_IO_BITMAPS), {}],
    ["rdtsc", {}, both(vmcs(L.G_TSC_LO, 0x1000), vmcs(L.G_TSC_HI, 1)), { eax: 0x1001, edx: 1 }], // 1 instruction (NOP) retired
  ])("%s", (asm, regs, setup, out) => {
    const cpu = run(asm, regs, setup);
    expect(cpu.exitReason).toBe(L.EXIT_HLT);
    for (const [r, v] of Object.entries(out)) expect(cpu.reg(r as keyof Regs) >>> 0).toBe(v);
  });

  it("INS/OUTS without an exit still advance EDI/ESI and count ECX down (SDM INS/OUTS, REP)", () => {
    // no device behind the port: INS stores what IN reads there (all ones)
    const ins = run("rep insb", { edx: 0x1f0, edi: DATA, ecx: 3 }, controls(L.CTL_HLT_EXITING), { [DATA]: 0 });
    expect([ins.reg("ecx"), ins.reg("edi"), ins.read32(DATA)]).toEqual([0, DATA + 3, 0x00ffffff]);
    const outs = run("rep outsw", { edx: 0x1f0, esi: DATA, ecx: 2 }, controls(L.CTL_HLT_EXITING));
    expect([outs.reg("ecx"), outs.reg("esi")]).toEqual([0, DATA + 4]);
    const outsb = run("std\n outsb", { edx: 0x1f0, esi: DATA }, controls(L.CTL_HLT_EXITING));
    expect(outsb.reg("esi")).toBe(DATA - 1);
  });

  it("MOV CR3 to a CR3-target value loads CR3 without an exit", () => {
    expect(run("movl %eax,%cr3", { eax: 0x6000 }, cr3Targets(2, 0x5000, 0x6000)).vmcs(L.G_CR3)).toBe(0x6000);
  });

  it("HLT without HLT exiting ends the entry after the HLT with the guest halted", () => {
    const cpu = run("hlt", {}, controls(0));
    expect(cpu.exitReason).toBe(L.EXIT_PREEMPTION_TIMER);
    expect(cpu.eip).toBe(CODE_BASE + 2);
    expect(cpu.vmcs(L.G_ACTIVITY)).toBe(L.ACTIVITY_HLT);
  });
});

describe("I/O bitmaps A and B", () => {
  const bitmaps = (...ports: number[]): Setup => (cpu) => {
    cpu.setVmcs(L.C_PRIMARY, L.CTL_HLT_EXITING | L.CTL_USE_IO_BITMAPS | L.CTL_UNCONDITIONAL_IO);
    for (const p of ports) setBit(cpu, p < 0x8000 ? L.IO_BITMAP_A : L.IO_BITMAP_B, p);
  };
  it.each<[asm: string, port: number, set: number[], exits: boolean]>([
    ["outb %al,%dx", 0x3f8, [0x3f8], true],
    ["outb %al,%dx", 0x3f9, [0x3f8], false], // the bitmaps override unconditional I/O exiting
    ["inl %dx,%eax", 0x3f5, [0x3f8], true], // ports 0x3f5-0x3f8: the last one's bit is set
    ["inl %dx,%eax", 0x3f4, [0x3f8], false],
    ["inw %dx,%ax", 0x7fff, [0x8000], true], // spans A and B
    ["inb %dx,%al", 0x8004, [0x8004], true],
    ["inb %dx,%al", 0x8004, [0x0004], false], // bitmap B is not bitmap A
    ["inb %dx,%al", 0x0004, [0x8004], false],
    ["outw %ax,%dx", 0xfffe, [0xffff], true],
    ["insb", 0x1f0, [0x1f0], true],
    ["outsb", 0x1f1, [0x1f0], false],
  ])("%s port %i with bits %j set: exit %s", (asm, port, set, exits) => {
    const cpu = run(asm, { edx: port, esi: DATA, edi: DATA }, bitmaps(...set));
    expect(cpu.exitReason).toBe(exits ? L.EXIT_IO : L.EXIT_HLT);
    if (exits) expect(cpu.qualification >>> 16).toBe(port);
  });

  it("an access wrapping from port 0xFFFF to 0 always exits (SDM 25.1.3)", () => {
    expect(run("inl %dx,%eax", { edx: 0xffff }, bitmaps()).exitReason).toBe(L.EXIT_IO);
  });
});

describe("control, debug and descriptor-table registers", () => {
  it("SVM's CR intercepts (C_CR_INTERCEPTS) exit for any access to CRn, whatever the value; a CR without one is #UD first", () => {
    const cases: Array<[string, number, number]> = [
      ["movl %cr0, %eax", 1 << 0, 0x10], // a read of CR0: MOV from, EAX
      ["movl %cr3, %ecx", 1 << 3, 0x113], // a read of CR3 into ECX
      ["movl %cr0, %eax\nmovl %eax, %cr0", 1 << 16, 0x0], // a write of CR0's own value
      ["movl %ebx, %cr4", 1 << 20, 0x304], // a write of CR4 from EBX
      ["movl %ebx, %cr2", 1 << 18, 0x302],
      ["clts", 1 << 16, 0x20],
      ["lmsw %ax", 1 << 16, 0x30], // LMSW's data (AX = 0) in bits 31:16
    ];
    for (const [asm, intercepts, qualification] of cases) {
      const cpu = run(asm, {}, vmcs(L.C_CR_INTERCEPTS, intercepts));
      expect([asm, cpu.exitReason, cpu.vmcs(L.X_QUALIFICATION)]).toEqual([asm, L.EXIT_CR_ACCESS, qualification]);
    }
    // The interceptless registers exit nothing: a read of CR3 with only CR0's read intercept completes.
    expect(run("movl %cr3, %ecx", {}, vmcs(L.C_CR_INTERCEPTS, 1)).exitReason).toBe(L.EXIT_HLT);
    const ud = run(".byte 0x0f, 0x20, 0xe8", {}, both(vmcs(L.C_CR_INTERCEPTS, 0xffffffff), vmcs(L.C_EXCEPTION_BITMAP, 1 << 6))); // MOV EAX, CR5
    expect([ud.exitReason, ud.vmcs(L.X_INTR_INFO) & 0xff]).toEqual([L.EXIT_EXCEPTION, 6]);
  });

  it("MOV to and from CR0 CR2 CR3 CR4 (CR0.ET reads as 1)", () => {
    const cpu = run("movl %eax,%cr0\n movl %cr0,%ebx\n movl %ecx,%cr2\n movl %cr2,%edx\n" +
      "movl %esi,%cr3\n movl %cr3,%edi\n movl %ebp,%cr4\n movl %cr4,%esp",
    { eax: 0x03, ecx: 0xdeadbeef, esi: 0x00123000, ebp: 0x90 });
    expect(cpu.exitReason).toBe(L.EXIT_HLT);
    expect([cpu.vmcs(L.G_CR0), cpu.reg("ebx")]).toEqual([0x13, 0x13]);
    expect([cpu.vmcs(L.G_CR2) >>> 0, cpu.reg("edx")]).toEqual([0xdeadbeef, 0xdeadbeef]);
    expect([cpu.vmcs(L.G_CR3), cpu.reg("edi")]).toEqual([0x123000, 0x123000]);
    expect([cpu.vmcs(L.G_CR4), cpu.reg("esp")]).toEqual([0x90, 0x90]);
  });

  it("MOV to and from CRn and DRn ignore ModR/M.mod: nothing follows the ModR/M byte (SDM MOV)", () => {
    // mod 2 and mod 1 with r/m 4: a memory form would take a SIB byte and a displacement (the HLT)
    const cpu = run(".byte 0x0f,0x20,0x84 # movl %cr0,%esp\n .byte 0x0f,0x23,0x4c # movl %esp,%dr1", { esp: 0 });
    expect(cpu.exitReason).toBe(L.EXIT_HLT);
    expect([cpu.reg("esp"), cpu.vmcs(L.G_DR + 4)]).toEqual([0x11, 0x11]);
  });

  it("reads of CR0/CR4 return the read shadow in host-owned bits", () => {
    const cpu = run("movl %cr0,%eax\n movl %cr4,%ebx\n smsw %cx", { ecx: 0xffff0000 }, both(
      vmcs(L.C_CR0_MASK, 0x8), vmcs(L.C_CR0_SHADOW, 0x8), vmcs(L.C_CR4_MASK, 0x80), vmcs(L.C_CR4_SHADOW, 0x80), vmcs(L.G_CR4, 0x10)));
    expect([cpu.reg("eax"), cpu.reg("ebx"), cpu.reg("ecx") >>> 0]).toEqual([0x19, 0x90, 0xffff0019]);
  });

  it("MOV to and from DR0-DR7; DR4/DR5 alias DR6/DR7", () => {
    const cpu = run("movl %eax,%dr0\n movl %dr0,%ebx\n movl %ecx,%dr7\n movl %dr7,%edx\n" +
      ".byte 0x0f,0x23,0xe6 # movl %esi,%dr4\n movl %dr6,%edi\n movl %eax,%dr3",
    { eax: 0x1234, ecx: 0x401, esi: 0xffff0ff0 });
    expect([cpu.vmcs(L.G_DR), cpu.reg("ebx"), cpu.vmcs(L.G_DR + 12)]).toEqual([0x1234, 0x1234, 0x1234]);
    expect([cpu.vmcs(L.G_DR + 28), cpu.reg("edx")]).toEqual([0x401, 0x401]);
    expect([cpu.vmcs(L.G_DR + 24) >>> 0, cpu.reg("edi") >>> 0]).toEqual([0xffff0ff0, 0xffff0ff0]);
  });

  it("LGDT/LIDT load a 6-byte operand; SGDT/SIDT store limit and base", () => {
    const cpu = run("lgdt 0x40000\n sgdt 0x40010\n lidt 0x40008\n sidt 0x40018", {}, () => {}, {
      [DATA]: 0xcdef1234, [DATA + 4]: 0x0000ab89, [DATA + 8]: 0x567807ff, [DATA + 12]: 0x00001234,
      [DATA + 0x14]: 0xffffffff, [DATA + 0x1c]: 0xffffffff,
    });
    expect([cpu.vmcs(L.G_GDTR_LIMIT), cpu.vmcs(L.G_GDTR_BASE) >>> 0]).toEqual([0x1234, 0xab89cdef]);
    expect([cpu.vmcs(L.G_IDTR_LIMIT), cpu.vmcs(L.G_IDTR_BASE) >>> 0]).toEqual([0x07ff, 0x12345678]);
    expect([cpu.read32(DATA + 0x10), cpu.read32(DATA + 0x14)]).toEqual([0xcdef1234, 0xffffab89]);
    expect([cpu.read32(DATA + 0x18), cpu.read32(DATA + 0x1c)]).toEqual([0x567807ff, 0xffff1234]);
  });

  it("with a 16-bit operand size LGDT/LIDT keep 24 bits of base and SGDT/SIDT store a zero top byte", () => {
    const cpu = run("lgdtw 0x40000\n sgdtw 0x40010", {}, () => {}, {
      [DATA]: 0xcdef1234, [DATA + 4]: 0x0000ab89, [DATA + 0x14]: 0xffffffff,
    });
    expect(cpu.vmcs(L.G_GDTR_BASE)).toBe(0x89cdef);
    expect([cpu.read32(DATA + 0x10), cpu.read32(DATA + 0x14)]).toEqual([0xcdef1234, 0xffff0089]);
  });

  it.each<[asm: string, cr0: number, regs: Regs, cr0Out: number]>([
    ["lmsw %ax", 0x11, { eax: 0xe }, 0x1f],
    ["lmsw %ax", 0x1f, { eax: 0 }, 0x11], // PE cannot be cleared
    ["lmsw %ax", 0x11, { eax: 0xfff4 }, 0x15], // only bits 3:0
    ["clts", 0x19, {}, 0x11],
  ])("%s with CR0 %i", (asm, cr0, regs, cr0Out) => {
    const cpu = run(asm, regs, vmcs(L.G_CR0, cr0));
    expect(cpu.exitReason).toBe(L.EXIT_HLT);
    expect(cpu.vmcs(L.G_CR0)).toBe(cr0Out);
  });

  it("SMSW stores the low 16 bits of CR0 to a register or memory word", () => {
    const cpu = run("smsw %ax\n smsw 0x40000", { eax: 0xffff0000 }, vmcs(L.G_CR0, 0x00050031), { [DATA]: 0xffffffff });
    expect([cpu.reg("eax") >>> 0, cpu.read32(DATA)]).toEqual([0xffff0031, 0xffff0031]);
  });
});
