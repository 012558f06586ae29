// A region keeps the general registers in WASM locals across its blocks (src/jit/translate.ts): read
// from the VMCS at entry and after every call into the core, written back where it leaves and
// before each call. Each test here would end differently if a write-back were missing on some way
// out (the budget running out at an edge, a fault or an exit mid-region), if a register the region
// only writes were written back stale after the core changed it, or if a write of AL, AH or AX lost
// the rest of its register.
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE, assemble } from "../core/harness";
import { translateBlock, type TranslateEnv } from "../../src/jit/translate";
import { RegionImports } from "../../src/jit/region-imports";
import { expectSameSlices, runBoth, expectAgreement, withPaging } from "./agreement";
import * as L from "../../assembly/vmcs-layout";
import { INDIRECT_TARGETS_OFFSET, INDIRECT_TARGET_SLOTS, INDIRECT_TARGET_SIZE, MAX_REGION_BLOCKS } from "../../assembly/jit-abi";
import { PLAIN_REGION_BLOCKS } from "../../src/jit/region";

// a loop over three blocks writing low and high bytes and words of registers it also reads whole
const PARTIAL = `mov $3000, %ecx\nmov $0x12345678, %eax\nmov $0x9abcdef0, %ebx\n1: add %cl, %ah\ntest $1, %ecx\njz 2f
mov %cx, %bx\nxor %bh, %al\nmovb $0x5a, %dh\n2: inc %dl\nadd %ax, %si\nshl $1, %dh\nsub %bl, %ch\nadd %eax, %edi\nrol $5, %ebx
dec %ecx\njnz 1b\nhlt`;

// a region whose blocks call the core (an interpreted BSF, an IDIV by jitMulDiv) between writes of
// registers: compiled code only writes EDX and EBP, never reads them, while the core writes EDX
const CORE_CALLS = `mov $2000, %ecx\nmov $7, %esi\n1: mov $5, %edx\nmov %ecx, %eax\nbsf %eax, %edx\ntest $3, %ecx\njnz 2f
cdq\nidiv %esi\nmov %eax, %ebp\n2: add %eax, %ebx\ndec %ecx\njnz 1b\nhlt`;

describe("registers in locals across a region", () => {
  it.each([["partial writes", PARTIAL], ["core calls between register writes", CORE_CALLS]])("%s: the interpreter's end state", (_, source) => {
    for (const setup of [() => {}, withPaging]) {
      const both = runBoth(source, setup);
      expectAgreement(both, L.EXIT_HLT);
      expect(both.compiled.cpu.compiler!.regionBlocks).toBeGreaterThan(0);
    }
  });

  it.each([3, 5, 97, 1000, 4093])("the budget running out at every edge, slices of %i: the interpreter's state at each", (slice) => {
    expect(expectSameSlices(PARTIAL, slice).compiler!.regionBlocks).toBeGreaterThan(0);
    expect(expectSameSlices(CORE_CALLS, slice).compiler!.regionBlocks).toBeGreaterThan(0);
  });

  it("a fault in a later block of the region: every register as the interpreter leaves them, EIP at the faulting DIV", () => {
    // ESI, EDI and EBP change in the region's first two blocks before DIV by EBX faults (EBX reaches 0)
    const source = `mov $100, %ecx\nmov $60, %ebx\n1: mov %ecx, %eax\nadd %eax, %esi\ntest $1, %ecx\njz 2f\nadd $3, %edi
2: xor %edx, %edx\nmov %ecx, %ebp\ninc %bh\ndec %bh\ndiv %ebx\nadd %eax, %esi\ndec %ebx\ndec %ecx\njnz 1b\nhlt`;
    const results = [false, true].map((jit) => {
      const cpu = new TestCpu(1 << 20, { jit });
      cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1); // #DE exits
      const reason = cpu.exec(source, 1_000_000);
      return { reason, eip: cpu.eip, regs: ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"].map((r) => cpu.reg(r as "eax")),
        eflags: cpu.eflags, retired: cpu.core.instructionsRetired(), regionBlocks: cpu.compiler?.regionBlocks ?? 0 };
    });
    expect(results[0].reason).toBe(L.EXIT_EXCEPTION);
    expect(results[1].regionBlocks).toBeGreaterThan(0);
    expect({ ...results[1], regionBlocks: 0 }).toEqual({ ...results[0], regionBlocks: 0 });
  });
});

// A region that a RET may leave keeps the registers in the VMCS, read and written by each
// instruction, unless it holds a loop of one block (translate.ts registersInVmcs). These loops
// call a function of their page, so their regions hold a RET; each would end differently if a
// write-back were missing on some way out, if a register were read from a local that a path
// skipping its read left stale, or if the core's changes (an interpreted BSWAP, PUSHF/POPF) were
// not read back, or if a store into a code chunk, which the block leaves to the interpreter, lost
// what came before it. The last function loops in one block, so its region keeps them in locals,
// and the RET leaves from them.
const IN_VMCS = [
  ["partial writes, SETcc and CMOVcc", `mov $3000, %ecx\nmov $0x12345678, %eax\nmov $0x9abcdef0, %ebx\n1: call f\ndec %ecx\njnz 1b\nhlt
f: add %cl, %ah\ntest $1, %ecx\njz 2f\nmov %cx, %bx\nxor %bh, %al\nmovb $0x5a, %dh\n2: inc %dl\nsetc %bh\ncmovz %edx, %esi\nadd %ax, %si
shl $1, %dh\ncmovnc %ebx, %ebp\nsub %bl, %dh\nadd %eax, %edi\nrol $5, %ebx\nret`],
  ["core calls between register writes", `mov $2000, %ecx\nmov $7, %esi\n1: call f\ndec %ecx\njnz 1b\nhlt
f: mov $5, %edx\nmov %ecx, %eax\nbsf %eax, %edx\nbswap %edx\nadd %edx, %edi\ntest $3, %ecx\njnz 2f\ncdq\nmov %eax, %ebp\npushf
xor %esi, %ebp\npopf\n2: add %eax, %ebx\nmov %ebx, data\nadd %edx, %edi\nret\ndata: .long 0`],
  ["a loop of one block in the function: partial writes, a core call, a store into a code chunk", `mov $300, %ecx
mov $0x12345678, %eax\n1: call f\ndec %ecx\njnz 1b\nhlt
f: mov %ecx, %edx\nand $7, %edx\ninc %edx\n2: add %dl, %ah\nrol $3, %ebx\nadd %eax, %esi\nbswap %esi\nmov %bx, %di\nmov %esi, data
dec %edx\njnz 2b\nsetc %bh\nret\ndata: .long 0`],
];
describe("registers in regions a RET may leave: in the VMCS, or in locals around a loop of one block", () => {
  it.each(IN_VMCS)("%s: the interpreter's end state", (_, source) => {
    for (const setup of [() => {}, withPaging]) {
      const both = runBoth(source, setup);
      expectAgreement(both, L.EXIT_HLT);
      expect(both.compiled.cpu.compiler!.regionBlocks).toBeGreaterThan(0);
    }
  });
  it.each([3, 5, 97, 1000])("the budget running out at every edge, slices of %i: the interpreter's state at each", (slice) => {
    for (const [, source] of IN_VMCS) expect(expectSameSlices(source, slice).compiler!.regionBlocks).toBeGreaterThan(0);
  });
});

// A JMP through a jump table (region.ts tableTargets): the table's targets in the page join the
// region and the JMP compares the target it loads with them. The table is rewritten halfway
// (case 3 then goes to case 0's block, whose region was compiled with the old entry), and one
// entry points to a block the region does not hold (case 4, cold until then).
describe("indirect branches through a table stay in the region", () => {
  const SWITCH = `mov $3000, %ecx\n1: mov %ecx, %eax\nand $3, %eax\ncmp $2000, %ecx\njne 0f\nmov $4, %eax
0: jmp *table(,%eax,4)\nc0: add $1, %ebx\njmp 2f\nc1: add $2, %esi\njmp 2f\nc2: add $3, %edi\njmp 2f\nc3: sub $1, %ebp\njmp 2f
c4: xor $0x55, %edx\n2: cmp $1500, %ecx\njne 3f\nmovl $c0, table + 12\n3: dec %ecx\njnz 1b\nhlt
.p2align 2\ntable: .long c0, c1, c2, c3, c4`;
  it("the interpreter's end state, the table's targets compiled in the region", () => {
    const both = runBoth(SWITCH);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.regs[3]).toBe(749 + 375); // EBX: case 0 (but at 2000), and case 3 below 1500
    expect(both.compiled.cpu.compiler!.regionBlocks).toBeGreaterThan(5);
  });
  it("the region of the JMP's block holds the blocks the table points to, and the JMP compares with them", () => {
    const code = new Uint8Array(0x20000), bytes = assemble(SWITCH);
    code.set(bytes, CODE_BASE);
    const jmp = CODE_BASE + 5 + 2 + 3 + 6 + 2 + 5; // past MOV ... MOV $4, %eax: the block at 0:
    const env: TranslateEnv = {
      code, eip: jmp, physical: jmp, paging: false, cpl: 0, ramBase: 0x10000, ramSize: code.length, codePageMasks: 0, regs: 0x1000,
      links: new RegionImports().links, reached: () => true,
    };
    const t = translateBlock(env)!;
    const table = CODE_BASE + bytes.length - 20, entries = [0, 1, 2, 3, 4].map((i) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(table - CODE_BASE + 4 * i, true));
    expect(entries[0]).toBe(jmp + 7); // c0, right after the JMP (7 bytes)
    expect(t.inner).toEqual(expect.arrayContaining(entries));
    expect(translateBlock({ ...env, paging: true })!.inner).not.toContain(entries[1]); // with paging the table is not read
  });
  it.each([7, 97, 1000])("slices of %i: the interpreter's state at each", (slice) => {
    expect(expectSameSlices(SWITCH, slice).compiler!.regionBlocks).toBeGreaterThan(5);
  });

  // 40 cases: a region holding the table's JMP grows to MAX_REGION_BLOCKS, not PLAIN_REGION_BLOCKS
  const CASES = 40;
  const WIDE = `mov $3000, %ecx\n1: mov %ecx, %eax\nand $31, %eax\njmp *table(,%eax,4)\n` +
    Array.from({ length: CASES }, (_, k) => `c${k}: add $${k + 1}, %ebx\nxor %ecx, %esi\njmp 2f\n`).join("") +
    `2: dec %ecx\njnz 1b\nhlt\n.p2align 2\ntable: .long ${Array.from({ length: CASES }, (_, k) => `c${k}`).join(", ")}`;
  it("a region with a jump table holds up to MAX_REGION_BLOCKS blocks, and ends as the interpreter does", () => {
    const code = new Uint8Array(0x20000), bytes = assemble(WIDE);
    code.set(bytes, CODE_BASE);
    const block = CODE_BASE + 5; // 1:, whose block ends at the table's JMP
    const env: TranslateEnv = {
      code, eip: block, physical: block, paging: false, cpl: 0, ramBase: 0x10000, ramSize: code.length, codePageMasks: 0, regs: 0x1000,
      links: new RegionImports().links, reached: () => true,
    };
    expect(translateBlock(env)!.blocks).toHaveLength(MAX_REGION_BLOCKS);
    expect(MAX_REGION_BLOCKS).toBeGreaterThan(PLAIN_REGION_BLOCKS);
    const both = runBoth(WIDE);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.compiler!.regionBlocks).toBeGreaterThan(PLAIN_REGION_BLOCKS);
  });
});

// An indirect CALL (a C function pointer) whose last target lies in its page: the target joins the
// region (region.ts computedTargets), so the call and the RET back stay inside it. The pointer is
// changed halfway to a function the region does not hold, then back; the call must go where the
// pointer says each time.
describe("an indirect CALL's last target in its page joins the region", () => {
  const POINTER = `mov $3000, %ecx\nmov $f1, %edx\n1: call *%edx\nadd %eax, %ebx\ncmp $1500, %ecx\njne 2f\nmov $f2, %edx
2: cmp $700, %ecx\njne 3f\nmov $f1, %edx\n3: dec %ecx\njnz 1b\nhlt\nf1: lea 3(%ecx), %eax\nret\nf2: mov %ecx, %eax\nshl $2, %eax\nret`;
  const CALL = CODE_BASE + 5 + 5; // the block at 1: starts with the CALL

  it("the interpreter notes where it went: its address and target in the core's table (not with the tier off)", () => {
    const noted = (jit: boolean) => {
      const cpu = new TestCpu(1 << 20, { jit });
      cpu.exec(`mov $f, %eax\ncall *%eax\nhlt\nf: ret`, 100); // once: interpreted
      const slot = cpu.core.blockCacheBase() + INDIRECT_TARGETS_OFFSET + ((CODE_BASE + 5) & (INDIRECT_TARGET_SLOTS - 1)) * INDIRECT_TARGET_SIZE;
      const view = new DataView(cpu.core.memory.buffer);
      return [view.getUint32(slot, true), view.getUint32(slot + 4, true)];
    };
    expect(noted(true)).toEqual([CODE_BASE + 5, CODE_BASE + 5 + 2 + 1]);
    expect(noted(false)).toEqual([0, 0]); // the block cache stays untouched
  });

  it("compiled code leaving at it notes it too (the pointer changes once the loop runs compiled)", () => {
    const source = `mov $1000, %ecx\nmov $f, %edx\n1: call *%edx\ncmp $500, %ecx\njne 2f\nmov $g, %edx\n2: dec %ecx\njnz 1b\nhlt
f: ret\n.org 0x2000\ng: ret`;
    const cpu = new TestCpu(1 << 20, { jit: true });
    expect(cpu.exec(source, 1_000_000)).toBe(L.EXIT_HLT);
    const slot = cpu.core.blockCacheBase() + INDIRECT_TARGETS_OFFSET + (CALL & (INDIRECT_TARGET_SLOTS - 1)) * INDIRECT_TARGET_SIZE;
    const view = new DataView(cpu.core.memory.buffer);
    expect([view.getUint32(slot, true), view.getUint32(slot + 4, true)]).toEqual([CALL, CODE_BASE + 0x2000]);
    expect(cpu.compiler!.compiled).toBeGreaterThan(0);
  });

  it("the region of the CALL's block holds the target, not without it", () => {
    const code = new Uint8Array(0x20000), bytes = assemble(POINTER);
    code.set(bytes, CODE_BASE);
    const f1 = CODE_BASE + bytes.length - 6 - 4; // before f1's LEA and RET (3 + 1 bytes) and f2's 6
    const env: TranslateEnv = {
      code, eip: CALL, physical: CALL, paging: false, cpl: 0, ramBase: 0x10000, ramSize: code.length, codePageMasks: 0, regs: 0x1000,
      links: new RegionImports().links, reached: () => true,
    };
    expect(code[f1]).toBe(0x8d); // LEA
    expect(translateBlock({ ...env, lastIndirectTarget: (site) => (site === CALL ? f1 : undefined) })!.inner).toContain(f1);
    expect(translateBlock(env)!.inner).not.toContain(f1);
    // another page: the region's second with paging off (cross-page-regions.test.ts), never with paging on
    expect(translateBlock({ ...env, lastIndirectTarget: () => 0x5000 })!.inner).toContain(0x5000);
    expect(translateBlock({ ...env, paging: true, lastIndirectTarget: () => 0x5000 })!.inner).not.toContain(0x5000);
  });

  it("the interpreter's end state as the pointer changes, the target compiled in the region", () => {
    const both = runBoth(POINTER);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.compiler!.regionBlocks).toBeGreaterThan(2);
  });

  it.each([7, 97, 1000])("slices of %i: the interpreter's state at each", (slice) => {
    expect(expectSameSlices(POINTER, slice).compiler!.regionBlocks).toBeGreaterThan(2);
  });
});

// A one-block loop carries its flags into the next round in locals (translate.ts `carrying`):
// its first instruction, an ADC, reads the last round's CF, and leaves compiled code for the
// interpreter whenever its address lies in the PC hole (one of eight address ranges the loop
// steps through is), so the interpreter must find the last round's flags in the core's globals.
// The flags at the edge are DEC's (CF kept from the ROL), ADD's (lazy), and BT's (eager).
describe("a loop of one block carries its flags into the next round", () => {
  const loop = (end: string) => `mov $3000, %ecx\nmov $0x9e3779b9, %eax\nxor %edx, %edx\nmov $0x20000, %edi
1: adc (%edi), %eax\nmov %ecx, %edi\nand $0x1c0, %edi\nshl $11, %edi\nadd %eax, %edx\nrol $7, %eax\n${end}\njnz 1b\nhlt`;
  const LOOPS = [["INC/DEC", loop("dec %ecx")], ["ADD", loop("add $-1, %ecx")], ["BT", loop("dec %ecx\nbt $3, %edx")]];

  it.each(LOOPS)("flags of %s: the interpreter's end state", (_, source) => {
    const both = runBoth(source);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.core.stalledBlockEntries()).toBeGreaterThan(0); // it did leave at the ADC in the hole
  });

  it.each(LOOPS)("flags of %s, slices of 1000: the interpreter's state at each", (_, source) => {
    expectSameSlices(source, 1000);
  });

  // Only the values are carried; the form (which flags, the operation) is each block's own: two
  // such loops in one region, one carrying DEC's flags (CF kept), the other SUB's (CF its own)
  const TWO = `mov $40, %esi\nmov $0x9e3779b9, %eax\nxor %edx, %edx\nmov $0x20000, %edi\n0: mov $100, %ecx
1: adc (%edi), %eax\nmov %ecx, %edi\nand $0x1c0, %edi\nshl $11, %edi\nadd %eax, %edx\nrol $7, %eax\ndec %ecx\njnz 1b
mov $100, %ecx\n2: adc (%edi), %eax\nmov %ecx, %edi\nand $0x1c0, %edi\nshl $11, %edi\nadd %eax, %edx\nror $5, %eax\nsub $1, %ecx\njnz 2b
dec %esi\njnz 0b\nhlt`;
  it("two loops of one block in one region, each with its own flags: the interpreter's end state, and at each slice of 1000", () => {
    const both = runBoth(TWO);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.compiler!.regionBlocks).toBeGreaterThan(2);
    expectSameSlices(TWO, 1000);
  });
});

// An edge into a block that sets all the flags before anything can look at them (translate.ts
// setsFlagsFirst: a MOV, then a SUB) leaves them unwritten; an edge into a block whose ADC reads CF
// first, or whose DEC keeps it, must write CMP's and ADC's.
describe("an edge into a block that sets the flags first writes none", () => {
  const LOOP = `mov $3000, %ecx\nxor %edx, %edx\nmov $0x9e3779b9, %eax
1: rol $7, %eax\ncmp $0x80000000, %eax\njb 2f
mov %eax, %ebx\nsub %ecx, %ebx\nadc %ebx, %edx\njmp 3f
2: adc %eax, %edx\n3: dec %ecx\njnz 1b\nhlt`;
  it("the interpreter's end state, and at each slice of 97", () => {
    const both = runBoth(LOOP);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.compiler!.regionBlocks).toBeGreaterThanOrEqual(3);
    expectSameSlices(LOOP, 97);
  });

  // Not from a loop of one block, which may still hold the flags it carried (`pending`): the block
  // after it (a MOV, then an XOR) would hand that on to the loop after it, whose ADC reads CF first.
  const AFTER_LOOP = `mov $20, %esi\nmov $0x9e3779b9, %eax\nxor %edx, %edx\n0: mov $50, %ecx\n1: add $1, %edx\ndec %ecx\njnz 1b
mov %edx, %ebx\nxor %ecx, %ebx\nmov $100, %ecx\nmov $0x20000, %edi
2: adc (%edi), %eax\nmov %ecx, %edi\nand $0x1c0, %edi\nshl $11, %edi\nadd %eax, %edx\nrol $7, %eax\ndec %ecx\njnz 2b
dec %esi\njnz 0b\nhlt`;
  it("after a loop of one block: the interpreter's end state, and at each slice of 97", () => {
    const both = runBoth(AFTER_LOOP);
    expectAgreement(both, L.EXIT_HLT);
    expectSameSlices(AFTER_LOOP, 97);
  });
});
