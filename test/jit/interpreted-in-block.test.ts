// CPUID, VMCALL, IN and OUT inside compiled blocks (src/jit/translate.ts interpret): the core's
// interpreter executes them in place, the block goes on when they did not exit, and VM entry
// goes straight back into compiled code. None of it may be visible: every exit (reason,
// qualification, EIP, instruction length, retired count, registers) and the end state must be
// those of the interpreter alone, whether the instruction exits, runs in the core, or faults.
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE, AR_CODE3, AR_DATA3, REG_NAMES, assemble } from "../core/harness";
import * as L from "../../assembly/vmcs-layout";

const EXITING_LOOP = `mov $150, %esi
1: mov %esi, %eax
out %al, $0x80
add $1, %edi
in $0x71, %al
add %eax, %ebx
mov $0x3f8, %edx
out %eax, %dx
xor %eax, %eax
cpuid
add %eax, %ebp
vmcall
add %eax, %edi
dec %esi
jnz 1b
hlt`;

const HLT = 0xf4;
const IN_IMM8_LENGTH = 2; // the one instruction that faults here

/** Runs `source` to its HLT as a VMM would, answering each exit; returns what it saw. */
function runAsVmm(source: string, jit: boolean, setup: (cpu: TestCpu) => void = () => {}) {
  const cpu = new TestCpu(4 << 20, { jit });
  setup(cpu);
  cpu.load(CODE_BASE, assemble(source));
  cpu.eip = CODE_BASE;
  const regs = () => REG_NAMES.map((r) => cpu.reg(r));
  const exits: unknown[] = [];
  for (;;) {
    const reason = cpu.run(5_000_000);
    // the end: the final HLT, which at CPL 3 is a #GP
    if (reason === L.EXIT_HLT || (reason === L.EXIT_EXCEPTION && cpu.read8(cpu.eip) === HLT)) break;
    const length = reason === L.EXIT_EXCEPTION ? IN_IMM8_LENGTH : cpu.vmcs(L.X_INSTRUCTION_LENGTH);
    exits.push({ reason, qualification: cpu.qualification, eip: cpu.eip, length, retired: cpu.core.instructionsRetired(), regs: regs() });
    const k = exits.length;
    if (reason === L.EXIT_CPUID) ["eax", "ebx", "ecx", "edx"].forEach((r, i) => cpu.setReg(r as "eax", k * (i + 1)));
    else if (reason === L.EXIT_VMCALL) cpu.setReg("eax", k * 7);
    else if (reason === L.EXIT_IO && cpu.qualification & L.IOQ_IN) cpu.setReg("eax", (cpu.reg("eax") & ~0xff) | (k & 0xff));
    else if (reason !== L.EXIT_IO && reason !== L.EXIT_EXCEPTION) throw new Error(`unexpected exit ${reason}`);
    if (exits.length > 10_000) throw new Error("runaway guest");
    cpu.eip = cpu.eip + length;
  }
  return { exits, regs: regs(), eflags: cpu.eflags, retired: cpu.core.instructionsRetired(), compiled: cpu.compiler?.compiled ?? 0 };
}

function expectSameAsInterpreter(source: string, setup?: (cpu: TestCpu) => void): ReturnType<typeof runAsVmm> {
  const interpreted = runAsVmm(source, false, setup);
  const compiled = runAsVmm(source, true, setup);
  expect(compiled.compiled).toBeGreaterThan(0);
  expect(compiled.exits).toEqual(interpreted.exits);
  expect(compiled.regs).toEqual(interpreted.regs);
  expect(compiled.eflags).toBe(interpreted.eflags);
  expect(compiled.retired).toBe(interpreted.retired);
  return compiled;
}

describe("instructions interpreted inside compiled blocks", () => {
  it("exits from inside a block: every exit and the end state as the interpreter's", () => {
    const { exits } = expectSameAsInterpreter(EXITING_LOOP);
    expect(exits).toHaveLength(150 * 5);
  });

  it("I/O that the I/O bitmaps let run in the core: the block goes on", () => {
    const source = "mov $300, %ecx\n1: in $0x71, %al\nadd %eax, %ebx\nout %al, $0x80\ninc %edx\ndec %ecx\njnz 1b\nhlt";
    const { exits } = expectSameAsInterpreter(source, (cpu) => cpu.setVmcs(L.C_PRIMARY, L.CTL_HLT_EXITING | L.CTL_USE_IO_BITMAPS));
    expect(exits).toHaveLength(0);
  });

  it("IN at CPL 3 without I/O permission: #GP from inside a block, EIP at the IN", () => {
    const source = "mov $100, %ecx\n1: add $2, %ebx\nin $0x71, %al\nadd %eax, %edx\ndec %ecx\njnz 1b\nhlt";
    const { exits } = expectSameAsInterpreter(source, (cpu) => {
      cpu.setSegment(L.SR_CS, 0x1b, 0, 0xffffffff, AR_CODE3);
      for (const s of [L.SR_DS, L.SR_ES, L.SR_SS]) cpu.setSegment(s, 0x23, 0, 0xffffffff, AR_DATA3);
      cpu.setSegment(L.SR_TR, 0, 0, 0x67, 0x8b);
      cpu.write32(0x64, 0x68 << 16); // the I/O permission bitmap starts past the TSS limit: no port allowed
      cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13);
      cpu.setVmcs(L.C_PRIMARY, L.CTL_UNCONDITIONAL_IO); // HLT at CPL 3 faults: the loop ends at #GP too
    });
    expect(exits.length).toBeGreaterThanOrEqual(100);
    expect(exits[99]).toMatchObject({ reason: L.EXIT_EXCEPTION, eip: CODE_BASE + 5 + 3 });
  });
});
