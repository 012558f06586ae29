// A Multiboot kernel that runs a batch of instruction sequences and prints, for each, its number,
// the registers it can change (EAX ECX EDX EBX EBP EDI), EFLAGS and the 128-byte scratch buffer
// its memory operands address, one line of hex dwords on COM1 (waiting for the transmitter as a
// driver must, or QEMU drops characters); then it exits with 0 through isa-debug-exit. Each sequence starts from its own registers, flags and scratch contents, with
// ESI pointing at the scratch buffer. Assembled with GNU as and linked at 1 MiB with ld, so the
// same file boots under `node dist/cli.js run` and `qemu-system-i386 -kernel`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Instruction, SCRATCH_BYTES } from "./user-sequence.js";

export const PRINTED_REGS = ["eax", "ecx", "edx", "ebx", "ebp", "edi"] as const;

export interface SequenceCase {
  regs: number[]; // PRINTED_REGS' initial values
  eflags: number;
  scratch: Uint8Array;
  sequence: Instruction[];
}

const RUNTIME = `
dump:
  pushfl
  pushal
  movl 28(%esp), %eax; call puthex
  movl 24(%esp), %eax; call puthex
  movl 20(%esp), %eax; call puthex
  movl 16(%esp), %eax; call puthex
  movl 8(%esp), %eax; call puthex
  movl 0(%esp), %eax; call puthex
  movl 32(%esp), %eax; call puthex
  movl $scratch, %ebx
  movl $${SCRATCH_BYTES / 4}, %ecx
1: movl (%ebx), %eax; call puthex; addl $4, %ebx; loop 1b
  movb $10, %al; call putc
  popal
  popfl
  ret
puthex:
  pushl %ecx
  pushl %edx
  movl %eax, %edx
  movl $8, %ecx
1: roll $4, %edx
  movl %edx, %eax
  andl $15, %eax
  movb hexdigits(%eax), %al
  call putc
  loop 1b
  movb $32, %al
  call putc
  popl %edx
  popl %ecx
  ret
putc:
  pushl %edx
  pushl %eax
  movw $0x3fd, %dx
1: inb %dx, %al
  testb $0x20, %al
  jz 1b
  popl %eax
  movw $0x3f8, %dx
  outb %al, %dx
  popl %edx
  ret
hexdigits: .ascii "0123456789abcdef"
`;

export function kernelSource(cases: SequenceCase[]): string {
  const text: string[] = [
    ".code32", ".text", ".balign 4", ".long 0x1BADB002", ".long 0", ".long -0x1BADB002",
    ".globl _start", "_start:", "  movl $stack_top, %esp", "  cld",
    ...cases.map((_, n) => `  call case_${n}`),
    "  movb $0, %al", "  outb %al, $0xf4", "2: hlt", "  jmp 2b", RUNTIME,
  ];
  const data: string[] = [".data"];
  cases.forEach((c, n) => {
    text.push(`case_${n}:`, `  movl $data_${n}, %esi`, "  movl $scratch, %edi", `  movl $${SCRATCH_BYTES / 4}, %ecx`, "  rep movsl",
      `  movl $${n}, %eax`, "  call puthex",
      ...PRINTED_REGS.map((r, i) => `  movl $${c.regs[i] >>> 0}, %${r}`),
      "  movl $scratch, %esi", `  pushl $${c.eflags >>> 0}`, "  popfl",
      ...c.sequence.map((i) => `  ${i.asm}`), "  call dump", "  ret");
    data.push(`data_${n}: .byte ${Array.from(c.scratch).join(",")}`);
  });
  return [...text, ...data, ".bss", ".balign 16", "scratch: .skip " + SCRATCH_BYTES, "stack: .skip 16384", "stack_top:", ""].join("\n");
}

/** Assembles and links the kernel for `cases`; returns the ELF file's path. */
export function buildKernel(cases: SequenceCase[]): string {
  const dir = mkdtempSync(join(tmpdir(), "wasmvisor-diff-"));
  writeFileSync(join(dir, "k.s"), kernelSource(cases));
  execFileSync("as", ["--32", "-o", join(dir, "k.o"), join(dir, "k.s")], { stdio: "pipe" });
  execFileSync("ld", ["-m", "elf_i386", "-Ttext=0x100000", "-o", join(dir, "k.elf"), join(dir, "k.o")], { stdio: "pipe" });
  return join(dir, "k.elf");
}
