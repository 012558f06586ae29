// Shift and rotate family: SHL/SAL SHR SAR ROL ROR RCL RCR (D0-D3, C0/C1) and SHLD/SHRD.
// SDM: the count is masked to 5 bits and a masked count of 0 changes nothing, flags included.
// Shifts: CF = last bit shifted out (undefined for SHL/SHR when count >= operand size), OF defined
// only for a count of 1 (SHL: MSB(result) ^ CF, SHR: MSB(original), SAR: 0), SF ZF PF from the
// result, AF undefined. Rotates: only CF and OF change (OF only defined for a count of 1:
// ROL/RCL MSB(result) ^ CF, ROR MSB ^ MSB-1 of the result, RCR MSB(original) ^ CF(original)).
import { describe, it } from "vitest";
import { check, named, CF, PF, AF, ZF, SF, OF, SZP, ARITH, DATA, type Regs } from "./helpers";

type Row = [asm: string, regsIn: Regs, flagsIn: number, regsOut: Regs, flagsOut: number, mask: number];
const S1 = CF | OF | SZP; // shift by 1
const SN = CF | SZP; // shift by more than 1
const R1 = ARITH; // rotate by 1: CF OF change, SF ZF AF PF must be preserved
const RN = ARITH & ~OF; // rotate by more than 1

function run(asm: string, regs: Regs, fin: number, out: Regs, fout: number, mask: number): void {
  check(asm, { regs, flags: fin }, { regs: out, flags: fout, mask });
}

describe("SHL / SAL", () => {
  it.each(named<Row>([
    ["shlb $1,%al", { eax: 0x80 }, 0, { eax: 0 }, CF | OF | ZF | PF, S1],
    ["shlb $1,%al", { eax: 0x40 }, CF, { eax: 0x80 }, OF | SF, S1],
    ["shlb $1,%al", { eax: 0xc0 }, 0, { eax: 0x80 }, CF | SF, S1],
    [".byte 0xc0,0xe0,0x01 # shl $1,%al via C0 ib", { eax: 0x81 }, 0, { eax: 0x02 }, CF | OF, S1],
    ["shlb %cl,%ah", { eax: 0x0300, ecx: 7 }, 0, { eax: 0x8000 }, CF | SF, SN],
    ["shlb %cl,%al", { eax: 0xff, ecx: 9 }, 0, { eax: 0 }, ZF | PF, SZP],
    ["shlw $1,%ax", { eax: 0xffff4000 }, 0, { eax: 0xffff8000 }, OF | SF | PF, S1],
    ["shlw %cl,%ax", { eax: 0xabcd1234, ecx: 16 }, 0, { eax: 0xabcd0000 }, ZF | PF, SZP],
    ["shlw $4,%dx", { edx: 0xf00f }, 0, { edx: 0x00f0 }, CF | PF, SN],
    ["shll $4,%eax", { eax: 0x12345678 }, 0, { eax: 0x23456780 }, CF, SN],
    ["shll $1,%eax", { eax: 0x80000001 }, 0, { eax: 2 }, CF | OF, S1],
    ["shll %cl,%eax", { eax: 0x80000001, ecx: 33 }, 0, { eax: 2 }, CF | OF, S1], // 33 & 31 = 1
    ["shll %cl,%eax", { eax: 0x80000001, ecx: 32 }, ARITH, { eax: 0x80000001 }, ARITH, ARITH], // count 0
    ["sall $31,%ebx", { ebx: 3 }, 0, { ebx: 0x80000000 }, CF | SF | PF, SN],
    ["shll %cl,%esi", { esi: 0xffffffff, ecx: 31 }, 0, { esi: 0x80000000 }, CF | SF | PF, SN],
  ]))("%s", (_, ...row) => run(...row));
});

describe("SHR / SAR", () => {
  it.each(named<Row>([
    ["shrb $1,%al", { eax: 0x81 }, 0, { eax: 0x40 }, CF | OF, S1],
    ["shrb %cl,%ah", { eax: 0xf000, ecx: 3 }, 0, { eax: 0x1e00 }, PF, SN],
    ["shrb %cl,%al", { eax: 0xff, ecx: 8 }, 0, { eax: 0 }, ZF | PF, SZP],
    ["shrw $1,%ax", { eax: 1 }, OF | SF, { eax: 0 }, CF | ZF | PF, S1],
    ["shrw $1,%ax", { eax: 0x8000 }, 0, { eax: 0x4000 }, OF | PF, S1],
    ["shrw %cl,%bx", { ebx: 0x12348421, ecx: 5 }, 0, { ebx: 0x12340421 }, PF, SN],
    ["shrl $4,%eax", { eax: 0x80000008 }, 0, { eax: 0x08000000 }, CF | PF, SN],
    ["shrl %cl,%eax", { eax: 0x80000000, ecx: 31 }, 0, { eax: 1 }, 0, SN],
    ["shrl $1,%eax", { eax: 0xffffffff }, 0, { eax: 0x7fffffff }, CF | OF | PF, S1],
    ["sarb $1,%al", { eax: 0x81 }, OF, { eax: 0xc0 }, CF | SF | PF, S1],
    ["sarb $1,%al", { eax: 0x7f }, 0, { eax: 0x3f }, CF | PF, S1],
    ["sarb %cl,%al", { eax: 0x80, ecx: 8 }, 0, { eax: 0xff }, CF | SF | PF, SN],
    ["sarb %cl,%al", { eax: 0x40, ecx: 12 }, 0, { eax: 0 }, ZF | PF, SN],
    ["sarw $15,%ax", { eax: 0x7fff }, 0, { eax: 0 }, CF | ZF | PF, SN],
    ["sarw $4,%ax", { eax: 0x8421 }, 0, { eax: 0xf842 }, SF | PF, SN],
    ["sarl %cl,%eax", { eax: 0x80000000, ecx: 31 }, 0, { eax: 0xffffffff }, SF | PF, SN],
    ["sarl $1,%eax", { eax: 1 }, 0, { eax: 0 }, CF | ZF | PF, S1],
    ["sarl $8,%edx", { edx: 0x87654321 }, 0, { edx: 0xff876543 }, SF, SN],
  ]))("%s", (_, ...row) => run(...row));
});

describe("ROL / ROR", () => {
  it.each(named<Row>([
    ["rolb $1,%al", { eax: 0x80 }, ZF | AF, { eax: 0x01 }, CF | OF | ZF | AF, R1],
    ["rolb $1,%al", { eax: 0x40 }, CF, { eax: 0x80 }, OF, R1],
    ["rolb $1,%al", { eax: 0xc0 }, 0, { eax: 0x81 }, CF, R1],
    ["rolb %cl,%al", { eax: 0x81, ecx: 9 }, 0, { eax: 0x03 }, CF, RN], // 9 mod 8 = 1, OF undefined
    ["rolb %cl,%al", { eax: 0x81, ecx: 8 }, SF, { eax: 0x81 }, CF | SF, RN], // CF = LSB
    ["rolw %cl,%ax", { eax: 0x8000, ecx: 16 }, CF, { eax: 0x8000 }, 0, RN],
    ["rolw $4,%ax", { eax: 0xabcd1234 }, 0, { eax: 0xabcd2341 }, CF, RN],
    ["roll $4,%eax", { eax: 0x12345678 }, PF, { eax: 0x23456781 }, CF | PF, RN],
    ["roll $1,%eax", { eax: 0x80000000 }, 0, { eax: 1 }, CF | OF, R1],
    ["roll %cl,%ebx", { ebx: 0x80000001, ecx: 31 }, 0, { ebx: 0xc0000000 }, 0, RN],
    ["rorb $1,%al", { eax: 0x01 }, 0, { eax: 0x80 }, CF | OF, R1],
    ["rorb $1,%al", { eax: 0x02 }, CF | SF, { eax: 0x01 }, SF, R1],
    ["rorb %cl,%bh", { ebx: 0x0f00, ecx: 4 }, 0, { ebx: 0xf000 }, CF, RN],
    ["rorw $1,%ax", { eax: 3 }, 0, { eax: 0x8001 }, CF | OF, R1],
    ["rorw $1,%ax", { eax: 0x8000 }, 0, { eax: 0x4000 }, OF, R1],
    ["rorl $8,%eax", { eax: 0x12345678 }, CF | ZF, { eax: 0x78123456 }, ZF, RN],
    ["rorl $1,%eax", { eax: 1 }, 0, { eax: 0x80000000 }, CF | OF, R1],
  ]))("%s", (_, ...row) => run(...row));
});

describe("RCL / RCR", () => {
  it.each(named<Row>([
    ["rclb $1,%al", { eax: 0x80 }, CF, { eax: 0x01 }, CF | OF, R1],
    ["rclb $1,%al", { eax: 0x80 }, 0, { eax: 0x00 }, CF | OF, R1],
    ["rclb $2,%al", { eax: 0x40 }, CF, { eax: 0x02 }, CF, RN],
    ["rclb %cl,%al", { eax: 0x55, ecx: 9 }, CF | ZF, { eax: 0x55 }, CF | ZF, RN], // 9 mod 9 = 0
    ["rclw %cl,%ax", { eax: 0x1234, ecx: 17 }, 0, { eax: 0x1234 }, 0, RN], // 17 mod 17 = 0
    ["rclw $1,%ax", { eax: 0x4000 }, 0, { eax: 0x8000 }, OF, R1],
    ["rclw %cl,%ax", { eax: 0x8001, ecx: 16 }, CF, { eax: 0xc000 }, CF, RN],
    ["rcll $1,%eax", { eax: 0x40000000 }, 0, { eax: 0x80000000 }, OF, R1],
    ["rcll %cl,%eax", { eax: 0x80000000, ecx: 31 }, CF, { eax: 0x60000000 }, 0, RN],
    ["rcrb $1,%al", { eax: 1 }, CF, { eax: 0x80 }, CF | OF, R1],
    ["rcrb $3,%al", { eax: 0x0f }, 0, { eax: 0xc1 }, CF, RN],
    ["rcrb %cl,%al", { eax: 0x0f, ecx: 9 }, CF | PF, { eax: 0x0f }, CF | PF, RN],
    ["rcrw $1,%ax", { eax: 1 }, 0, { eax: 0 }, CF, R1], // ZF not affected by rotates
    ["rcrw $1,%ax", { eax: 0x8000 }, CF, { eax: 0xc000 }, 0, R1],
    ["rcrl $1,%eax", { eax: 0x80000000 }, 0, { eax: 0x40000000 }, OF, R1],
    ["rcrl %cl,%eax", { eax: 0x00000003, ecx: 2 }, 0, { eax: 0x80000000 }, CF, RN],
  ]))("%s", (_, ...row) => run(...row));
});

describe("SHLD / SHRD (OF defined for count 1 only)", () => {
  it.each(named<Row>([
    ["shldl $4,%ebx,%eax", { eax: 0x12345678, ebx: 0x9abcdef0 }, 0, { eax: 0x23456789 }, CF, SN],
    ["shldl $1,%ebx,%eax", { eax: 0x40000000, ebx: 0x80000000 }, 0, { eax: 0x80000001 }, OF | SF, S1],
    ["shldl %cl,%ebx,%eax", { eax: 0x12345678, ebx: 0x9abcdef0, ecx: 31 }, 0, { eax: 0x4d5e6f78 }, PF, SN],
    ["shldl %cl,%ebx,%eax", { eax: 1, ebx: 2, ecx: 32 }, ARITH, { eax: 1 }, ARITH, ARITH], // count 0
    ["shldw %cl,%bx,%ax", { eax: 0x1234, ebx: 0x5678, ecx: 8 }, 0, { eax: 0x3456 }, PF, SN],
    ["shldw $1,%bx,%ax", { eax: 0xffff8000, ebx: 0 }, 0, { eax: 0xffff0000 }, CF | OF | ZF | PF, S1],
    ["shrdl $8,%ebx,%eax", { eax: 0x12345678, ebx: 0x9abcdef0 }, 0, { eax: 0xf0123456 }, SF | PF, SN],
    ["shrdl $1,%ebx,%eax", { eax: 0x80000001, ebx: 0 }, 0, { eax: 0x40000000 }, CF | OF | PF, S1],
    ["shrdl %cl,%ebx,%eax", { eax: 0x80000000, ebx: 0xffffffff, ecx: 31 }, 0, { eax: 0xffffffff }, SF | PF, SN],
    ["shrdw $1,%bx,%ax", { eax: 1, ebx: 1 }, 0, { eax: 0x8000 }, CF | OF | SF | PF, S1],
    ["shrdw $4,%bx,%ax", { eax: 0x1238, ebx: 0xabcd }, 0, { eax: 0xd123 }, CF | SF, SN],
  ]))("%s", (_, ...row) => run(...row));
});

describe("memory destinations", () => {
  type MemRow = [asm: string, regs: Regs, flagsIn: number, memIn: number, memOut: number, flagsOut: number, mask: number];
  it.each(named<MemRow>([
    ["shll $1,0x40000", {}, 0, 0x80000000, 0, CF | OF | ZF | PF, S1],
    ["shrb $1,0x40000", {}, 0, 0x11223381, 0x11223340, CF | OF, S1],
    ["sarw $2,0x40000", {}, 0, 0xaaaa8003, 0xaaaae000, CF | SF | PF, SN],
    ["rolb $4,(%ebx)", { ebx: DATA }, CF, 0x000000a5, 0x0000005a, 0, RN],
    ["rcrl $1,(%ebx,%ecx)", { ebx: DATA - 4, ecx: 4 }, CF, 2, 0x80000001, OF, R1],
    ["shldl $8,%ebx,0x40000", { ebx: 0xaabbccdd }, 0, 0x11223344, 0x223344aa, CF | PF, SN],
    ["shrdw %cl,%bx,0x40000", { ebx: 0xffff, ecx: 4 }, 0, 0x00000010, 0x0000f001, SF, SN],
    ["sall %cl,0x40000", { ecx: 0 }, ARITH, 0x12345678, 0x12345678, ARITH, ARITH],
  ]))("%s", (_, asm, regs, fin, min, mout, fout, mask) => {
    check(asm, { regs, flags: fin, mem: { [DATA]: min } }, { flags: fout, mask, mem: { [DATA]: mout } });
  });
});
