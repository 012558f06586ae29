// String instructions: MOVS CMPS STOS LODS SCAS in byte/word/dword sizes, forwards and backwards
// (DF), with REP / REPE / REPNE, ECX = 0, overlapping copies, segment override of the source,
// 16-bit addressing (SI DI CX, wrapping at 64 KiB) and a REP long enough to be split into slices.
// SDM: ESI/EDI advance by the operand size (down when DF=1) after each iteration; REP stops when
// ECX reaches 0 (ECX = 0 executes nothing); REPE/REPNE also stop on ZF = 0 / ZF = 1 after a
// compare; CMPS and SCAS set the flags like CMP of [ESI] - [EDI] and AL/AX/EAX - [EDI].
import { describe, it, expect } from "vitest";
import { check, named, ARITH, CF, PF, AF, ZF, SF, OF, DF, DATA, type Regs } from "./helpers";
import { SR_FS } from "../../assembly/vmcs-layout";
import { AR_DATA0 } from "./harness";

const SRC = DATA;
const DST = DATA + 0x100;
type Mem = Record<number, number>;
type Row = [asm: string, regsIn: Regs, flagsIn: number, memIn: Mem, regsOut: Regs, memOut: Mem];

describe("MOVS / STOS / LODS", () => {
  it.each(named<Row>([
    ["movsl", { esi: SRC, edi: DST }, 0, { [SRC]: 0x11223344 }, { esi: SRC + 4, edi: DST + 4 }, { [DST]: 0x11223344 }],
    ["movsb", { esi: SRC + 3, edi: DST + 3 }, DF, { [SRC]: 0x11223344 }, { esi: SRC + 2, edi: DST + 2 }, { [DST]: 0x11000000 }],
    ["movsw", { esi: SRC, edi: DST }, 0, { [SRC]: 0x11223344, [DST]: 0xffffffff }, { esi: SRC + 2, edi: DST + 2 }, { [DST]: 0xffff3344 }],
    ["rep movsl", { esi: SRC, edi: DST, ecx: 3 }, 0, { [SRC]: 1, [SRC + 4]: 2, [SRC + 8]: 3, [SRC + 12]: 4 },
      { esi: SRC + 12, edi: DST + 12, ecx: 0 }, { [DST]: 1, [DST + 4]: 2, [DST + 8]: 3, [DST + 12]: 0 }],
    ["rep movsb", { esi: SRC, edi: DST, ecx: 0 }, 0, { [SRC]: 0x55 }, { esi: SRC, edi: DST, ecx: 0 }, { [DST]: 0 }],
    ["rep movsw", { esi: SRC + 2, edi: DST + 2, ecx: 2 }, DF, { [SRC]: 0xaaaabbbb },
      { esi: SRC - 2, edi: DST - 2, ecx: 0 }, { [DST]: 0xaaaabbbb }],
    // overlapping forward copy: byte by byte, so the first byte propagates
    ["rep movsb", { esi: SRC, edi: SRC + 1, ecx: 4 }, 0, { [SRC]: 0xaa, [SRC + 4]: 0x11111111 },
      { esi: SRC + 4, edi: SRC + 5, ecx: 0 }, { [SRC]: 0xaaaaaaaa, [SRC + 4]: 0x111111aa }],
    ["rep stosl", { eax: 0xdeadbeef, edi: DST, ecx: 2 }, 0, {}, { edi: DST + 8, ecx: 0 },
      { [DST]: 0xdeadbeef, [DST + 4]: 0xdeadbeef, [DST + 8]: 0 }],
    ["stosw", { eax: 0xbeef, edi: DST + 2 }, DF, {}, { edi: DST }, { [DST]: 0xbeef0000 }],
    ["rep stosb", { eax: 0x5a, edi: SRC, ecx: 5 }, 0, {}, { edi: SRC + 5, ecx: 0 }, { [SRC]: 0x5a5a5a5a, [SRC + 4]: 0x5a }],
    ["lodsl", { esi: SRC }, 0, { [SRC]: 0x87654321 }, { eax: 0x87654321, esi: SRC + 4 }, {}],
    ["lodsb", { eax: 0xffffffff, esi: SRC }, DF, { [SRC]: 0x44 }, { eax: 0xffffff44, esi: SRC - 1 }, {}],
    ["rep lodsw", { eax: 0, esi: SRC, ecx: 2 }, 0, { [SRC]: 0x22221111 }, { eax: 0x2222, esi: SRC + 4, ecx: 0 }, {}],
    ["movsb %ds:(%esi),%es:(%edi)", { esi: SRC, edi: DST, ecx: 7 }, 0, { [SRC]: 0x77 }, { ecx: 7, edi: DST + 1 }, { [DST]: 0x77 }],
    ["std\n movsb\n cld\n movsb", { esi: SRC + 1, edi: DST + 1 }, 0, { [SRC]: 0x2211 }, { esi: SRC + 1, edi: DST + 1 }, { [DST]: 0x2211 }],
  ]))("%s", (_, asm, regs, fin, min, out, mout) => {
    check(asm, { regs, flags: fin, mem: min }, { regs: out, mem: mout });
  });
});

describe("CMPS / SCAS with REPE / REPNE", () => {
  const abcd = 0x64636261; // "abcd"
  it.each(named<[...Row, flagsOut: number]>([
    ["scasb", { eax: 0x44, edi: SRC }, 0, { [SRC]: 0x44 }, { edi: SRC + 1 }, {}, ZF | PF],
    ["scasw", { eax: 0x8000, edi: SRC }, DF, { [SRC]: 0x0001 }, { edi: SRC - 2 }, {}, OF | AF | PF],
    ["repne scasb", { eax: 0, ecx: 0xff, edi: SRC }, 0, { [SRC]: 0x00636261 }, { ecx: 0xfb, edi: SRC + 4 }, {}, ZF | PF],
    ["repne scasb", { eax: 0x99, ecx: 3, edi: SRC }, 0, { [SRC]: 0 }, { ecx: 0, edi: SRC + 3 }, {}, SF | PF],
    ["repe scasl", { eax: 0, ecx: 10, edi: SRC }, 0, { [SRC]: 0, [SRC + 4]: 0, [SRC + 8]: 5 }, { ecx: 7, edi: SRC + 12 }, {}, CF | SF | AF],
    ["repe scasb", { eax: 1, ecx: 0, edi: SRC }, CF | ZF, { [SRC]: 1 }, { ecx: 0, edi: SRC }, {}, CF | ZF],
    ["cmpsl", { esi: SRC, edi: DST }, 0, { [SRC]: 1, [DST]: 2 }, { esi: SRC + 4, edi: DST + 4 }, {}, CF | SF | AF | PF],
    ["repe cmpsb", { esi: SRC, edi: DST, ecx: 4 }, 0, { [SRC]: abcd, [DST]: 0x64786261 },
      { ecx: 1, esi: SRC + 3, edi: DST + 3 }, {}, CF | SF | AF | PF],
    ["repe cmpsb", { esi: SRC, edi: DST, ecx: 4 }, 0, { [SRC]: abcd, [DST]: abcd }, { ecx: 0, esi: SRC + 4, edi: DST + 4 }, {}, ZF | PF],
    ["repne cmpsw", { esi: SRC + 6, edi: DST + 6, ecx: 8 }, DF, { [SRC]: 0x00050007, [SRC + 4]: 0x00010002, [DST]: 0x00060007, [DST + 4]: 0x00030004 },
      { ecx: 4, esi: SRC - 2, edi: DST - 2 }, {}, ZF | PF],
    ["repne cmpsb", { esi: SRC, edi: DST, ecx: 2 }, 0, { [SRC]: 0x0180, [DST]: 0x0200 }, { ecx: 0, esi: SRC + 2, edi: DST + 2 }, {}, CF | SF | AF | PF],
  ]))("%s", (_, asm, regs, fin, min, out, mout, fout) => {
    check(asm, { regs, flags: fin, mem: min }, { regs: out, mem: mout, flags: fout, mask: ARITH });
  });
});

describe("addressing and long strings", () => {
  it("FS override applies to the source only", () => {
    check("movsb %fs:(%esi),%es:(%edi)", {
      regs: { esi: 0x100, edi: DST }, mem: { [SRC + 0x100]: 0xab, [0x100]: 0xcd },
      setup: (cpu) => cpu.setSegment(SR_FS, 0x10, SRC, 0xffffffff, AR_DATA0),
    }, { regs: { esi: 0x101, edi: DST + 1 }, mem: { [DST]: 0xab } });
  });

  it("STOS always writes through ES, even with a segment override", () => {
    check("fs stosb", {
      regs: { eax: 0x66, edi: 0x10 }, mem: { [0x10]: 0, [SRC + 0x10]: 0 },
      setup: (cpu) => cpu.setSegment(SR_FS, 0x10, SRC, 0xffffffff, AR_DATA0),
    }, { regs: { edi: 0x11 }, mem: { [0x10]: 0x66, [SRC + 0x10]: 0 } });
  });

  it("addr16 REP MOVSB uses SI DI CX and keeps the upper halves", () => {
    check("addr16 rep movsb", {
      regs: { esi: 0xabcd8000, edi: 0x55559000, ecx: 0x12340003 }, mem: { [0x8000]: 0x00332211, [0x9000]: 0xffffffff },
      setup: () => {},
    }, { regs: { esi: 0xabcd8003, edi: 0x55559003, ecx: 0x12340000 }, mem: { [0x9000]: 0xff332211 } });
  });

  it("addr16 LODSB wraps SI from 0xFFFF to 0", () => {
    check("addr16 lodsb", { regs: { esi: 0x0001ffff }, mem: { [0xfffc]: 0x7f000000 }, setup: () => {} },
      { regs: { eax: 0x7f, esi: 0x00010000 } });
  });

  it("addr16 STOSW backwards wraps DI from 0 to 0xFFFE", () => {
    check("addr16 stosw", { regs: { eax: 0x1234, edi: 0x77770000 }, flags: DF, mem: { [0]: 0 }, setup: () => {} },
      { regs: { edi: 0x7777fffe }, mem: { [0]: 0x1234 } });
  });

  it("a REP STOSB longer than one slice (65536 iterations) completes", () => {
    const n = 0x11000;
    const cpu = check("rep stosb", { regs: { eax: 0x5a, edi: DATA, ecx: n } },
      { regs: { ecx: 0, edi: DATA + n }, mem: { [DATA]: 0x5a5a5a5a, [DATA + n - 4]: 0x5a5a5a5a, [DATA + n]: 0 } });
    expect(cpu.read32(DATA + 0x10000)).toBe(0x5a5a5a5a);
  });
});
