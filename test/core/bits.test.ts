// Bit instructions: BT BTS BTR BTC (register and imm8 offsets, register and memory operands) and
// BSF BSR. SDM: BTx sets CF to the selected bit, leaves ZF unaffected, OF SF AF PF undefined; an
// imm8 offset is taken modulo the operand size, a register offset too for a register operand, but
// with a memory operand a register offset is signed and selects a word/dword beyond (or before)
// the addressed one. BSF/BSR: ZF = (source == 0), other flags undefined; the destination is
// undefined for a zero source, so it is not checked then.
import { describe, it } from "vitest";
import { check, named, CF, ZF, DATA, type Regs } from "./helpers";

const BTF = CF | ZF;

describe("BT BTS BTR BTC on registers", () => {
  it.each(named<[asm: string, regsIn: Regs, flagsIn: number, regsOut: Regs, flagsOut: number]>([
    ["btl %ebx,%eax", { eax: 0x80000000, ebx: 31 }, 0, { eax: 0x80000000 }, CF],
    ["btl %ebx,%eax", { eax: 0x80000000, ebx: 63 }, ZF, { eax: 0x80000000 }, CF | ZF],
    ["btl %ebx,%eax", { eax: 0x7fffffff, ebx: 0xffffffff }, CF, { eax: 0x7fffffff }, 0],
    ["btw %bx,%ax", { eax: 2, ebx: 17 }, 0, { eax: 2 }, CF],
    ["btl $4,%eax", { eax: 0x10 }, ZF, { eax: 0x10 }, CF | ZF],
    ["btw $20,%ax", { eax: 0x100010 }, 0, { eax: 0x100010 }, CF],
    ["btsl $0,%eax", { eax: 0 }, CF, { eax: 1 }, 0],
    ["btsl %ecx,%edx", { edx: 0x40, ecx: 6 }, 0, { edx: 0x40 }, CF],
    ["btsw %cx,%dx", { edx: 0xffff0000, ecx: 0x1f }, 0, { edx: 0xffff8000 }, 0],
    ["btrl %ecx,%eax", { eax: 0xffffffff, ecx: 8 }, 0, { eax: 0xfffffeff }, CF],
    ["btrl $31,%esi", { esi: 0x7fffffff }, CF | ZF, { esi: 0x7fffffff }, ZF],
    ["btrw $0,%si", { esi: 0x10001 }, 0, { esi: 0x10000 }, CF],
    ["btcw $15,%ax", { eax: 0x8000 }, 0, { eax: 0 }, CF],
    ["btcl $35,%eax", { eax: 0 }, CF, { eax: 8 }, 0],
    ["btcl %ebx,%edi", { edi: 0x55555555, ebx: 0 }, 0, { edi: 0x55555554 }, CF],
  ]))("%s", (_, asm, regs, fin, out, fout) => {
    check(asm, { regs, flags: fin }, { regs: out, flags: fout, mask: BTF });
  });
});

describe("BT BTS BTR BTC on memory (offset reaches other words)", () => {
  const A = DATA, B = DATA + 4, C = DATA + 8;
  it.each(named<[asm: string, regs: Regs, memIn: Record<number, number>, memOut: Record<number, number>, flagsOut: number]>([
    ["btl %ecx,0x40004", { ecx: 35 }, { [A]: 0, [B]: 0, [C]: 8 }, { [C]: 8 }, CF],
    ["btl %ecx,0x40004", { ecx: 3 }, { [A]: 0, [B]: 0, [C]: 8 }, { [B]: 0 }, 0],
    ["btsl %ecx,0x40004", { ecx: 0xffffffff }, { [A]: 0, [B]: 0 }, { [A]: 0x80000000, [B]: 0 }, 0],
    ["btsl %ecx,0x40008", { ecx: 0xffffffc1 }, { [A]: 2, [B]: 0 }, { [A]: 2, [B]: 0, [C]: 0 }, CF], // -63: bit 1 at -8
    ["btrw %cx,0x40000", { ecx: 17 }, { [A]: 0x00020000 }, { [A]: 0 }, CF],
    ["btcw %cx,0x40002", { ecx: 0xffff }, { [A]: 0x00018000 }, { [A]: 0x00010000 }, CF],
    ["btsw %cx,0x40000", { ecx: 0xffff0020 }, { [A]: 0, [B]: 0 }, { [A]: 0, [B]: 1 }, 0], // +32: the word at +4
    ["btl $33,0x40000", {}, { [A]: 2, [B]: 0 }, { [A]: 2 }, CF],
    ["btsl $33,0x40000", {}, { [A]: 0, [B]: 0 }, { [A]: 2, [B]: 0 }, 0],
    ["btw $20,0x40000", {}, { [A]: 0x00100010 }, { [A]: 0x00100010 }, CF],
    ["btsl %eax,(%ebx)", { eax: 0x100, ebx: DATA }, { [A]: 0, [DATA + 32]: 0 }, { [A]: 0, [DATA + 32]: 1 }, 0],
    ["btrl %eax,4(%ebx)", { eax: 0xffffffe0, ebx: DATA }, { [A]: 0xffffffff, [B]: 0xffffffff }, { [A]: 0xfffffffe, [B]: 0xffffffff }, CF],
    ["btcl $7,(%ebx,%esi,4)", { ebx: DATA, esi: 1 }, { [B]: 0x80 }, { [B]: 0 }, CF],
  ]))("%s", (_, asm, regs, min, mout, fout) => {
    check(asm, { regs, flags: ZF, mem: min }, { flags: fout | ZF, mask: BTF, mem: mout });
  });
});

describe("BSF / BSR", () => {
  it.each(named<[asm: string, regsIn: Regs, flagsIn: number, regsOut: Regs, flagsOut: number]>([
    ["bsfl %ebx,%eax", { ebx: 0x00018000, eax: 0xffffffff }, ZF, { eax: 15 }, 0],
    ["bsrl %ebx,%eax", { ebx: 0x00018000, eax: 0xffffffff }, ZF, { eax: 16 }, 0],
    ["bsfl %eax,%eax", { eax: 0x80000000 }, 0, { eax: 31 }, 0],
    ["bsrl %eax,%eax", { eax: 0xffffffff }, 0, { eax: 31 }, 0],
    ["bsfl %ecx,%edx", { ecx: 1, edx: 5 }, ZF, { edx: 0 }, 0],
    ["bsrl %ecx,%edx", { ecx: 1, edx: 5 }, ZF, { edx: 0 }, 0],
    ["bsfl %ebx,%eax", { ebx: 0 }, 0, {}, ZF],
    ["bsrl %ebx,%eax", { ebx: 0 }, 0, {}, ZF],
    ["bsfw %bx,%ax", { ebx: 0x8000, eax: 0xffffffff }, 0, { eax: 0xffff000f }, 0],
    ["bsrw %bx,%ax", { ebx: 0xffff0001, eax: 0xabcdffff }, 0, { eax: 0xabcd0000 }, 0],
    ["bsrw %bx,%ax", { ebx: 0x00010000 }, 0, {}, ZF], // the source is BX only
    ["bsfw %bx,%ax", { ebx: 0x00010000 }, 0, {}, ZF],
  ]))("%s", (_, asm, regs, fin, out, fout) => {
    check(asm, { regs, flags: fin }, { regs: out, flags: fout, mask: ZF });
  });

  it.each(named<[asm: string, mem: number, regsOut: Regs, flagsOut: number]>([
    ["bsrl 0x40000,%ecx", 0x00000300, { ecx: 9 }, 0],
    ["bsfl 0x40000,%ecx", 0x00000300, { ecx: 8 }, 0],
    ["bsfw 0x40000,%cx", 0xffff0000, {}, ZF],
    ["bsrw 0x40002,%cx", 0x7fff0000, { ecx: 14 }, 0],
  ], 2))("%s", (_, asm, mem, out, fout) => {
    check(asm, { regs: { ecx: 0 }, mem: { [DATA]: mem } }, { regs: out, flags: fout, mask: ZF });
  });
});
