// Forms the translator emits inline where it used to call the interpreter's function, checked
// exhaustively against the interpreter: every kind, size and count, with the flags of each folded
// into the compared state, so a wrong result or a single wrong flag fails.
import { describe, it } from "vitest";
import * as L from "../../assembly/vmcs-layout";
import { DATA, withPaging, runBoth, expectAgreement } from "./agreement";

// A loop of 300 rounds around one instruction under test, folding its result and all its flags into
// ESI and EBP: SETC and SETO read them as the block keeps them, PUSHF (interpreted in place) sees
// them all, and ADC reads CF back from the core's globals. Each loop is one block, compiled after
// its first rounds. ECX counts down, so CL runs through 0-255 in compiled code.
const loop = (instruction: string, result: string) =>
  `mov $300, %ecx\n1: mov %edi, %eax\n${instruction}\nsetc %dl\nseto %dh\npushf\nadc ${result}, %ebp\nadd %edx, %ebp\n` +
  `pop %edx\nadd %edx, %esi\nrol $5, %ebp\nimul $0x9e3779b1, %edi, %edi\nadd %ecx, %edi\ndec %ecx\njnz 1b\n`;

// Shifts and rotates of each width, of a register and of memory, by CL and by constants about
// each width. EDI: a value with its top and low bits moving.
function shiftsProgram(): string {
  const widths = [["b", "%al", `${DATA}`], ["w", "%ax", `${DATA + 2}`], ["l", "%eax", `${DATA + 4}`]];
  let program = "mov $0x80000001, %edi\n";
  for (const op of ["shl", "shr", "sar", "rol", "ror"]) {
    for (const [suffix, reg, memory] of widths) {
      const result = suffix === "l" ? "%eax" : "%ebx";
      const widen = suffix === "l" ? "" : `\nmovz${suffix === "b" ? "bl" : "wl"} ${reg}, %ebx`;
      program += loop(`${op}${suffix} %cl, ${reg}${widen}`, result);
      program += loop(`${op}${suffix} %cl, ${memory}`, "%ecx");
      for (const count of [1, 3, 7, 8, 9, 15, 16, 17, 31]) program += loop(`${op}${suffix} $${count}, ${reg}${widen}`, result);
    }
  }
  return `${program}hlt`;
}

describe("shifts and rotates compiled inline agree with the interpreter", () => {
  it.each([["paging off", () => {}], ["paging on", withPaging]])("every kind, width and count, %s", (_, setup) => {
    expectAgreement(runBoth(shiftsProgram(), setup), L.EXIT_HLT);
  });
});

// DIV, IDIV and one-operand MUL and IMUL of 32 bits: DIV's 32-bit division when EDX is 0 and its
// 64-bit one otherwise; IDIV of a sign-extended dividend (CDQ) inline, and of any other dividend
// left to the interpreter; of registers and memory. Divisors run through both signs and never 0.
function mulDivProgram(): string {
  const divisor = (or: number) => `mov %ecx, %ebx\nsub $150, %ebx\nor $${or}, %ebx\nmov %ebx, ${DATA}\n`;
  const forms = [
    [`xor %edx, %edx\n${divisor(1)}div %ebx`, "%eax"],
    [`mov %edi, %edx\nand $0xff, %edx\nmov %ecx, %ebx\nor $0x100, %ebx\ndiv %ebx\nlea (%eax,%edx,2), %ebx`, "%ebx"],
    [`xor %edx, %edx\n${divisor(1)}divl ${DATA}\nlea (%eax,%edx,2), %ebx`, "%ebx"],
    [`cltd\n${divisor(1)}idiv %ebx\nlea (%eax,%edx,2), %ebx`, "%ebx"],
    [`cltd\n${divisor(3)}idivl ${DATA}\nlea (%eax,%edx,2), %ebx`, "%ebx"],
    [`mov %edi, %edx\nand $0x3f, %edx\nmov %ecx, %ebx\nor $0x80, %ebx\nidiv %ebx\nlea (%eax,%edx,2), %ebx`, "%ebx"],
    [`imul %ecx\nlea (%eax,%edx,2), %ebx`, "%ebx"],
    [`${divisor(0)}imull ${DATA}\nlea (%eax,%edx,2), %ebx`, "%ebx"],
    [`mul %ecx\nlea (%eax,%edx,2), %ebx`, "%ebx"],
  ];
  return `mov $0x80000001, %edi\n${forms.map(([instruction, result]) => loop(instruction, result)).join("")}hlt`;
}

describe("32-bit DIV, IDIV, MUL and IMUL compiled inline agree with the interpreter", () => {
  it.each([["paging off", () => {}], ["paging on", withPaging]])("registers and memory, %s", (_, setup) => {
    expectAgreement(runBoth(mulDivProgram(), setup), L.EXIT_HLT);
  });
});
