// Stack and control flow: PUSH POP (registers, immediates, memory, ESP itself), PUSHA POPA,
// PUSHF POPF, ENTER LEAVE, CALL RET (near, direct and indirect, RET imm16), JMP, Jcc (rel8 and
// rel32), LOOP LOOPE LOOPNE JECXZ, SETcc, CMOVcc, and a stack with SS.B = 0 (SP wraps at 64 KiB).
// Condition codes as SDM Vol. 1 Appendix B: B = CF, E = ZF, BE = CF|ZF, S = SF, P = PF,
// L = SF != OF, LE = ZF | (SF != OF), O = OF; the odd codes are the negations.
import { describe, it, expect } from "vitest";
import { check, cpuWith, named, ARITH, CF, PF, AF, ZF, SF, OF, DF, DATA, type Regs } from "./helpers";
import { SR_SS, SR_CS, SR_DS, SR_ES } from "../../assembly/vmcs-layout";
import { STACK_TOP as TOP, AR_CODE3, AR_DATA3, type TestCpu } from "./harness";

type Mem = Record<number, number>;

describe("PUSH / POP", () => {
  it.each(named<[asm: string, regsIn: Regs, memIn: Mem, regsOut: Regs, memOut: Mem]>([
    ["pushl %eax", { eax: 0x12345678 }, {}, { esp: TOP - 4 }, { [TOP - 4]: 0x12345678 }],
    ["pushw %ax", { eax: 0x12345678 }, { [TOP - 4]: 0 }, { esp: TOP - 2 }, { [TOP - 4]: 0x56780000 }],
    ["pushl $-2", {}, {}, { esp: TOP - 4 }, { [TOP - 4]: 0xfffffffe }],
    ["pushl $0x12345678", {}, {}, { esp: TOP - 4 }, { [TOP - 4]: 0x12345678 }],
    ["pushw $0x1234", {}, { [TOP - 4]: 0 }, { esp: TOP - 2 }, { [TOP - 4]: 0x12340000 }],
    ["pushl %esp", {}, {}, { esp: TOP - 4 }, { [TOP - 4]: TOP }], // the value before the push
    ["pushl 0x40000", {}, { [DATA]: 0xcafebabe }, { esp: TOP - 4 }, { [TOP - 4]: 0xcafebabe }],
    ["pushw 0x40000", {}, { [DATA]: 0xcafebabe, [TOP - 4]: 0 }, { esp: TOP - 2 }, { [TOP - 4]: 0xbabe0000 }],
    ["popl %eax", { esp: TOP - 4 }, { [TOP - 4]: 0xcafe }, { eax: 0xcafe, esp: TOP }, {}],
    ["popw %ax", { eax: 0xffffffff, esp: TOP - 4 }, { [TOP - 4]: 0x1234cafe }, { eax: 0xffffcafe, esp: TOP - 2 }, {}],
    ["popl %esp", { esp: TOP - 4 }, { [TOP - 4]: 0x12345678 }, { esp: 0x12345678 }, {}],
    ["popl 0x40000", { esp: TOP - 4 }, { [TOP - 4]: 0x5555aaaa }, { esp: TOP }, { [DATA]: 0x5555aaaa }],
    // POP computes a memory destination with the already incremented ESP
    ["popl 4(%esp)", { esp: TOP - 8 }, { [TOP - 8]: 0x77, [TOP - 4]: 0, [TOP]: 0 }, { esp: TOP - 4 }, { [TOP]: 0x77, [TOP - 4]: 0 }],
    ["pushl %eax; popl %ebx", { eax: 0xdeadbeef, ebx: 0 }, {}, { ebx: 0xdeadbeef, esp: TOP }, {}],
    ["pushl (%esp)", { esp: TOP - 4 }, { [TOP - 4]: 0x77 }, { esp: TOP - 8 }, { [TOP - 8]: 0x77 }],
    ["pushl 4(%esp)", { esp: TOP - 8 }, { [TOP - 4]: 0x66 }, { esp: TOP - 12 }, { [TOP - 12]: 0x66 }],
    ["popl (%esp)", { esp: TOP - 4 }, { [TOP - 4]: 0x55, [TOP]: 0 }, { esp: TOP }, { [TOP]: 0x55 }],
    ["pushal", { eax: 1, ecx: 2, edx: 3, ebx: 4, ebp: 6, esi: 7, edi: 8 }, {}, { esp: TOP - 32 },
      { [TOP - 4]: 1, [TOP - 8]: 2, [TOP - 12]: 3, [TOP - 16]: 4, [TOP - 20]: TOP, [TOP - 24]: 6, [TOP - 28]: 7, [TOP - 32]: 8 }],
    ["popal", { esp: TOP - 32 },
      { [TOP - 4]: 1, [TOP - 8]: 2, [TOP - 12]: 3, [TOP - 16]: 4, [TOP - 20]: 0xdead, [TOP - 24]: 6, [TOP - 28]: 7, [TOP - 32]: 8 },
      { eax: 1, ecx: 2, edx: 3, ebx: 4, esp: TOP, ebp: 6, esi: 7, edi: 8 }, {}],
    ["pushaw", { eax: 0xa0001, ecx: 0xa0002, edx: 3, ebx: 4, ebp: 6, esi: 7, edi: 0xffff0008 }, {}, { esp: TOP - 16 },
      { [TOP - 4]: 0x00010002, [TOP - 8]: 0x00030004, [TOP - 12]: 0x00000006, [TOP - 16]: 0x00070008 }],
    ["popaw", { eax: 0xffffffff, esi: 0xffffffff, esp: TOP - 16 },
      { [TOP - 4]: 0x00010002, [TOP - 8]: 0x00030004, [TOP - 12]: 0x99990006, [TOP - 16]: 0x00070008 },
      { eax: 0xffff0001, ecx: 2, edx: 3, ebx: 4, esp: TOP, ebp: 6, esi: 0xffff0007, edi: 8 }, {}],
  ]))("%s", (_, asm, regs, min, out, mout) => {
    check(asm, { regs, mem: min }, { regs: out, mem: mout });
  });
});

describe("PUSHF / POPF", () => {
  // the pushed image is masked to the status flags and DF (IF differs between the core at CPL 0
  // and the host oracle at CPL 3)
  it.each(named<[asm: string, flagsIn: number, memOut: Mem]>([
    ["pushfl", CF | ZF | OF | DF, { [TOP - 4]: CF | ZF | OF | DF }],
    ["addl $1,%eax; pushfl", 0, { [TOP - 4]: ZF | CF | AF | PF }], // lazy flags materialized
    ["pushfw", SF | PF, { [TOP - 4]: (SF | PF) << 16 }],
  ], 2))("%s", (_, asm, fin, mout) => {
    const size = asm.endsWith("w") ? "w" : "l";
    check(`${asm}\n and${size} $0xcd5,(%esp)`, { regs: { eax: 0xffffffff }, flags: fin, mem: { [TOP - 4]: 0 } }, { mem: mout });
  });
  it.each(named<[asm: string, flagsIn: number, mem: number, flagsOut: number]>([
    ["popfl", 0, 0x8d5, ARITH],
    ["popfl", ARITH, 0, 0],
    ["popfl", 0, 0x400, DF],
    ["popfw", ARITH, 0xffff0040, ZF],
  ], 2))("%s", (_, asm, fin, mem, fout) => {
    check(asm, { regs: { esp: TOP - 4 }, flags: fin, mem: { [TOP - 4]: mem } },
      { flags: fout, mask: ARITH | DF });
  });
});

describe("POPF and IF/IOPL by privilege (SDM POPF: IOPL changes only at CPL 0, IF only at CPL <= IOPL)", () => {
  const IF = 0x200, IOPL = 0x3000;
  const ring3 = (cpu: TestCpu) => {
    cpu.setSegment(SR_CS, 0x1b, 0, 0xffffffff, AR_CODE3);
    for (const s of [SR_SS, SR_DS, SR_ES]) cpu.setSegment(s, 0x23, 0, 0xffffffff, AR_DATA3);
  };
  it.each<[name: string, cpl3: boolean, flagsIn: number, image: number, flagsOut: number]>([
    ["CPL 0 sets IF and IOPL", false, 0, IF | IOPL | CF, IF | IOPL | CF],
    ["CPL 0 clears IF and IOPL", false, IF | IOPL, 0, 0],
    ["CPL 3, IOPL 0: IF and IOPL kept, CF loaded", true, 0, IF | IOPL | CF, CF],
    ["CPL 3, IOPL 0: IF kept set", true, IF, 0, IF],
    ["CPL 3, IOPL 3: IF loaded, IOPL kept", true, IOPL, IF, IF | IOPL],
  ])("%s", (_, cpl3, fin, image, fout) => {
    const cpu = cpuWith({ esp: TOP - 4 }, fin);
    cpu.write32(TOP - 4, image);
    if (cpl3) ring3(cpu);
    expect(cpu.exec("popfl\n vmcall")).toBe(18); // VMCALL exits at any CPL
    expect((cpu.eflags & (IF | IOPL | CF)).toString(16)).toBe(fout.toString(16));
    expect(cpu.reg("esp")).toBe(TOP);
  });
});

describe("ENTER / LEAVE", () => {
  it.each(named<[asm: string, regsIn: Regs, memIn: Mem, regsOut: Regs, memOut: Mem]>([
    ["enter $16,$0", { ebp: 0x12345678 }, {}, { ebp: TOP - 4, esp: TOP - 20 }, { [TOP - 4]: 0x12345678 }],
    ["enter $8,$1", { ebp: 0x12345678 }, {}, { ebp: TOP - 4, esp: TOP - 16 }, { [TOP - 4]: 0x12345678, [TOP - 8]: TOP - 4 }],
    ["enter $0,$2", { ebp: TOP - 0x100 }, { [TOP - 0x104]: 0xaaaa }, { ebp: TOP - 4, esp: TOP - 12 },
      { [TOP - 4]: TOP - 0x100, [TOP - 8]: 0xaaaa, [TOP - 12]: TOP - 4 }],
    ["leave", { ebp: TOP - 16, esp: TOP - 64 }, { [TOP - 16]: 0x11111111 }, { ebp: 0x11111111, esp: TOP - 12 }, {}],
    ["enter $0x20,$0; leave", { ebp: 0xbbbb }, {}, { ebp: 0xbbbb, esp: TOP }, { [TOP - 4]: 0xbbbb }],
    ["enterw $4,$0", { ebp: 0xffff1234 }, { [TOP - 4]: 0 }, { ebp: 0xfffffffe, esp: TOP - 6 }, { [TOP - 4]: 0x12340000 }],
    ["leavew", { ebp: 0x0008fff0, esp: 0 }, { [TOP - 16]: 0xaaaa1234 }, { ebp: 0x00081234, esp: TOP - 14 }, {}],
  ]))("%s", (_, asm, regs, min, out, mout) => {
    check(asm, { regs, mem: min }, { regs: out, mem: mout });
  });
});

describe("CALL / RET / JMP", () => {
  it.each(named<[asm: string, regsIn: Regs, memIn: Mem, regsOut: Regs, memOut: Mem]>([
    ["call f\n jmp 1f\n f: movl $1,%eax\n ret\n 1:", { eax: 0 }, {}, { eax: 1, esp: TOP }, { [TOP - 4]: 0x10005 }],
    ["movl $f,%ebx\n call *%ebx\n jmp 1f\n f: movl $2,%eax\n ret\n 1:", {}, {}, { eax: 2, esp: TOP }, { [TOP - 4]: 0x10007 }],
    ["call *0x40000\n jmp 1f\n f: movl $3,%eax\n ret\n 1:", {}, { [DATA]: 0x10008 }, { eax: 3, esp: TOP }, { [TOP - 4]: 0x10006 }],
    ["pushl $1\n pushl $2\n call f\n jmp 1f\n f: ret $8\n 1:", {}, {}, { esp: TOP }, { [TOP - 4]: 1, [TOP - 8]: 2, [TOP - 12]: 0x10009 }],
    ["call f\n f: popl %eax", {}, {}, { eax: 0x10005, esp: TOP }, {}],
    ["jmp 1f\n movl $1,%eax\n 1:", { eax: 0 }, {}, { eax: 0 }, {}],
    ["jmp 1f\n .fill 300,1,0x90\n movl $1,%eax\n 1:", { eax: 0 }, {}, { eax: 0 }, {}],
    ["movl $1f,%ecx\n jmp *%ecx\n movl $1,%eax\n 1:", { eax: 0 }, {}, { eax: 0 }, {}],
    ["jmp *0x40000\n movl $1,%eax\n 1: ", { eax: 0 }, { [DATA]: 0x1000b }, { eax: 0 }, {}],
  ]))("%s", (_, asm, regs, min, out, mout) => {
    check(asm, { regs, mem: min }, { regs: out, mem: mout });
  });
});

describe("Jcc / SETcc / CMOVcc with each condition", () => {
  it.each(named<[cc: string, flags: number, taken: boolean]>([
    ["o", OF, true], ["o", SF | ZF | CF | PF, false], ["no", SF, true], ["no", OF, false],
    ["b", CF, true], ["b", ZF | SF, false], ["ae", ZF, true], ["ae", CF, false],
    ["e", ZF, true], ["e", CF | PF, false], ["ne", SF, true], ["ne", ZF, false],
    ["be", CF, true], ["be", ZF, true], ["be", SF | OF | PF, false], ["a", 0, true], ["a", CF, false], ["a", ZF, false],
    ["s", SF, true], ["s", OF | CF, false], ["ns", 0, true], ["ns", SF, false],
    ["p", PF, true], ["p", AF, false], ["np", ZF, true], ["np", PF, false],
    ["l", SF, true], ["l", OF, true], ["l", SF | OF, false], ["l", ZF, false],
    ["ge", SF | OF, true], ["ge", 0, true], ["ge", SF, false], ["ge", OF, false],
    ["le", ZF, true], ["le", SF, true], ["le", OF | ZF | SF, true], ["le", SF | OF, false], ["le", CF, false],
    ["g", 0, true], ["g", SF | OF, true], ["g", ZF, false], ["g", OF, false],
  ], 2))("%s", (_, cc, flags, taken) => {
    const asm = `movl $0,%eax\n j${cc} 1f\n movl $1,%eax\n 1: set${cc} %bl\n cmov${cc}l %ecx,%edx\n cmov${cc}w 0x40000,%si`;
    check(asm, { regs: { ebx: 0xffffffff, ecx: 0x1111, edx: 0x2222, esi: 0xabcd0000 }, flags, mem: { [DATA]: 0x9999 } }, {
      regs: { eax: taken ? 0 : 1, ebx: taken ? 0xffffff01 : 0xffffff00, edx: taken ? 0x1111 : 0x2222, esi: taken ? 0xabcd9999 : 0xabcd0000 },
      flags, mask: ARITH,
    });
  });

  it.each(named<[asm: string, regs: Regs, below: number, less: number]>([
    // after CMP (lazy flags): bytes B BE A AE at DATA, L LE G GE at DATA+4
    ["cmpl %ebx,%eax", { eax: 1, ebx: 2 }, 0x00000101, 0x00000101],
    ["cmpl %ebx,%eax", { eax: 0xffffffff, ebx: 1 }, 0x01010000, 0x00000101],
    ["cmpl %ebx,%eax", { eax: 5, ebx: 5 }, 0x01000100, 0x01000100],
    ["cmpl %ebx,%eax", { eax: 0x80000000, ebx: 0x7fffffff }, 0x01010000, 0x00000101],
    ["cmpl %ebx,%eax", { eax: 0x7fffffff, ebx: 0x80000000 }, 0x00000101, 0x01010000],
    ["cmpb %bl,%al", { eax: 0xffffff80, ebx: 0x01 }, 0x01010000, 0x00000101],
    ["cmpw %bx,%ax", { eax: 0x0001, ebx: 0xffff }, 0x00000101, 0x01010000],
    ["subw %bx,%ax", { eax: 0x8000, ebx: 1 }, 0x01010000, 0x00000101], // SF=0 OF=1: less
    ["decl %eax", { eax: 0x80000000, ebx: 0 }, 0x01010000, 0x00000101], // CF=0 ZF=0, SF=0 OF=1
    ["testl %eax,%eax", { eax: 0x80000000 }, 0x01010000, 0x00000101],
  ], 2))("%s", (_, asm, regs, below, less) => {
    const sets = ["b", "be", "a", "ae", "l", "le", "g", "ge"].map((cc, i) => `set${cc} ${DATA + i}`).join("\n");
    check(`${asm}\n${sets}`, { regs, mem: { [DATA]: 0xffffffff, [DATA + 4]: 0xffffffff } }, { mem: { [DATA]: below, [DATA + 4]: less } });
  });

  it.each(named<[asm: string, flags: number, eax: number]>([
    ["jc 1f\n .fill 200,1,0x90\n movl $1,%eax\n 1:", CF, 0], // 0F 82 rel32, taken
    ["jc 1f\n .fill 200,1,0x90\n movl $1,%eax\n 1:", 0, 1], // not taken: falls through the NOPs
    ["jmp 2f\n 1: movl $7,%eax\n jmp 3f\n 2: .fill 200,1,0x90\n jz 1b\n 3:", ZF, 7], // rel32 backward
    ["jmp 2f\n 1: movl $7,%eax\n jmp 3f\n 2: .fill 200,1,0x90\n jz 1b\n 3:", 0, 0],
  ], 2))("rel32: %s", (_, asm, flags, eax) => {
    check(asm, { regs: { eax: 0 }, flags }, { regs: { eax } });
  });
});

describe("LOOP / LOOPE / LOOPNE / JECXZ", () => {
  it.each(named<[asm: string, regsIn: Regs, regsOut: Regs]>([
    ["1: incl %eax\n loop 1b", { eax: 0, ecx: 5 }, { eax: 5, ecx: 0 }],
    ["1: incl %eax\n loop 1b", { eax: 0, ecx: 1 }, { eax: 1, ecx: 0 }],
    ["1: incl %eax\n cmpl $3,%eax\n loopne 1b", { eax: 0, ecx: 10 }, { eax: 3, ecx: 7 }],
    ["1: incl %eax\n cmpl $3,%eax\n loopne 1b", { eax: 0, ecx: 2 }, { eax: 2, ecx: 0 }],
    ["1: incl %eax\n cmpl $1,%eax\n loope 1b", { eax: 0, ecx: 10 }, { eax: 2, ecx: 8 }],
    ["1: incl %eax\n cmpl %eax,%eax\n loope 1b", { eax: 0, ecx: 4 }, { eax: 4, ecx: 0 }],
    ["1: incl %eax\n addr16 loop 1b", { eax: 0, ecx: 0x12340003 }, { eax: 3, ecx: 0x12340000 }],
    ["jecxz 1f\n movl $1,%eax\n 1:", { eax: 0, ecx: 0 }, { eax: 0 }],
    ["jecxz 1f\n movl $1,%eax\n 1:", { eax: 0, ecx: 0x10000 }, { eax: 1 }],
    ["jcxz 1f\n movl $1,%eax\n 1:", { eax: 0, ecx: 0x10000 }, { eax: 0 }],
  ]))("%s", (_, asm, regs, out) => {
    check(asm, { regs }, { regs: out });
  });
});

describe("16-bit operand size near transfers clear the upper half of EIP", () => {
  it.each<[asm: string, flags: number, target: number, esp: number, stackWord?: number]>([
    [".byte 0x66,0xe9,0x00,0x01 # jmpw .+0x104", 0, 0x0104, TOP],
    [".byte 0x66,0xeb,0x10 # jmp rel8 with o16", 0, 0x0013, TOP],
    [".byte 0x66,0xe8,0x00,0x01 # callw .+0x104", 0, 0x0104, TOP - 2, 0x0004],
    [".byte 0x66,0x68,0x34,0x12,0x66,0xc3 # pushw $0x1234; retw", 0, 0x1234, TOP],
    [".byte 0x66,0x0f,0x84,0x00,0x02 # jzw .+0x205", ZF, 0x0205, TOP],
    [".byte 0x66,0x74,0x20 # jz rel8 with o16", ZF, 0x0023, TOP],
  ])("%s", (asm, flags, target, esp, stackWord) => {
    const cpu = cpuWith({}, flags);
    cpu.write8(target, 0xf4); // HLT at the 16-bit target
    cpu.write32(TOP - 4, 0);
    expect(cpu.exec(asm)).toBe(12);
    expect(cpu.eip).toBe(target);
    expect(cpu.reg("esp")).toBe(esp);
    if (stackWord !== undefined) expect(cpu.read32(TOP - 4) >>> 16).toBe(stackWord);
  });
});

describe("16-bit stack (SS.B = 0)", () => {
  const ss16 = (cpu: { setSegment(s: number, sel: number, b: number, l: number, ar: number): void }) =>
    cpu.setSegment(SR_SS, 0x10, DATA, 0xffff, 0x0093);
  it("PUSH decrements SP only and writes at SS.base + SP", () => {
    check("pushl %eax", { regs: { eax: 0x01020304, esp: 0xabcd0010 }, setup: ss16 },
      { regs: { esp: 0xabcd000c }, mem: { [DATA + 0xc]: 0x01020304 } });
  });
  it("SP wraps from 0 to 0xFFFC", () => {
    check("pushl %eax", { regs: { eax: 0x55, esp: 0x00010000 }, setup: ss16 },
      { regs: { esp: 0x0001fffc }, mem: { [DATA + 0xfffc]: 0x55 } });
  });
  it("POP and RET read at SS.base + SP", () => {
    check("popl %ebx", { regs: { esp: 0x7777fff0 }, mem: { [DATA + 0xfff0]: 0xfeed }, setup: ss16 },
      { regs: { ebx: 0xfeed, esp: 0x7777fff4 } });
  });
});
