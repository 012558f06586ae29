// The compiling tier's decoder (src/jit/decode.ts): the IR records a block's bytes become, and
// which forms are compiled, interpreted inside the block, or end it.
import { describe, it, expect } from "vitest";
import { decodeBlock, MAX_BLOCK_INSTRUCTIONS } from "../../src/jit/decode";
import { MAX_BLOCK_BYTES } from "../../assembly/jit-abi";
import { assemble } from "../core/harness";

const EAX = 0, EBX = 3, ESI = 6;

function decode(bytes: number[], cpl = 0) {
  const code = new Uint8Array(0x2000);
  code.set(bytes, 0x1000);
  return decodeBlock({ code, eip: 0x401000, physical: 0x1000, cpl });
}

describe("decodeBlock", () => {
  it("one record per instruction, operands in Intel order with their sizes", () => {
    expect(decode([0x89, 0x44, 0xb3, 0x08, 0x02, 0xc3, 0xeb, 0xfe])).toEqual([
      { ip: 0x401000, length: 4, op: "mov", operands: [{ base: EBX, index: ESI, scale: 2, disp: 8, bytes: 4 }, { reg: EAX, bytes: 4 }] },
      { ip: 0x401004, length: 2, op: "add", operands: [{ reg: EAX, bytes: 1 }, { reg: EBX, bytes: 1 }] },
      { ip: 0x401006, length: 2, op: "jmp", operands: [{ imm: 0x401006 }] },
    ]);
  });

  it("an 8-bit immediate is sign-extended to a 32-bit operand, not to an 8-bit one", () => {
    const [add32, add8] = decode([0x83, 0xc0, 0xff, 0x80, 0xc0, 0xff, 0xc3]);
    expect([add32.operands[1], add8.operands[1]]).toEqual([{ imm: -1 }, { imm: 0xff }]);
  });

  it("conditions and branch targets", () => {
    expect(decode([0x0f, 0x94, 0xc0, 0x75, 0xfb])).toMatchObject([
      { op: "setcc", cc: 4, operands: [{ reg: EAX, bytes: 1 }] },
      { op: "jcc", cc: 5, operands: [{ imm: 0x401000 }] },
    ]);
  });

  it("forms not compiled are interpreted inside the block, and one that may transfer control ends it", () => {
    expect(decode([0x31, 0xc0, 0x0f, 0xbc, 0xc8, 0x2e, 0x0f, 0x84, 0, 0, 0, 0, 0x90]).map((i) => [i.op, i.length])).toEqual([
      ["xor", 2], ["interpret", 3], ["interpret", 7],
    ]);
  });

  it("MOV to CR3 ignores ModR/M.mod, as the CPU does", () => {
    expect(decode([0x90, 0x0f, 0x22, 0x18, 0xc3])[1]).toMatchObject({ op: "movToCr3", length: 3, operands: [{ reg: EAX, bytes: 4 }] });
  });

  // Each is measured common in gcc -O2 code; compiled, they keep a block going where the
  // interpreter would otherwise run (test/jit/differential.test.ts checks what they do).
  it.each([
    ["call *%eax", "call"], ["call *0x4000(,%ecx,4)", "call"], ["jmp *%edx", "jmp"], ["pushl 8(%ebp)", "push"],
    ["leave", "leave"], ["shl %cl, %eax", "shl"], ["sarb $3, %al", "sar"], ["rcr %cl, %dx", "rcr"],
    ["imul %ecx", "imulWide"], ["idivl 4(%esp)", "idiv"], ["divb %bl", "div"], ["mulw %cx", "mul"],
    ["movsb", "movs"], ["movsl", "movs"], ["stosw", "stos"], ["lodsb", "lods"], ["addw $5, %ax", "add"],
    ["movw %bx, (%esi)", "mov"], ["incw %si", "inc"], ["negb 3(%edi)", "neg"], ["movzwl %cx, %eax", "movzx"],
    ["movswl %dx, %esi", "movsx"], ["cwtl", "cwde"], ["incl (%eax)", "inc"], ["decb %ah", "dec"],
    ["bt %ecx, %eax", "bt"], ["btsl %ecx, 4(%ebx)", "bts"], ["btrl $3, (%esi)", "btr"], ["btc $31, %edx", "btc"],
    ["shld $7, %eax, %ebx", "shld"], ["shrd %cl, %ebx, 8(%esi)", "shrd"],
    // a kernel's system-call path
    ["pushal", "pusha"], ["popal", "popa"], ["push %ds", "pushSeg"], ["push %es", "pushSeg"], ["push %gs", "pushSeg"],
    ["pop %es", "popSeg"], ["pop %fs", "popSeg"], ["mov %eax, %ds", "movSeg"], ["mov 8(%esp), %gs", "movSeg"],
    ["int $0x80", "int"], ["iret", "iret"], ["sysenter", "sysenter"], ["sysexit", "sysexit"], ["cld", "cld"], ["std", "std"],
  ])("%s is compiled as %s", (form, op) => {
    const bytes = assemble(`nop\n${form}\nhlt`, 0x401000);
    expect(decode(Array.from(bytes))[1].op).toBe(op);
  });

  it("16-bit operands: sized as the prefix says, an 8-bit immediate sign-extended to 16 bits", () => {
    const [, add] = decode(Array.from(assemble("nop\naddw $-1, 6(%ebx)\nhlt", 0x401000)));
    expect(add.operands).toEqual([{ base: EBX, index: -1, scale: 0, disp: 6, bytes: 2 }, { imm: 0xffff }]);
  });

  it("loads of SS and CS are not compiled (MOV SS holds off interrupts for one instruction)", () => {
    const ops = decode(Array.from(assemble("nop\nmov %eax, %ss\npop %ss\nret", 0x401000))).map((i) => i.op);
    expect(ops).toEqual(["nop", "interpret", "interpret", "ret"]);
  });

  it("POP r/m32 is compiled, but not into an address formed with ESP (formed after the pop) nor with 16 bits", () => {
    const ops = decode(Array.from(assemble("nop\npopl (%eax)\npopl 8(%ebx,%ecx,4)\npopl 4(%esp)\npopl (%esp,%eax)\npopw (%eax)\nret", 0x401000))).map((i) => i.op);
    expect(ops).toEqual(["nop", "pop", "pop", "interpret", "interpret", "interpret", "ret"]);
  });

  it("PUSH CS and SS are not compiled (classic mode shows their RPL as 1: ifmode.ts)", () => {
    const ops = decode(Array.from(assemble("nop\npush %cs\npush %ss\nret", 0x401000))).map((i) => i.op);
    expect(ops).toEqual(["nop", "interpret", "interpret", "ret"]);
  });

  it("INT n and IRET end the block", () => {
    expect(decode(Array.from(assemble("nop\nint $0x80\nnop", 0x401000))).map((i) => i.op)).toEqual(["nop", "int"]);
    expect(decode(Array.from(assemble("popal\niret\nnop", 0x401000))).map((i) => i.op)).toEqual(["popa", "iret"]);
  });

  it("with the operand-size prefix, branches and the stack's forms are interpreted", () => {
    const ops = decode(Array.from(assemble("nop\npushw %ax\nretw", 0x401000))).map((i) => i.op);
    expect(ops).toEqual(["nop", "interpret", "interpret"]);
  });

  it("a loop body of 38 instructions in 110 bytes (realc's Fletcher-16 loop) is one block, up to its branch back", () => {
    const loop = [
      "0: movzwl 2(%esp), %eax", "movzbl 0x142140(%esi), %edi", "add %eax, %edi", "mov $0x80808081, %eax", "mul %edi",
      "mov %edx, %ecx", "shr $7, %ecx", "mov %ecx, %eax", "shl $8, %eax", "sub %ecx, %eax", "sub %eax, %edi",
      "mov $0x80808081, %eax", "add %edi, %ebx", "mov %di, 2(%esp)", "mov %edi, %ecx", "movzwl (%esp), %edi", "mul %ebx",
      "add 0x13c140(%esi,%esi,1), %di", "shr $7, %edx", "mov %edx, %eax", "shl $8, %eax", "sub %edx, %eax", "sub %eax, %ebx",
      "movzwl 0x144140(%esi,%esi,1), %eax", "mov %ebx, %edx", "movzwl %bx, %ebx", "xor %eax, %edi", "cmp %ax, %bp",
      "cmovl %eax, %ebp", "add $1, %esi", "mov %di, (%esp)", "cmp $0x2000, %esi", "jne 0b",
    ];
    const block = decode(Array.from(assemble(`${loop.join("\n")}\nhlt`, 0x401000)));
    expect(block.length).toBe(loop.length);
    expect(block[block.length - 1]).toMatchObject({ op: "jcc", operands: [{ imm: 0x401000 }] });
  });

  it(`a block holds at most ${MAX_BLOCK_INSTRUCTIONS} instructions and ${MAX_BLOCK_BYTES} bytes`, () => {
    expect(decode(Array(100).fill(0x90)).length).toBe(MAX_BLOCK_INSTRUCTIONS);
    const moves = decode(Array(60).fill([0xb8, 1, 2, 3, 4]).flat()); // mov $0x04030201, %eax
    expect(moves.length).toBe(Math.floor(MAX_BLOCK_BYTES / 5));
  });
});
