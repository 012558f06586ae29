// ALU family: ADD OR ADC SBB AND SUB XOR CMP (all encodings: r/m,r / r,r/m / acc,imm / group 1
// with imm and sign-extended imm8), INC DEC NEG NOT, TEST, the BCD adjustments, CLC STC CMC.
// Expected values worked out by hand from the SDM's flag definitions (Vol. 1 3.4.3, Vol. 2 per
// instruction); flags are compared only where the SDM defines them.
import { describe, it } from "vitest";
import { check, named, ARITH, LOGIC, SZP, CF, PF, AF, ZF, SF, OF, DATA, type Regs } from "./helpers";

type Row = [asm: string, regsIn: Regs, flagsIn: number, regsOut: Regs, flagsOut: number];

describe("ADD / ADC", () => {
  it.each(named<Row>([
    ["addb %bl,%al", { eax: 0x123456ff, ebx: 1 }, 0, { eax: 0x12345600 }, CF | ZF | AF | PF],
    ["addb %bl,%al", { eax: 0x7f, ebx: 1 }, 0, { eax: 0x80 }, OF | SF | AF],
    ["addb %ch,%ah", { eax: 0x8000, ecx: 0x8000 }, 0, { eax: 0 }, CF | OF | ZF | PF],
    ["addb $0x01,%al", { eax: 0x0e }, CF, { eax: 0x0f }, PF],
    ["addw %bx,%ax", { eax: 0xabcdffff, ebx: 1 }, 0, { eax: 0xabcd0000 }, CF | ZF | AF | PF],
    ["addw $0x7fff,%ax", { eax: 1 }, 0, { eax: 0x8000 }, OF | SF | AF | PF],
    ["addw $-2,%ax", { eax: 1 }, 0, { eax: 0xffff }, SF | PF],
    ["addl %ebx,%eax", { eax: 0xffffffff, ebx: 1 }, 0, { eax: 0 }, CF | ZF | AF | PF],
    ["addl %ebx,%eax", { eax: 0x7fffffff, ebx: 1 }, 0, { eax: 0x80000000 }, OF | SF | AF | PF],
    ["addl %ebx,%eax", { eax: 0x12345678, ebx: 0x11111111 }, ARITH, { eax: 0x23456789 }, 0],
    ["addl $0x80000000,%eax", { eax: 0x80000000 }, 0, { eax: 0 }, CF | OF | ZF | PF],
    ["addl $-1,%eax", { eax: 1 }, 0, { eax: 0 }, CF | ZF | AF | PF],
    ["adcl %ebx,%eax", { eax: 0xffffffff, ebx: 0 }, CF, { eax: 0 }, CF | ZF | AF | PF],
    ["adcl %ebx,%eax", { eax: 1, ebx: 2 }, 0, { eax: 3 }, PF],
    ["adcl %ebx,%eax", { eax: 0xffffffff, ebx: 0xffffffff }, CF, { eax: 0xffffffff }, CF | AF | SF | PF],
    ["adcb %bl,%al", { eax: 0x7f, ebx: 0 }, CF, { eax: 0x80 }, OF | SF | AF],
    ["adcb $0x7f,%al", { eax: 0x80 }, CF, { eax: 0x00 }, CF | ZF | AF | PF],
    ["adcw %bx,%ax", { eax: 0xffff, ebx: 0xffff }, CF, { eax: 0xffff }, CF | AF | SF | PF],
    // 64-bit addition: ADC consumes the carry ADD left in the lazy flags
    ["addl %ebx,%eax; adcl %ecx,%edx", { eax: 0xffffffff, edx: 0, ebx: 1, ecx: 0 }, 0, { eax: 0, edx: 1 }, 0],
  ]))("%s", (_, asm, regs, fin, out, fout) => {
    check(asm, { regs, flags: fin }, { regs: out, flags: fout, mask: ARITH });
  });
});

describe("SUB / SBB / CMP", () => {
  it.each(named<Row>([
    ["subl %ebx,%eax", { eax: 0, ebx: 1 }, 0, { eax: 0xffffffff }, CF | SF | AF | PF],
    ["subl %ebx,%eax", { eax: 0x7fffffff, ebx: 0xffffffff }, 0, { eax: 0x80000000 }, OF | CF | SF | PF],
    ["subl $0x10,%eax", { eax: 0x80000000 }, 0, { eax: 0x7ffffff0 }, OF | PF],
    ["subb %bl,%al", { eax: 0x80, ebx: 1 }, 0, { eax: 0x7f }, OF | AF],
    ["subb $0x01,%ah", { eax: 0x0000 }, 0, { eax: 0xff00 }, CF | SF | AF | PF],
    ["subw %bx,%ax", { eax: 0x10005, ebx: 5 }, ARITH, { eax: 0x10000 }, ZF | PF],
    ["subw $1,%ax", { eax: 0x8000 }, 0, { eax: 0x7fff }, OF | AF | PF],
    ["sbbl %ebx,%eax", { eax: 0, ebx: 0 }, CF, { eax: 0xffffffff }, CF | SF | AF | PF],
    ["sbbl %ebx,%eax", { eax: 10, ebx: 3 }, 0, { eax: 7 }, 0],
    ["sbbb %bl,%al", { eax: 0x80, ebx: 0x7f }, CF, { eax: 0 }, OF | ZF | AF | PF],
    ["sbbw %bx,%ax", { eax: 0, ebx: 0xffff }, CF, { eax: 0 }, CF | ZF | AF | PF],
    ["sbbb $0xff,%al", { eax: 0xff }, CF, { eax: 0xff }, CF | SF | AF | PF],
    ["cmpl %ebx,%eax", { eax: 1, ebx: 2 }, 0, { eax: 1, ebx: 2 }, CF | SF | AF | PF],
    ["cmpb $0x80,%al", { eax: 0x7f }, 0, { eax: 0x7f }, CF | OF | SF | PF],
    ["cmpw %bx,%ax", { eax: 0x1234, ebx: 0x1234 }, 0, { eax: 0x1234 }, ZF | PF],
    ["cmpl $-1,%eax", { eax: 0x7fffffff }, 0, { eax: 0x7fffffff }, CF | OF | SF | PF],
    ["cmpl $0x12345678,%eax", { eax: 0x12345679 }, 0, { eax: 0x12345679 }, 0],
  ]))("%s", (_, asm, regs, fin, out, fout) => {
    check(asm, { regs, flags: fin }, { regs: out, flags: fout, mask: ARITH });
  });
});

describe("AND / OR / XOR / TEST (CF = OF = 0, AF undefined)", () => {
  it.each(named<Row>([
    ["andl %ebx,%eax", { eax: 0xf0f0f0f0, ebx: 0x0ff00ff0 }, CF | OF, { eax: 0x00f000f0 }, PF],
    ["andb $0x0f,%al", { eax: 0x1f0 }, CF, { eax: 0x100 }, ZF | PF],
    ["andw $0x8001,%ax", { eax: 0xffff }, 0, { eax: 0x8001 }, SF],
    ["orw %bx,%ax", { eax: 0x8000, ebx: 1 }, OF, { eax: 0x8001 }, SF],
    ["orl $0,%eax", { eax: 0 }, CF, { eax: 0 }, ZF | PF],
    ["orb %dl,%dh", { edx: 0x0307 }, 0, { edx: 0x0707 }, 0],
    ["xorl %eax,%eax", { eax: 0xdeadbeef }, CF | OF | SF, { eax: 0 }, ZF | PF],
    ["xorb %ah,%al", { eax: 0xff7f }, 0, { eax: 0xff80 }, SF],
    ["xorw $0xffff,%cx", { ecx: 0x12340f0f }, 0, { ecx: 0x1234f0f0 }, SF | PF],
    ["testl %ebx,%eax", { eax: 0x80000000, ebx: 0x80000000 }, CF | OF, { eax: 0x80000000 }, SF | PF],
    ["testb $0x01,%al", { eax: 2 }, 0, { eax: 2 }, ZF | PF],
    ["testw $0x0180,%ax", { eax: 0x0100 }, 0, { eax: 0x0100 }, PF],
    ["testb %bh,%bl", { ebx: 0x0f03 }, 0, { ebx: 0x0f03 }, PF],
  ]))("%s", (_, asm, regs, fin, out, fout) => {
    check(asm, { regs, flags: fin }, { regs: out, flags: fout, mask: LOGIC });
  });
});

describe("INC / DEC (CF preserved) / NEG / NOT", () => {
  it.each(named<Row>([
    ["incl %eax", { eax: 0x7fffffff }, CF, { eax: 0x80000000 }, CF | OF | SF | AF | PF],
    ["incb %al", { eax: 0x1ff }, 0, { eax: 0x100 }, ZF | AF | PF],
    ["incw %si", { esi: 0x1234ffff }, 0, { esi: 0x12340000 }, ZF | AF | PF],
    ["incw %ax", { eax: 0x7fff }, 0, { eax: 0x8000 }, OF | SF | AF | PF],
    ["decw %ax", { eax: 0x8000 }, CF, { eax: 0x7fff }, CF | OF | AF | PF],
    ["decl %ecx", { ecx: 1 }, 0, { ecx: 0 }, ZF | PF],
    ["decb %bh", { ebx: 0 }, 0, { ebx: 0xff00 }, SF | AF | PF],
    ["decl %edi", { edi: 0x80000000 }, CF, { edi: 0x7fffffff }, CF | OF | AF | PF],
    ["subl $1,%eax; incl %eax", { eax: 0 }, 0, { eax: 0 }, CF | ZF | AF | PF],
    ["negl %eax", { eax: 0 }, CF, { eax: 0 }, ZF | PF],
    ["negl %eax", { eax: 1 }, 0, { eax: 0xffffffff }, CF | SF | AF | PF],
    ["negl %eax", { eax: 0x80000000 }, 0, { eax: 0x80000000 }, CF | OF | SF | PF],
    ["negb %al", { eax: 0x80 }, 0, { eax: 0x80 }, CF | OF | SF],
    ["negw %ax", { eax: 0x10 }, 0, { eax: 0xfff0 }, CF | SF | PF],
    ["notl %eax", { eax: 0x0f0f0f0f }, ARITH, { eax: 0xf0f0f0f0 }, ARITH],
    ["notb %al", { eax: 0x1234 }, 0, { eax: 0x12cb }, 0],
    ["notw %dx", { edx: 0xffff0000 }, CF | ZF, { edx: 0xffffffff }, CF | ZF],
  ]))("%s", (_, asm, regs, fin, out, fout) => {
    check(asm, { regs, flags: fin }, { regs: out, flags: fout, mask: ARITH });
  });
});

describe("memory operands", () => {
  type MemRow = [asm: string, regs: Regs, flagsIn: number, memIn: number, memOut: number, regsOut: Regs, flagsOut: number];
  it.each(named<MemRow>([
    ["addl %eax,0x40000", { eax: 3 }, 0, 0xfffffffe, 1, {}, CF | AF],
    ["addb $1,0x40000", {}, 0, 0x112233ff, 0x11223300, {}, CF | ZF | AF | PF],
    ["addw %ax,0x40000", { eax: 0x7000 }, 0, 0x55551000, 0x55558000, {}, OF | SF | PF],
    ["addl 0x40000,%ecx", { ecx: 5 }, 0, 0xfffffffb, 0xfffffffb, { ecx: 0 }, CF | ZF | AF | PF],
    ["subw 0x40000,%ax", { eax: 0 }, 0, 0xffff0001, 0xffff0001, { eax: 0xffff }, CF | SF | AF | PF],
    ["orl $0x80000000,(%ebx)", { ebx: DATA }, 0, 1, 0x80000001, {}, SF],
    ["andb %cl,1(%ebx)", { ebx: DATA, ecx: 0x0f }, 0, 0x0000f000, 0, {}, ZF | PF],
    ["xorl %eax,(%ebx,%esi,4)", { eax: 0xffffffff, ebx: DATA - 8, esi: 2 }, 0, 0x0f0f0f0f, 0xf0f0f0f0, {}, SF | PF],
    ["cmpl $5,(%ebx)", { ebx: DATA }, 0, 5, 5, {}, ZF | PF],
    ["cmpb %al,(%ebx)", { ebx: DATA, eax: 0x81 }, 0, 0x01, 0x01, {}, CF | OF | SF],
    ["incl 0x40000", {}, CF, 0xffffffff, 0, {}, CF | ZF | AF | PF],
    ["decw 0x40000", {}, 0, 0xaaaa0000, 0xaaaaffff, {}, SF | AF | PF],
    ["negb 0x40000", {}, 0, 0x01, 0xff, {}, CF | SF | AF | PF],
    ["notl 0x40000", {}, 0, 0x12345678, 0xedcba987, {}, 0],
    ["sbbl %ecx,0x40000", { ecx: 1 }, CF, 2, 0, {}, ZF | PF],
    ["adcw $0x8000,0x40000", {}, CF, 0x00008000, 0x00000001, {}, CF | OF],
    ["testl $0x100,0x40000", {}, 0, 0x100, 0x100, {}, PF],
  ]))("%s", (_, asm, regs, fin, min, mout, rout, fout) => {
    const mask = /^(and|or|xor|test)/.test(asm) ? LOGIC : ARITH;
    check(asm, { regs, flags: fin, mem: { [DATA]: min } }, { regs: rout, flags: fout, mask, mem: { [DATA]: mout } });
  });
});

describe("decimal adjust", () => {
  it.each(named<[string, Regs, number, Regs, number, number]>([
    // DAA / DAS: SF ZF PF AF CF defined, OF undefined
    ["daa", { eax: 0xae }, 0, { eax: 0x14 }, CF | AF | PF, CF | AF | SZP],
    ["daa", { eax: 0x9a }, 0, { eax: 0x00 }, CF | AF | ZF | PF, CF | AF | SZP],
    ["daa", { eax: 0x12 }, AF, { eax: 0x18 }, AF | PF, CF | AF | SZP],
    ["daa", { eax: 0x00 }, CF, { eax: 0x60 }, CF | PF, CF | AF | SZP],
    ["daa", { eax: 0x45 }, CF | AF, { eax: 0xab }, CF | AF | SF, CF | AF | SZP],
    ["addb $0x35,%al; daa", { eax: 0x79 }, 0, { eax: 0x14 }, CF | AF | PF, CF | AF | SZP],
    ["das", { eax: 0xee }, CF | AF, { eax: 0x88 }, CF | AF | SF | PF, CF | AF | SZP],
    ["das", { eax: 0x9a }, 0, { eax: 0x34 }, CF | AF, CF | AF | SZP],
    ["das", { eax: 0x03 }, AF, { eax: 0xfd }, CF | AF | SF, CF | AF | SZP],
    ["das", { eax: 0x25 }, 0, { eax: 0x25 }, 0, CF | AF | SZP],
    // AAA / AAS: only CF and AF defined; AX += 0x106 / -= 0x106, AL &= 0x0F
    ["aaa", { eax: 0x010b }, 0, { eax: 0x0201 }, CF | AF, CF | AF],
    ["aaa", { eax: 0x0205 }, CF | AF, { eax: 0x030b }, CF | AF, CF | AF],
    ["aaa", { eax: 0x0235 }, CF, { eax: 0x0205 }, 0, CF | AF],
    ["aaa", { eax: 0x00ff }, 0, { eax: 0x0205 }, CF | AF, CF | AF],
    ["aas", { eax: 0x05fb }, AF, { eax: 0x0405 }, CF | AF, CF | AF],
    ["aas", { eax: 0x0009 }, CF, { eax: 0x0009 }, 0, CF | AF],
    ["aas", { eax: 0x000b }, 0, { eax: 0xff05 }, CF | AF, CF | AF],
    // AAM / AAD: SF ZF PF defined from AL
    ["aam", { eax: 0x3f }, 0, { eax: 0x0603 }, PF, SZP],
    ["aam $16", { eax: 0xff3f }, 0, { eax: 0x030f }, PF, SZP],
    ["aam", { eax: 0x1200 }, 0, { eax: 0x0000 }, ZF | PF, SZP],
    ["aad", { eax: 0x0603 }, 0, { eax: 0x003f }, PF, SZP],
    ["aad $16", { eax: 0x0f0f }, 0, { eax: 0x00ff }, SF | PF, SZP],
    ["aad", { eax: 0x1a0a }, 0, { eax: 0x000e }, 0, SZP],
  ]))("%s", (_, asm, regs, fin, out, fout, mask) => {
    check(asm, { regs, flags: fin }, { regs: out, flags: fout, mask });
  });
});

describe("CLC / STC / CMC touch only CF", () => {
  it.each(named<[string, number, number]>([
    ["clc", ARITH, ARITH & ~CF],
    ["stc", 0, CF],
    ["cmc", CF | ZF, ZF],
    ["cmc", SF, SF | CF],
    ["cmpl $1,%eax; cmc", 0, SF | AF | PF], // 0 - 1 leaves CF=1, CMC clears it
  ], 2))("%s", (_, asm, fin, fout) => {
    check(asm, { regs: { eax: 0 }, flags: fin }, { flags: fout, mask: ARITH });
  });
});
