// What the block translator (src/jit/translate.ts) puts in a block, where that is a decision
// with a cost, not a matter of correctness the differential tests would catch: MOV to CR3 is
// compiled (a kernel's address-space switch stays in compiled code, and the block goes on after
// it) at CPL 0, but not as the first instruction of a block, where only a MOV that must exit can
// start one. CPUID, VMCALL, IN and OUT are compiled as calls into the interpreter, so that a loop
// around an exit stays one block; other forms the translator does not compile are interpreted in
// place, except those that must end it.
import { describe, it, expect } from "vitest";
import { translateBlock, type TranslateEnv } from "../../src/jit/translate";
import { RegionImports } from "../../src/jit/region-imports";
import { PLAIN_REGION_BLOCKS } from "../../src/jit/region";

const MOV_EAX_EBX = [0x89, 0xc3];
const MOV_EAX_CR3 = [0x0f, 0x22, 0xd8];
const NOP = [0x90];
const JMP_SELF = [0xeb, 0xfe];

function translate(bytes: number[], cpl: number) {
  const code = new Uint8Array(0x2000);
  code.set(bytes, 0x1000);
  return translateAt(code, 0x1000, cpl);
}

function translateAt(code: Uint8Array, at: number, cpl = 0) {
  const env: TranslateEnv = {
    code, eip: at, physical: at, paging: true, cpl, ramBase: 0x10000, ramSize: code.length, codePageMasks: 0, regs: 0x1000, links: new RegionImports().links,
  };
  const t = translateBlock(env);
  return t && { ...t, length: t.blocks[0].length }; // the first block's bytes
}

describe("MOV to CR3 in compiled blocks", () => {
  it("at CPL 0 it is compiled, and the block goes on to its branch", () => {
    expect(translate([...MOV_EAX_EBX, ...MOV_EAX_CR3, ...NOP, ...JMP_SELF], 0)).toMatchObject({ instructions: 4, length: 8 });
  });

  it("at CPL 3 the interpreter performs it inside the block (and raises its #GP there)", () => {
    expect(translate([...MOV_EAX_EBX, ...MOV_EAX_CR3, ...NOP, ...JMP_SELF], 3)).toMatchObject({ instructions: 4, length: 8 });
  });

  it("a block is not started at it", () => {
    expect(translate([...MOV_EAX_CR3, ...NOP], 0)).toBeUndefined();
  });
});

describe("instructions that usually exit, in compiled blocks", () => {
  const XOR_EAX = [0x31, 0xc0];
  const DEC_ESI_JNZ = [0x4e, 0x75, 0xf0];
  it.each([
    ["CPUID", [0x0f, 0xa2]],
    ["VMCALL", [0x0f, 0x01, 0xc1]],
    ["OUT imm8", [0xe6, 0x80]],
    ["IN DX", [0xec]],
  ])("%s is performed by the core in place and the block goes on to its branch", (_, instruction) => {
    const bytes = [...XOR_EAX, ...instruction, ...DEC_ESI_JNZ];
    expect(translate(bytes, 0)).toMatchObject({ instructions: 4, length: bytes.length });
  });

  it("other 0F 01 instructions (LGDT here) are performed by the interpreter inside the block", () => {
    const bytes = [...XOR_EAX, 0x0f, 0x01, 0x15, 0, 0, 0, 0, ...DEC_ESI_JNZ];
    expect(translate(bytes, 0)).toMatchObject({ instructions: 4, length: bytes.length });
  });
});

// Forms the translator does not compile are left to the core's interpreter inside the block
// (translate.ts interpret); a few must still end it, and none starts one.
describe("forms left to the interpreter", () => {
  const XOR_EAX = [0x31, 0xc0];
  const DEC_ESI_JNZ = [0x4e, 0x75, 0xf0];
  const BSF_MEM = [0x0f, 0xbc, 0x1d, 0, 0x40, 0, 0]; // bsf 0x4000, %ebx
  it("a bit scan between compiled instructions: the block goes on to its branch", () => {
    const bytes = [...XOR_EAX, ...BSF_MEM, ...DEC_ESI_JNZ];
    expect(translate(bytes, 0)).toMatchObject({ instructions: 4, length: bytes.length });
  });
  it("a block is not started at one", () => {
    expect(translate([...BSF_MEM, ...DEC_ESI_JNZ], 0)).toBeUndefined();
  });
  it.each([
    ["CLI", [0xfa]],
    ["STI", [0xfb]],
    ["POPF", [0x9d]],
    ["IRET with an operand-size prefix", [0x66, 0xcf]],
    ["an opcode the map does not name", [0x0f, 0xff]],
  ])("%s ends the block before it", (_, instruction) => {
    expect(translate([...XOR_EAX, ...instruction, ...DEC_ESI_JNZ], 0)).toMatchObject({ instructions: 1, length: 2 });
  });
  it.each([
    ["RET imm16", [0xc2, 0x08, 0x00]],
    ["INT n", [0xcd, 0x80]],
    ["IRET", [0xcf]],
    ["far JMP", [0xea, 0, 0, 0, 0, 0x08, 0]],
    ["JMP through memory (FF /4)", [0xff, 0x25, 0, 0x40, 0, 0]],
    ["LOOPNE", [0xe0, 0xf0]],
    // it spends budget per iteration: no later instruction's budget is at stake
    ["REPNE SCASB", [0xf2, 0xae]],
    ["REP LODSB", [0xf3, 0xac]],
    ["REP MOVSD with an address-size prefix", [0x67, 0xf3, 0xa5]],
  ])("%s, which may transfer control or repeat, is the block's last instruction", (_, instruction) => {
    expect(translate([...XOR_EAX, ...instruction, ...DEC_ESI_JNZ], 0)).toMatchObject({ instructions: 2, length: 2 + instruction.length });
  });
  // the core's string function, its iterations paid from the budget the block leaves (jitRepString)
  it.each([
    ["REP MOVSB", [0xf3, 0xa4]],
    ["REP MOVSD", [0xf3, 0xa5]],
    ["REP STOSW", [0x66, 0xf3, 0xab]],
    ["REP STOSB", [0xf3, 0xaa]],
  ])("%s is compiled and the block goes on after it", (_, instruction) => {
    expect(translate([...XOR_EAX, ...instruction, ...DEC_ESI_JNZ], 0)).toMatchObject({ instructions: 4, length: 5 + instruction.length });
  });
  it("an instruction that would run past the block's page ends the block before it", () => {
    const code = new Uint8Array(0x2000);
    code.set([...XOR_EAX, ...BSF_MEM], 0x1000 - 2 - 3);
    expect(translateAt(code, 0x1000 - 2 - 3)).toMatchObject({ instructions: 1, length: 2 });
  });
  it("so does one that starts on the next page", () => {
    const code = new Uint8Array(0x2000);
    code.set([...XOR_EAX, ...XOR_EAX, ...BSF_MEM], 0x1000 - 4);
    expect(translateAt(code, 0x1000 - 4)).toMatchObject({ instructions: 2, length: 4 });
  });
});

describe("regions: the blocks one function holds, and the edges that stay inside it", () => {
  const ADD_EAX_EBX_DEC_ECX = [0x01, 0xd8, 0x49];
  it("a block ending with a Jcc back to its start goes round inside", () => {
    expect(translate([...ADD_EAX_EBX_DEC_ECX, 0x75, 0xfb], 0)).toMatchObject({ instructions: 3, inner: expect.arrayContaining([0x1000]) });
  });

  it("so does one ending with LOOP", () => {
    expect(translate([0x01, 0xd8, 0xe2, 0xfc], 0)).toMatchObject({ instructions: 2, inner: expect.arrayContaining([0x1000]) });
  });

  it("a Jcc to another page leaves; a loop switching address spaces leaves at every round", () => {
    const t = translate([...ADD_EAX_EBX_DEC_ECX, 0x75, 0xfa], 0)!;
    expect(t.instructions).toBe(3);
    expect(t.inner).not.toContain(0xfff);
    expect(translate([...ADD_EAX_EBX_DEC_ECX, ...MOV_EAX_CR3, 0x75, 0xf8], 0)).toMatchObject({ instructions: 4, blocks: [expect.anything()], inner: [] });
  });

  it("a loop around an instruction that exits goes round too (the exit is handled inside the block)", () => {
    expect(translate([...ADD_EAX_EBX_DEC_ECX, 0x0f, 0xa2, 0x75, 0xf9], 0)).toMatchObject({ instructions: 4, inner: expect.arrayContaining([0x1000]) });
  });

  it("a loop split over three blocks by an if is one region", () => {
    // 1000: add %ebx,%eax; jz 1005; 1004: inc %esi; 1005: dec %ecx; jnz 1000; 1008: hlt
    const t = translate([0x01, 0xd8, 0x74, 0x01, 0x46, 0x49, 0x75, 0xf8, 0xf4], 0)!;
    expect(t.instructions).toBe(2);
    expect(t.inner).toEqual(expect.arrayContaining([0x1000, 0x1004, 0x1005]));
  });

  it("a CALL's target and its return address (where the RET most often comes back) join the region", () => {
    // 1000: call 1009; 1005: dec %ecx; jnz 1000; 1008: hlt; 1009: inc %eax; ret
    const t = translate([0xe8, 0x04, 0, 0, 0, 0x49, 0x75, 0xf8, 0xf4, 0x40, 0xc3], 0)!;
    expect(t.inner).toEqual(expect.arrayContaining([0x1000, 0x1005, 0x1009]));
  });

  it("holds at most PLAIN_REGION_BLOCKS blocks without a jump table", () => {
    const chain = Array.from({ length: 40 }, () => [0x40, 0xeb, 0x00]).flat(); // inc %eax; jmp to the next
    expect(translate(chain, 0)!.blocks).toHaveLength(PLAIN_REGION_BLOCKS);
  });
});
