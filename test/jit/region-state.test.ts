// A region keeps the general registers in WASM locals across its blocks (src/jit/translate.ts): read
// from the VMCS at entry and after every call into the core, written back where it leaves and
// before each call. Each test here would end differently if a write-back were missing on some way
// out (the budget running out at an edge, a fault or an exit mid-region), if a register the region
// only writes were written back stale after the core changed it, or if a write of AL, AH or AX lost
// the rest of its register.
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE, assemble } from "../core/harness";
import { translateBlock, type TranslateEnv } from "../../src/jit/translate";
import { LINKS } from "../../src/jit/block-compiler";
import { expectSameSlices, runBoth, expectAgreement, withPaging } from "./agreement";
import * as L from "../../assembly/vmcs-layout";

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
      code, eip: jmp, physical: jmp, paging: false, cpl: 0, ramBase: 0x10000, ramSize: code.length, codePageMasks: 0, regs: 0x1000, entry: 0,
      links: LINKS, reached: () => true,
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
});
