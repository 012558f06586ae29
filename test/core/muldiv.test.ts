// Multiply and divide: MUL, IMUL (one, two and three operands, imm8 and imm16/32), DIV, IDIV in
// every operand size. SDM: after MUL/IMUL only CF and OF are defined (set when the upper half is
// significant, resp. when the truncated product differs from the full one); after DIV/IDIV no flag
// is defined, so those rows check the quotient and remainder only. Quotient overflow and division
// by zero (#DE) are in exceptions-basic.test.ts.
import { describe, it } from "vitest";
import { check, named, CF, OF, DATA, type Regs } from "./helpers";

type Row = [asm: string, regsIn: Regs, flagsIn: number, regsOut: Regs, flagsOut: number];
const MULF = CF | OF;

describe("MUL", () => {
  it.each(named<Row>([
    ["mulb %bl", { eax: 0xabcd0010, ebx: 0x10 }, 0, { eax: 0xabcd0100 }, CF | OF],
    ["mulb %bl", { eax: 0x0f, ebx: 0x11 }, CF | OF, { eax: 0x00ff }, 0],
    ["mulb %ah", { eax: 0xff0f }, 0, { eax: 0x0ef1 }, CF | OF],
    ["mulb %al", { eax: 0x1234ff00 }, 0, { eax: 0x12340000 }, 0],
    ["mulw %bx", { eax: 0xffff, ebx: 0xffff, edx: 0x12340000 }, 0, { eax: 0x0001, edx: 0x1234fffe }, CF | OF],
    ["mulw %cx", { eax: 0x100, ecx: 0x100, edx: 0 }, 0, { eax: 0, edx: 1 }, CF | OF],
    ["mulw %cx", { eax: 0xff, ecx: 0x101, edx: 0xffffffff }, CF, { eax: 0xffff, edx: 0xffff0000 }, 0],
    ["mull %ebx", { eax: 0xffffffff, ebx: 0xffffffff }, 0, { eax: 1, edx: 0xfffffffe }, CF | OF],
    ["mull %ecx", { eax: 0x12345678, ecx: 2, edx: 0x5555 }, OF, { eax: 0x2468acf0, edx: 0 }, 0],
    ["mull %eax", { eax: 0x10000 }, 0, { eax: 0, edx: 1 }, CF | OF],
  ]))("%s", (_, asm, regs, fin, out, fout) => {
    check(asm, { regs, flags: fin }, { regs: out, flags: fout, mask: MULF });
  });
});

describe("IMUL", () => {
  it.each(named<Row>([
    // one operand: the double-width product in AX, DX:AX or EDX:EAX
    ["imulb %bl", { eax: 0xff, ebx: 2 }, CF | OF, { eax: 0xfffe }, 0],
    ["imulb %bl", { eax: 0x80, ebx: 0xff }, 0, { eax: 0x0080 }, CF | OF],
    ["imulb %bl", { eax: 0x40, ebx: 2 }, 0, { eax: 0x0080 }, CF | OF],
    ["imulb %bl", { eax: 0xc0, ebx: 2 }, 0, { eax: 0xff80 }, 0],
    ["imulw %bx", { eax: 0x8000, ebx: 0x8000 }, 0, { eax: 0, edx: 0x4000 }, CF | OF],
    ["imulw %bx", { eax: 0xffff, ebx: 0xffff, edx: 0xabcd1234 }, 0, { eax: 1, edx: 0xabcd0000 }, 0],
    ["imulw %bx", { eax: 0xfffe, ebx: 0x4000 }, 0, { eax: 0x8000, edx: 0xffff }, 0],
    ["imull %ebx", { eax: 0x80000000, ebx: 0xffffffff }, 0, { eax: 0x80000000, edx: 0 }, CF | OF],
    ["imull %ebx", { eax: 0xfffffffd, ebx: 5 }, CF, { eax: 0xfffffff1, edx: 0xffffffff }, 0],
    ["imull %ecx", { eax: 0x40000000, ecx: 4 }, 0, { eax: 0, edx: 1 }, CF | OF],
    // two operands (0F AF): truncated to the operand size
    ["imull %ebx,%eax", { eax: 0x10000, ebx: 0x10000 }, 0, { eax: 0 }, CF | OF],
    ["imull %ebx,%eax", { eax: 0xfffffffe, ebx: 3, edx: 7 }, CF | OF, { eax: 0xfffffffa, edx: 7 }, 0],
    ["imulw %bx,%ax", { eax: 0x12344000, ebx: 2 }, 0, { eax: 0x12348000 }, CF | OF],
    ["imulw %bx,%ax", { eax: 0xffff, ebx: 0x8000 }, 0, { eax: 0x8000 }, CF | OF], // -1 * -32768
    ["imull %eax,%eax", { eax: 0xffff }, 0, { eax: 0xfffe0001 }, CF | OF],
    // three operands (6B imm8 sign-extended, 69 imm16/32)
    ["imull $-1,%ebx,%eax", { ebx: 0x80000000 }, 0, { eax: 0x80000000 }, CF | OF],
    ["imull $-1,%ebx,%eax", { ebx: 0x7fffffff }, 0, { eax: 0x80000001 }, 0],
    ["imull $1000,%ecx,%edx", { ecx: 1000 }, CF, { edx: 0xf4240 }, 0],
    ["imull $0x10000,%ecx,%edx", { ecx: 0x8000 }, 0, { edx: 0x80000000 }, CF | OF],
    ["imulw $0x7fff,%cx,%dx", { ecx: 2, edx: 0x55550000 }, 0, { edx: 0x5555fffe }, CF | OF],
    ["imulw $-2,%ax,%ax", { eax: 3 }, 0, { eax: 0xfffa }, 0],
  ]))("%s", (_, asm, regs, fin, out, fout) => {
    check(asm, { regs, flags: fin }, { regs: out, flags: fout, mask: MULF });
  });
});

describe("DIV / IDIV (quotient and remainder; flags undefined)", () => {
  it.each(named<[asm: string, regsIn: Regs, regsOut: Regs]>([
    ["divb %bl", { eax: 0x64, ebx: 7 }, { eax: 0x020e }],
    ["divb %bl", { eax: 0xffff01ff, ebx: 2 }, { eax: 0xffff01ff }],
    ["divb %cl", { eax: 0xff, ecx: 0x10 }, { eax: 0x0f0f }],
    ["divw %bx", { eax: 0, edx: 1, ebx: 3 }, { eax: 0x5555, edx: 1 }],
    ["divw %bx", { eax: 0xffff, edx: 0xfffe, ebx: 0xffff }, { eax: 0xffff, edx: 0xfffe }],
    ["divl %ebx", { eax: 0, edx: 1, ebx: 2 }, { eax: 0x80000000, edx: 0 }],
    ["divl %ecx", { eax: 0xffffffff, edx: 0xfffffffe, ecx: 0xffffffff }, { eax: 0xffffffff, edx: 0xfffffffe }],
    ["divl %ecx", { eax: 12345, edx: 0, ecx: 12346 }, { eax: 0, edx: 12345 }],
    ["idivb %bl", { eax: 0xfff9, ebx: 2 }, { eax: 0xfffd }], // -7 / 2 = -3 rem -1
    ["idivb %bl", { eax: 0x0007, ebx: 0xfe }, { eax: 0x01fd }], // 7 / -2 = -3 rem 1
    ["idivb %bl", { eax: 0xff80, ebx: 1 }, { eax: 0x0080 }], // -128 fits
    ["idivb %bl", { eax: 0x007f, ebx: 0xff }, { eax: 0x0081 }], // 127 / -1 = -127
    ["idivw %bx", { eax: 0xfff6, edx: 0xffff, ebx: 3 }, { eax: 0xfffd, edx: 0xffff }],
    ["idivw %bx", { eax: 0x8000, edx: 0, ebx: 0xffff }, { eax: 0x8000, edx: 0 }], // 32768 / -1 fits
    ["idivl %ebx", { eax: 0xfffffff9, edx: 0xffffffff, ebx: 7 }, { eax: 0xffffffff, edx: 0 }],
    ["idivl %ecx", { eax: 0x7fffffff, edx: 0, ecx: 0xffffffff }, { eax: 0x80000001, edx: 0 }],
    ["idivl %ebx", { eax: 0x80000000, edx: 0xffffffff, ebx: 1 }, { eax: 0x80000000, edx: 0 }],
    ["idivl %ebx", { eax: 0x80000000, edx: 0, ebx: 0xffffffff }, { eax: 0x80000000, edx: 0 }],
    ["cltd; idivl %ebx", { eax: 0xffffff9c, edx: 0x1234, ebx: 7 }, { eax: 0xfffffff2, edx: 0xfffffffe }],
    ["idivl %ebx", { eax: 100, edx: 0, ebx: 0xfffffff9 }, { eax: 0xfffffff2, edx: 2 }],
  ], 2))("%s", (_, asm, regs, out) => {
    check(asm, { regs }, { regs: out });
  });
});

describe("memory operands", () => {
  it.each(named<[asm: string, regsIn: Regs, mem: number, regsOut: Regs, flagsOut: number | undefined]>([
    ["mulb 0x40000", { eax: 0x80 }, 0x02, { eax: 0x0100 }, CF | OF],
    ["mull (%ebx)", { eax: 3, ebx: DATA }, 0x55555555, { eax: 0xffffffff, edx: 0 }, 0],
    ["imulw 0x40000", { eax: 0xff00 }, 0x0100, { eax: 0, edx: 0xffff }, CF | OF],
    ["imull 0x40000,%ecx", { ecx: 0xffffffff }, 0xffffffff, { ecx: 1 }, 0],
    ["imull $3,0x40000,%esi", {}, 0x2aaaaaab, { esi: 0x80000001 }, CF | OF],
    ["divl 0x40000", { eax: 100, edx: 0 }, 9, { eax: 11, edx: 1 }, undefined],
    ["idivw (%ebx,%esi,2)", { eax: 0xff9c, edx: 0xffff, ebx: DATA - 2, esi: 1 }, 0x000a, { eax: 0xfff6, edx: 0 }, undefined],
    ["idivb 0x40000", { eax: 0x0065 }, 0xf6, { eax: 0x01f6 }, undefined],
  ], 2))("%s", (_, asm, regs, mem, out, fout) => {
    check(asm, { regs, mem: { [DATA]: mem } }, { regs: out, flags: fout, mask: MULF, mem: { [DATA]: mem } });
  });
});
