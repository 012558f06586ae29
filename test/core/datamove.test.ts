// Data movement: MOV (all forms incl. moffs and immediates), MOVZX/MOVSX, XCHG, CMPXCHG,
// CMPXCHG8B, XADD, BSWAP, LEA with every 32-bit (ModRM/SIB) and 16-bit addressing form, the
// default segment of each form (SS for EBP/ESP bases), CBW CWDE CWD CDQ, LAHF SAHF, XLAT, MOV from
// a segment register, and the 0x66 operand-size forms. SDM: none of these change the flags except
// CMPXCHG (as CMP acc - dest), CMPXCHG8B (ZF only), XADD (as ADD) and SAHF (SF ZF AF PF CF from AH).
import { describe, it } from "vitest";
import { check, named, ARITH, CF, PF, AF, ZF, SF, OF, DATA, type Regs } from "./helpers";
import { SR_DS, SR_SS, SR_ES } from "../../assembly/vmcs-layout";
import { AR_DATA0, type TestCpu } from "./harness";

type Mem = Record<number, number>;
type Row = [asm: string, regsIn: Regs, memIn: Mem, regsOut: Regs, memOut: Mem];

function plain(rows: Row[], title: string): void {
  it.each(named(rows, 2))(`${title}: %s`, (_, asm, regs, min, out, mout) => {
    // flags start all set: none of these instructions may change them
    check(asm, { regs, mem: min, flags: ARITH }, { regs: out, mem: mout, flags: ARITH, mask: ARITH });
  });
}

describe("MOV", () => {
  plain([
    ["movb %bl,%ah", { eax: 0, ebx: 0x12345678 }, {}, { eax: 0x7800 }, {}],
    ["movw %bx,%ax", { eax: 0xffffffff, ebx: 0x12345678 }, {}, { eax: 0xffff5678 }, {}],
    ["movl %esp,%ebp", { ebp: 0 }, {}, { ebp: 0x90000 }, {}],
    ["movl $0x12345678,%edi", {}, {}, { edi: 0x12345678 }, {}],
    ["movb $0x80,%ch", { ecx: 0xffff00ff }, {}, { ecx: 0xffff80ff }, {}],
    ["movw $0xffff,%si", { esi: 0x12340000 }, {}, { esi: 0x1234ffff }, {}],
    ["movl %eax,0x40004", { eax: 0xcafebabe }, {}, {}, { [DATA + 4]: 0xcafebabe }],
    ["movl 0x40000,%ecx", {}, { [DATA]: 0x11223344 }, { ecx: 0x11223344 }, {}],
    ["movl 0x40000,%eax", {}, { [DATA]: 0x55667788 }, { eax: 0x55667788 }, {}], // A1 moffs
    ["movb %al,0x40001", { eax: 0xab }, { [DATA]: 0 }, {}, { [DATA]: 0xab00 }], // A2
    ["movw %ax,0x40002", { eax: 0x12345678 }, { [DATA]: 0 }, {}, { [DATA]: 0x56780000 }], // 66 A3
    ["movb 0x40003,%al", { eax: 0xffffffff }, { [DATA]: 0x9a000000 }, { eax: 0xffffff9a }, {}], // A0
    ["movw 0x40002,%dx", { edx: 0 }, { [DATA]: 0xbeef0000 }, { edx: 0xbeef }, {}],
    ["movl $0x11223344,(%ebx)", { ebx: DATA }, {}, {}, { [DATA]: 0x11223344 }],
    ["movb $0x55,3(%ebx)", { ebx: DATA }, { [DATA]: 0 }, {}, { [DATA]: 0x55000000 }],
    ["movw $0x6677,0x40000", {}, { [DATA]: 0xffffffff }, {}, { [DATA]: 0xffff6677 }],
    ["movb (%ebx,%ecx),%dh", { ebx: DATA, ecx: 2, edx: 0 }, { [DATA]: 0x00420000 }, { edx: 0x4200 }, {}],
  ], "mov");
});

describe("MOVZX / MOVSX", () => {
  plain([
    ["movzbl %al,%ebx", { eax: 0x80, ebx: 0xffffffff }, {}, { ebx: 0x80 }, {}],
    ["movsbl %al,%ebx", { eax: 0x80 }, {}, { ebx: 0xffffff80 }, {}],
    ["movsbl %al,%ebx", { eax: 0xff7f }, {}, { ebx: 0x7f }, {}],
    ["movzwl %ax,%ebx", { eax: 0xffff8000 }, {}, { ebx: 0x8000 }, {}],
    ["movswl %ax,%ebx", { eax: 0x8000 }, {}, { ebx: 0xffff8000 }, {}],
    ["movzbw %al,%bx", { eax: 0x80, ebx: 0xffffffff }, {}, { ebx: 0xffff0080 }, {}],
    ["movsbw %ah,%bx", { eax: 0xfe00, ebx: 0x12340000 }, {}, { ebx: 0x1234fffe }, {}],
    ["movsbl %ch,%ecx", { ecx: 0x8000 }, {}, { ecx: 0xffffff80 }, {}],
    ["movsbl 0x40001,%ecx", {}, { [DATA]: 0x8100 }, { ecx: 0xffffff81 }, {}],
    ["movzwl 0x40002,%edx", { edx: 0xffffffff }, { [DATA]: 0xfedc0000 }, { edx: 0xfedc }, {}],
    ["movswl 0x40000,%edx", {}, { [DATA]: 0x00007fff }, { edx: 0x7fff }, {}],
  ], "movzx/movsx");
});

describe("XCHG / BSWAP / XLAT / CBW CWDE CWD CDQ", () => {
  plain([
    ["xchgl %eax,%ebx", { eax: 1, ebx: 2 }, {}, { eax: 2, ebx: 1 }, {}],
    ["xchgw %ax,%cx", { eax: 0x11112222, ecx: 0x33334444 }, {}, { eax: 0x11114444, ecx: 0x33332222 }, {}],
    ["xchgb %al,%ah", { eax: 0x1234 }, {}, { eax: 0x3412 }, {}],
    ["xchgl %ecx,%edx", { ecx: 0xaaaa, edx: 0xbbbb }, {}, { ecx: 0xbbbb, edx: 0xaaaa }, {}],
    ["xchgl %eax,0x40000", { eax: 0x11111111 }, { [DATA]: 0x22222222 }, { eax: 0x22222222 }, { [DATA]: 0x11111111 }],
    ["xchgw %bx,0x40002", { ebx: 0xffff1234 }, { [DATA]: 0x5678abcd }, { ebx: 0xffff5678 }, { [DATA]: 0x1234abcd }],
    ["nop", { eax: 0x1234 }, {}, { eax: 0x1234 }, {}],
    ["bswap %eax", { eax: 0x12345678 }, {}, { eax: 0x78563412 }, {}],
    ["bswap %esi", { esi: 0xff000080 }, {}, { esi: 0x800000ff }, {}],
    ["bswap %ebp", { ebp: 0x01020304 }, {}, { ebp: 0x04030201 }, {}],
    ["xlat", { ebx: DATA, eax: 0xffffff03 }, { [DATA]: 0x99000000 }, { eax: 0xffffff99 }, {}],
    ["cbtw", { eax: 0x12345680 }, {}, { eax: 0x1234ff80 }, {}],
    ["cbtw", { eax: 0x1234ff7f }, {}, { eax: 0x1234007f }, {}],
    ["cwtl", { eax: 0x12348000 }, {}, { eax: 0xffff8000 }, {}],
    ["cwtl", { eax: 0xffff7fff }, {}, { eax: 0x00007fff }, {}],
    ["cwtd", { eax: 0x8000, edx: 0x12340000 }, {}, { eax: 0x8000, edx: 0x1234ffff }, {}],
    ["cwtd", { eax: 0xffff1234, edx: 0xffffffff }, {}, { edx: 0xffff0000 }, {}],
    ["cltd", { eax: 0x80000000, edx: 0 }, {}, { edx: 0xffffffff }, {}],
    ["cltd", { eax: 1, edx: 0x55 }, {}, { edx: 0 }, {}],
  ], "");
});

describe("CMPXCHG / CMPXCHG8B / XADD", () => {
  it.each(named<[asm: string, regsIn: Regs, flagsIn: number, memIn: Mem, regsOut: Regs, memOut: Mem, flagsOut: number, mask: number]>([
    ["cmpxchgl %ecx,%ebx", { eax: 5, ebx: 5, ecx: 9 }, 0, {}, { eax: 5, ebx: 9, ecx: 9 }, {}, ZF | PF, ARITH],
    ["cmpxchgl %ecx,%ebx", { eax: 5, ebx: 6, ecx: 9 }, 0, {}, { eax: 6, ebx: 6, ecx: 9 }, {}, CF | SF | AF | PF, ARITH],
    ["cmpxchgw %cx,%bx", { eax: 0xffff0001, ebx: 0xaaaa8000, ecx: 0x7777 }, 0, {}, { eax: 0xffff8000, ebx: 0xaaaa8000 }, {}, CF | OF | SF, ARITH],
    ["cmpxchgb %cl,0x40000", { eax: 0x11, ecx: 0x99 }, 0, { [DATA]: 0xaabbcc11 }, { eax: 0x11 }, { [DATA]: 0xaabbcc99 }, ZF | PF, ARITH],
    ["cmpxchgw %cx,0x40000", { eax: 0x1234, ecx: 0x5555 }, 0, { [DATA]: 0x00001233 }, { eax: 0x1233 }, { [DATA]: 0x00001233 }, 0, ARITH],
    ["cmpxchgl %edx,(%ebx)", { eax: 0, ebx: DATA, edx: 0xffffffff }, 0, { [DATA]: 0 }, { eax: 0 }, { [DATA]: 0xffffffff }, ZF | PF, ARITH],
    ["cmpxchg8b 0x40000", { eax: 0x22222222, edx: 0x11111111, ebx: 0xbbbbbbbb, ecx: 0xcccccccc }, CF | SF,
      { [DATA]: 0x22222222, [DATA + 4]: 0x11111111 }, { eax: 0x22222222, edx: 0x11111111 },
      { [DATA]: 0xbbbbbbbb, [DATA + 4]: 0xcccccccc }, CF | SF | ZF, ARITH],
    ["cmpxchg8b 0x40000", { eax: 0x22222222, edx: 0x11111110, ebx: 0xbbbbbbbb, ecx: 0xcccccccc }, ZF | PF,
      { [DATA]: 0x22222222, [DATA + 4]: 0x11111111 }, { eax: 0x22222222, edx: 0x11111111, ebx: 0xbbbbbbbb },
      { [DATA]: 0x22222222, [DATA + 4]: 0x11111111 }, PF, ARITH],
    ["cmpxchg8b (%esi)", { esi: DATA, eax: 1, edx: 0, ebx: 2, ecx: 3 }, 0, { [DATA]: 2, [DATA + 4]: 0 }, { eax: 2, edx: 0 },
      { [DATA]: 2, [DATA + 4]: 0 }, 0, ZF],
    ["xaddl %ebx,%eax", { eax: 1, ebx: 2 }, 0, {}, { eax: 3, ebx: 1 }, {}, PF, ARITH],
    ["xaddl %ebx,%eax", { eax: 0x7fffffff, ebx: 1 }, 0, {}, { eax: 0x80000000, ebx: 0x7fffffff }, {}, OF | SF | AF | PF, ARITH],
    ["xaddb %bl,0x40000", { ebx: 0x1201 }, 0, { [DATA]: 0x000000ff }, { ebx: 0x12ff }, { [DATA]: 0 }, CF | ZF | AF | PF, ARITH],
    ["xaddw %cx,0x40002", { ecx: 0x10000 }, CF, { [DATA]: 0x80000000 }, { ecx: 0x18000 }, { [DATA]: 0x80000000 }, SF | PF, ARITH],
    // the same register as source and destination: DEST <- SRC + DEST is written last
    ["xaddl %eax,%eax", { eax: 5 }, 0, {}, { eax: 10 }, {}, PF, ARITH],
  ]))("%s", (_, asm, regs, fin, min, out, mout, fout, mask) => {
    check(asm, { regs, flags: fin, mem: min }, { regs: out, mem: mout, flags: fout, mask });
  });
});

describe("LEA: every addressing form", () => {
  const r: Regs = { eax: 3, ecx: 0x100, ebx: 0x1000, edx: 0, esp: 0x90000, ebp: 0x2000, esi: 0x30, edi: 0x400 };
  it.each(named<[asm: string, regs: Regs, result: number]>([
    ["leal (%ebx),%edx", r, 0x1000],
    ["leal (%ebp),%edx", r, 0x2000], // mod 01 with disp8 0: mod 00 rm 101 is disp32
    ["leal 0x12345678,%edx", r, 0x12345678],
    ["leal -4(%ebp),%edx", r, 0x1ffc],
    ["leal 0x80(%eax),%edx", r, 0x83], // disp32
    ["leal -0x80(%eax),%edx", r, 0xffffff83], // disp8 sign-extended
    ["leal 8(%ebx,%esi,4),%edx", r, 0x10c8],
    ["leal (%ebx,%esi),%edx", r, 0x1030],
    ["leal (,%esi,8),%edx", r, 0x180], // SIB, no base: disp32
    ["leal 0x10(,%ecx,2),%edx", r, 0x210],
    ["leal (%esp),%edx", r, 0x90000], // SIB with no index
    ["leal 4(%esp,%eax,2),%edx", r, 0x9000a],
    ["leal (%ebp,%edi),%edx", r, 0x2400], // SIB base EBP with mod 01
    ["leal 0x1000(%ebp,%edi,1),%edx", r, 0x3400],
    ["leal (%eax,%eax,8),%edx", r, 27],
    ["leal -1(%edx),%edx", r, 0xffffffff],
    ["leal 0x7fffffff(%ecx),%edx", r, 0x800000ff],
    ["leaw 8(%ebx,%esi,4),%dx", { ...r, edx: 0xffffffff }, 0xffff10c8],
    ["leaw -2(%eax),%dx", { ...r, edx: 0xabcd0000 }, 0xabcd0001],
    // 16-bit addressing (0x67): BX+SI BX+DI BP+SI BP+DI SI DI disp16 BX; upper halves ignored, wraps at 64K
    ["leal 2(%bx,%si),%edx", { ebx: 0xabcdffff, esi: 0x12340003 }, 0x0004],
    ["leal (%bx,%di),%edx", { ebx: 0x10010, edi: 0x20 }, 0x30],
    ["leal -1(%bp,%si),%edx", { ebp: 0x40, esi: 0x1 }, 0x40],
    ["leal 0x100(%bp,%di),%edx", { ebp: 0x40, edi: 0xff00 }, 0x0040],
    ["leal 0x7fff(%si),%edx", { esi: 0x8001 }, 0x0000],
    ["leal (%di),%edx", { edi: 0xffff1234 }, 0x1234],
    [".byte 0x67,0x8d,0x16,0x34,0x12 # lea 0x1234 (16-bit disp16),%edx", {}, 0x1234],
    ["leal (%bx),%edx", { ebx: 0x8888 }, 0x8888],
    ["leal 5(%bp),%edx", { ebp: 0xfffe }, 0x0003],
    ["leaw 2(%bx,%si),%dx", { ebx: 1, esi: 2, edx: 0x55550000 }, 0x55550005],
  ], 2))("%s", (_, asm, regs, result) => {
    check(asm, { regs }, { regs: { edx: result } });
  });
});

describe("default segments of the addressing forms", () => {
  // DS, ES and SS get different bases so that the segment used shows in the value read.
  const segs = (cpu: TestCpu) => {
    cpu.setSegment(SR_DS, 0x10, DATA, 0xffffffff, AR_DATA0);
    cpu.setSegment(SR_SS, 0x10, DATA + 0x1000, 0xffffffff, AR_DATA0);
    cpu.setSegment(SR_ES, 0x10, DATA + 0x2000, 0xffffffff, AR_DATA0);
  };
  const mem = { [DATA + 0x10]: 0xd5d5d5d5, [DATA + 0x1010]: 0x55555555, [DATA + 0x2010]: 0xe5e5e5e5 };
  it.each(named<[asm: string, regs: Regs, value: number]>([
    ["movl (%ebx),%ecx", { ebx: 0x10 }, 0xd5d5d5d5],
    ["movl (%ebp),%ecx", { ebp: 0x10 }, 0x55555555],
    ["movl (%esp),%ecx", { esp: 0x10 }, 0x55555555],
    ["movl (%ebp,%eax),%ecx", { ebp: 0x8, eax: 0x8 }, 0x55555555], // base EBP: SS
    ["movl (%eax,%ebp),%ecx", { ebp: 0x8, eax: 0x8 }, 0xd5d5d5d5], // index EBP: DS
    ["movl 0x10,%ecx", {}, 0xd5d5d5d5],
    ["movl %es:(%ebp),%ecx", { ebp: 0x10 }, 0xe5e5e5e5],
    ["movl %ss:0x10,%ecx", {}, 0x55555555],
    ["movl (%bp,%si),%ecx", { ebp: 0x8, esi: 0x8 }, 0x55555555],
    ["movl (%bx,%si),%ecx", { ebx: 0xffff0008, esi: 0x8 }, 0xd5d5d5d5],
    ["movl 8(%bp),%ecx", { ebp: 0x8 }, 0x55555555],
    ["movl %ds:8(%bp),%ecx", { ebp: 0x8 }, 0xd5d5d5d5],
    ["movl 0x12(%bp,%di),%ecx", { ebp: 0xffff, edi: 0xffff }, 0x55555555], // 0xffff+0xffff+0x12 wraps to 0x10
    [".byte 0x67,0x8b,0x0e,0x10,0x00 # movl 0x10 (16-bit disp16),%ecx", {}, 0xd5d5d5d5],
    [".byte 0x67,0xa1,0x10,0x00 # movl 0x10 (16-bit moffs),%eax; movl %eax,%ecx\n movl %eax,%ecx", {}, 0xd5d5d5d5],
    [".byte 0x36,0xa1,0x10,0x00,0x00,0x00 # movl %ss:0x10 (moffs),%eax\n movl %eax,%ecx", {}, 0x55555555],
  ], 2))("%s", (_, asm, regs, value) => {
    check(asm, { regs, mem, setup: segs }, { regs: { ecx: value } });
  });
});

describe("LAHF / SAHF / MOV from Sreg", () => {
  it.each(named<[asm: string, eax: number, flagsIn: number, eaxOut: number, flagsOut: number]>([
    ["lahf", 0xffffffff, SF | ZF | AF | PF | CF, 0xffffd7ff, SF | ZF | AF | PF | CF],
    ["lahf", 0xffffffff, OF, 0xffff02ff, OF],
    ["cmpl $1,%eax; lahf", 0, 0, 0x9700, SF | AF | PF | CF],
    ["sahf", 0xff00, OF, 0xff00, ARITH],
    ["sahf", 0x0000, ARITH, 0x0000, OF],
    ["sahf", 0x4100, 0, 0x4100, ZF | CF],
  ], 3))("%s", (_, asm, eax, fin, eaxOut, fout) => {
    check(asm, { regs: { eax }, flags: fin }, { regs: { eax: eaxOut }, flags: fout, mask: ARITH });
  });

  it("MOV r32, Sreg zero-extends the selector; MOV m16, Sreg writes 16 bits", () => {
    check("movl %ds,%eax\n movw %ss,%bx\n movw %es,0x40000", {
      regs: { eax: 0xffffffff, ebx: 0xffffffff }, mem: { [DATA]: 0xffffffff },
      setup: (cpu) => cpu.setSegment(SR_SS, 0x18, 0, 0xffffffff, AR_DATA0),
    }, { regs: { eax: 0x10, ebx: 0xffff0018 }, mem: { [DATA]: 0xffff0010 } });
  });
});
