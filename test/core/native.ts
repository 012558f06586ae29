// The host CPU as an oracle for user-mode instructions: assemble a snippet into a static 32-bit
// Linux program placed at the same addresses as in the tests (code at 0x10000, stack top 0x90000,
// scratch memory mapped at 0x38000-0xA8000), run it with the given registers, EFLAGS and memory,
// and read back the registers, EFLAGS and chosen dwords. Used by helpers.ts when WV_NATIVE=1.
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REG_NAMES, CODE_BASE, STACK_TOP } from "./harness";

const OUT = 0x9f000; // where the program stores its results
const SCRATCH_STACK = 0x9e000; // stack for the prologue's and epilogue's PUSHF/POPF

export interface NativeResult { regs: number[]; eflags: number; mem: Record<number, number> }

export function runNative(asm: string, regs: Record<string, number>, eflags: number,
  mem: Record<number, number>, dump: number[]): NativeResult {
  // The prologue lives in its own section so that the snippet starts at CODE_BASE exactly as in
  // the core (return addresses pushed by CALL match).
  let s = `.globl _start\n.section .prologue,"ax"\n_start:\n movl $${SCRATCH_STACK},%esp\n`;
  s += ` pushl $${eflags & ~0x100}\n popfl\n movl $${STACK_TOP},%esp\n`; // never TF
  for (const [a, v] of Object.entries(mem)) s += ` movl $${v >>> 0},${a}\n`;
  for (const r of REG_NAMES) if (r !== "esp" && regs[r] !== undefined) s += ` movl $${regs[r] >>> 0},%${r}\n`;
  if (regs.esp !== undefined) s += ` movl $${regs.esp >>> 0},%esp\n`;
  s += ` jmp __snippet\n.text\n__snippet:\n${asm}\n`;
  REG_NAMES.forEach((r, i) => { s += ` movl %${r},${OUT + i * 4}\n`; });
  s += ` movl $${SCRATCH_STACK},%esp\n pushfl\n popl ${OUT + 32}\n`;
  dump.forEach((a, i) => { s += ` movl ${a},%eax\n movl %eax,${OUT + 36 + i * 4}\n`; });
  s += ` movl $4,%eax\n movl $1,%ebx\n movl $${OUT},%ecx\n movl $${36 + dump.length * 4},%edx\n int $0x80\n`;
  s += ` movl $1,%eax\n xorl %ebx,%ebx\n int $0x80\n`;
  s += `.section .scratch,"aw",@nobits\n .space 0x70000\n`;
  const dir = mkdtempSync(join(tmpdir(), "wasmvisor-native-"));
  try {
    writeFileSync(join(dir, "t.s"), s);
    execFileSync("as", ["--32", "-o", join(dir, "t.o"), join(dir, "t.s")], { stdio: "pipe" });
    execFileSync("ld", ["-m", "elf_i386", `-Ttext=0x${CODE_BASE.toString(16)}`, "--section-start=.prologue=0x30000",
      "--section-start=.scratch=0x38000",
      "-o", join(dir, "t"), join(dir, "t.o")], { stdio: "pipe" });
    const out = execFileSync(join(dir, "t"));
    const dv = new DataView(out.buffer, out.byteOffset, out.length);
    const m: Record<number, number> = {};
    dump.forEach((a, i) => { m[a] = dv.getUint32(36 + i * 4, true); });
    return { regs: REG_NAMES.map((_, i) => dv.getUint32(i * 4, true)), eflags: dv.getUint32(32, true), mem: m };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
