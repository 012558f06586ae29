// CPUID, VMCALL, IN and OUT inside compiled blocks (src/jit/translate.ts portIo and exit): the
// core performs them in place, the block goes on when they did not exit or when the VMM's exit
// handler, called right there, resumed the guest, and VM entry goes straight back into compiled
// code. None of it may be visible: every exit (reason, qualification, EIP, instruction length,
// retired count, registers) and the end state must be those of the interpreter alone, whether
// the instruction exits, runs in the core, or faults.
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE, AR_CODE3, AR_DATA0, AR_DATA3, REG_NAMES, assemble, descriptor } from "../core/harness";
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
const LOW_RAM_COMPARED = 0x20000; // the RAM where the tests' guests write
const IN_IMM8_LENGTH = 2; // the one instruction that faults here

/**
 * How the test's VMM answers exits. `delivered`: inside the core's call to its exit handler, as the
 * real VMM does (an exit inside a block then goes on in the block); else run() returns at each
 * exit. `budget(k)`: the preemption-timer budget set after the k-th exit. `alter(cpu, k)`: what
 * else the handler changes after the k-th exit.
 */
interface Vmm { delivered?: boolean; budget?: (k: number) => number; alter?: (cpu: TestCpu, k: number) => void }

/** Runs `source` to its HLT as a VMM would, answering each exit; returns what it saw. */
function runAsVmm(source: string, jit: boolean, setup: (cpu: TestCpu) => void = () => {}, vmm: Vmm = {}) {
  const exits: unknown[] = [];
  const answer = (reason: number): boolean => {
    // the end: the final HLT, which at CPL 3 is a #GP
    if (reason === L.EXIT_HLT || (reason === L.EXIT_EXCEPTION && cpu.read8(cpu.eip) === HLT)) return false;
    const length = reason === L.EXIT_EXCEPTION ? IN_IMM8_LENGTH : cpu.vmcs(L.X_INSTRUCTION_LENGTH);
    exits.push({ reason, qualification: cpu.qualification, eip: cpu.eip, length, retired: cpu.core.instructionsRetired(), regs: regs() });
    const k = exits.length;
    if (reason === L.EXIT_CPUID) ["eax", "ebx", "ecx", "edx"].forEach((r, i) => cpu.setReg(r as "eax", k * (i + 1)));
    else if (reason === L.EXIT_VMCALL) cpu.setReg("eax", k * 7);
    else if (reason === L.EXIT_IO && cpu.qualification & L.IOQ_IN) cpu.setReg("eax", (cpu.reg("eax") & ~0xff) | (k & 0xff));
    else if (reason !== L.EXIT_IO && reason !== L.EXIT_EXCEPTION && reason !== L.EXIT_PREEMPTION_TIMER) throw new Error(`unexpected exit ${reason}`);
    if (exits.length > 10_000) throw new Error("runaway guest");
    if (reason !== L.EXIT_PREEMPTION_TIMER) cpu.eip = cpu.eip + length;
    if (vmm.budget || reason === L.EXIT_PREEMPTION_TIMER) cpu.setVmcs(L.C_PREEMPTION_TIMER, vmm.budget?.(k) ?? 5_000_000);
    vmm.alter?.(cpu, k);
    return true;
  };
  const cpu: TestCpu = new TestCpu(4 << 20, { jit, exitHandler: vmm.delivered ? answer : undefined });
  const regs = () => REG_NAMES.map((r) => cpu.reg(r));
  setup(cpu);
  cpu.load(CODE_BASE, assemble(source));
  cpu.eip = CODE_BASE;
  cpu.setVmcs(L.C_PREEMPTION_TIMER, vmm.budget?.(0) ?? 5_000_000);
  if (vmm.delivered) expect(answer(cpu.core.run())).toBe(false);
  else while (answer(cpu.core.run()));
  const low = cpu.ram.slice(0, LOW_RAM_COMPARED);
  return { exits, regs: regs(), eflags: cpu.eflags, retired: cpu.core.instructionsRetired(), low, compiled: cpu.compiler?.compiled ?? 0,
    regionBlocks: cpu.compiler?.regionBlocks ?? 0 };
}

/** Compiled, with exits returned and with exits delivered: the same as the interpreter's. */
function expectSameAsInterpreter(source: string, setup?: (cpu: TestCpu) => void, vmm: Vmm = {}): ReturnType<typeof runAsVmm> {
  const interpreted = runAsVmm(source, false, setup, vmm);
  let compiled = interpreted;
  for (const delivered of [false, true]) {
    compiled = runAsVmm(source, true, setup, { ...vmm, delivered });
    expect(compiled.compiled).toBeGreaterThan(0);
    expect(compiled.exits).toEqual(interpreted.exits);
    expect(compiled.regs).toEqual(interpreted.regs);
    expect(compiled.eflags).toBe(interpreted.eflags);
    expect(compiled.retired).toBe(interpreted.retired);
    expect(compiled.low).toEqual(interpreted.low);
  }
  return compiled;
}

describe("instructions interpreted inside compiled blocks", () => {
  it("exits from inside a block: every exit and the end state as the interpreter's", () => {
    const { exits } = expectSameAsInterpreter(EXITING_LOOP);
    expect(exits).toHaveLength(150 * 5);
  });

  it("a budget the handler sets anew at each exit, running out inside blocks: the same exits", () => {
    const { exits } = expectSameAsInterpreter(EXITING_LOOP, undefined, { budget: (k) => 1 + ((k * 7) % 23) });
    expect(exits.filter((e) => (e as { reason: number }).reason === L.EXIT_PREEMPTION_TIMER).length).toBeGreaterThan(50);
  });

  it("a handler that moves DS (a segment the blocks assume flat): the block ends, the write lands in the new DS", () => {
    const source = "mov $60, %esi\n1: xor %eax, %eax\ncpuid\nmov %esi, 0x2000(,%esi,4)\ndec %esi\njnz 1b\nhlt";
    const moveDs = (cpu: TestCpu, k: number) => { if (k === 40) cpu.setSegment(L.SR_DS, 0x10, 0x10000, 0xffffffff, AR_DATA0); };
    const { low } = expectSameAsInterpreter(source, undefined, { alter: moveDs });
    expect(new DataView(low.buffer).getUint32(0x10000 + 0x2000 + 20 * 4, true)).toBe(20);
  });

  it("I/O that the I/O bitmaps let run in the core: the block goes on", () => {
    const source = "mov $300, %ecx\n1: in $0x71, %al\nadd %eax, %ebx\nout %al, $0x80\ninc %edx\ndec %ecx\njnz 1b\nhlt";
    const { exits } = expectSameAsInterpreter(source, (cpu) => cpu.setVmcs(L.C_PRIMARY, L.CTL_HLT_EXITING | L.CTL_USE_IO_BITMAPS));
    expect(exits).toHaveLength(0);
  });

  it("a handler that rewrites the code after the exiting instruction: the new code runs", () => {
    const source = "mov $60, %esi\n1: xor %eax, %eax\ncpuid\nadd $1, %ebp\ndec %esi\njnz 1b\nhlt";
    const ADD_IMMEDIATE = CODE_BASE + 5 + 2 + 2 + 2; // past MOV, XOR, CPUID and ADD's opcode and ModR/M
    const rewrite = (cpu: TestCpu, k: number) => { if (k === 40) cpu.write8(ADD_IMMEDIATE, 100); };
    const { regs } = expectSameAsInterpreter(source, undefined, { alter: rewrite });
    expect(regs[REG_NAMES.indexOf("ebp")]).toBe(39 + 21 * 100);
  });

  it("a handler that sets CF: the guest's next instruction sees it", () => {
    const source = "mov $60, %esi\n1: xor %eax, %eax\ncpuid\nadc $0, %ebp\ndec %esi\njnz 1b\nhlt";
    const setCarry = (cpu: TestCpu, k: number) => { if (k % 5 === 0) cpu.eflags = cpu.eflags | 1; };
    const { regs } = expectSameAsInterpreter(source, undefined, { alter: setCarry });
    expect(regs[REG_NAMES.indexOf("ebp")]).toBe(12);
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

// Forms the compiler does not translate are executed by the core's interpreter in place
// (assembly/jit/helpers.ts jitInterpret) and the block goes on: the state, the exits and the
// retired count must be the interpreter's alone, and the block must really go on (its
// instructions count as compiled), end where the instruction needs it, or fault as the
// interpreter would.
describe("forms the compiler leaves to the interpreter, executed inside compiled blocks", () => {
  const compiledShare = (cpu: TestCpu) => cpu.vmcs(L.STAT_COMPILED_INSTRUCTIONS_LO) / cpu.core.instructionsRetired();
  const run = (source: string, jit: boolean, setup: (cpu: TestCpu) => void = () => {}) => {
    const cpu = new TestCpu(1 << 20, { jit });
    setup(cpu);
    expect(cpu.exec(source, 5_000_000)).toBe(L.EXIT_HLT);
    return cpu;
  };
  const expectSame = (source: string, setup?: (cpu: TestCpu) => void) => {
    const interpreted = run(source, false, setup), compiled = run(source, true, setup);
    for (const r of REG_NAMES) expect(compiled.reg(r), r).toBe(interpreted.reg(r));
    expect(compiled.eflags).toBe(interpreted.eflags);
    expect(compiled.core.instructionsRetired()).toBe(interpreted.core.instructionsRetired());
    expect(compiled.ram.slice(0, LOW_RAM_COMPARED)).toEqual(interpreted.ram.slice(0, LOW_RAM_COMPARED));
    return compiled;
  };

  it("16-bit stores and XCHG with memory between compiled instructions: the block goes on", () => {
    const source = `mov $2000, %esi
1: add $3, %ebx
movw %bx, 0x4000(,%esi,2)
xchg %ecx, 0x9000(,%esi,4)
add %ebx, %ecx
dec %esi
jnz 1b
hlt`;
    const cpu = expectSame(source);
    expect(compiledShare(cpu)).toBeGreaterThan(0.95); // ended at each interpreted form, it would be ~1/3
  });

  it("RDTSC inside a block reads the retired count the interpreter would", () => {
    const source = "mov $500, %esi\n1: add $1, %ebx\nrdtsc\nmov %eax, 0x4000(,%esi,4)\ndec %esi\njnz 1b\nhlt";
    const cpu = expectSame(source);
    expect(compiledShare(cpu)).toBeGreaterThan(0.9);
    expect(cpu.read32(0x4000 + 4 * 100) - cpu.read32(0x4000 + 4 * 101)).toBe(5); // one loop round apart
  });

  it("an interpreted store into the block's own code: the new code runs", () => {
    // the MOVW writes the low half of the immediate of the ADD after it, in the same block
    const source = `mov $300, %esi
1: movw %si, 2f + 2
2: add $0x11111111, %ebp
dec %esi
jnz 1b
hlt`;
    const cpu = expectSame(source);
    let expected = 0;
    for (let si = 300; si > 0; si--) expected = (expected + (0x11110000 | si)) >>> 0;
    expect(cpu.reg("ebp")).toBe(expected);
  });

  it("a segment load inside a block: the block ends and what follows uses the new segment", () => {
    const source = `mov $40, %esi
1: add $4, %edi
cmp $20, %esi
jne 2f
mov $0x28, %eax
mov %eax, %ds
2: mov %esi, 0x2000(,%esi,4)
dec %esi
jnz 1b
hlt`;
    const cpu = expectSame(source, (c) => {
      // GDT entry 5: data with base 0x10000
      c.writeGdt(0x800, [
        [0, 0], descriptor(0, 0xfffff, 0x9a, 0xc), descriptor(0, 0xfffff, 0x92, 0xc),
        descriptor(0, 0xfffff, 0xfa, 0xc), descriptor(0, 0xfffff, 0xf2, 0xc), descriptor(0x10000, 0xfffff, 0x92, 0xc),
      ]);
    });
    expect(cpu.read32(0x10000 + 0x2000 + 4 * 19)).toBe(19);
    expect(cpu.read32(0x2000 + 4 * 21)).toBe(21);
  });

  it("an interpreted instruction that faults: the fault as the interpreter raises it, EIP at the instruction", () => {
    // BOUND (62) is not compiled: it raises #BR when the index leaves the bounds, at round 10
    const source = `mov $0, %esi
movl $0, 0x3000
movl $9, 0x3004
1: add $1, %ebx
bound %esi, 0x3000
inc %esi
cmp $100, %esi
jne 1b
hlt`;
    const setup = (c: TestCpu) => c.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 5);
    for (const jit of [false, true]) {
      const cpu = new TestCpu(1 << 20, { jit });
      setup(cpu);
      expect(cpu.exec(source, 5_000_000), `jit ${jit}`).toBe(L.EXIT_EXCEPTION);
      expect(cpu.reg("esi")).toBe(10);
      expect(cpu.reg("ebx")).toBe(11);
      expect(cpu.eip).toBe(CODE_BASE + 5 + 10 + 10 + 3);
      expect(cpu.core.instructionsRetired()).toBe(3 + 10 * 5 + 1);
      expect(cpu.vmcs(L.STAT_COMPILED_INSTRUCTIONS_LO)).toBeLessThan(3 + 10 * 5 + 1); // not the faulting BOUND
    }
  });
});

// Interrupt-window exiting (SDM 25.2): the exit comes at the first instruction boundary where the
// guest can take an interrupt. No compiled code runs while the VMM watches for it, or a branch in
// STI's shadow would run compiled blocks past that boundary.
it("a branch in STI's shadow with the interrupt window watched: the window exit right after it", () => {
  const source = "mov $100, %ecx\n2: add $1, %eax\ndec %ecx\njnz 2b\nhlt\n3: sti\njmp 2b";
  const loop = CODE_BASE + 5;
  const STI_AT = CODE_BASE + 5 + 3 + 1 + 2 + 1;
  for (const jit of [false, true]) {
    const cpu = new TestCpu(1 << 20, { jit });
    expect(cpu.exec(source), "the loop, compiled when jit is on").toBe(L.EXIT_HLT);
    cpu.setReg("ecx", 100);
    cpu.setReg("eax", 0);
    cpu.eip = STI_AT;
    cpu.setVmcs(L.C_PRIMARY, L.CTL_HLT_EXITING | L.CTL_UNCONDITIONAL_IO | L.CTL_INTERRUPT_WINDOW);
    expect(cpu.run(1_000_000), `jit ${jit}`).toBe(L.EXIT_INTERRUPT_WINDOW);
    expect(cpu.eip).toBe(loop);
    expect(cpu.reg("eax")).toBe(0);
  }
});

// The exits of a region's second block (src/jit/region.ts): delivered there, the region goes on
// inside, through the edge back to its first block; every exit and the end state as the
// interpreter's, with budgets running out anywhere.
describe("exits inside a region's later blocks", () => {
  const SPLIT = `mov $150, %esi\n1: add $1, %edi\ntest $1, %esi\njz 2f\nxor %eax, %eax\ncpuid\nadd %eax, %ebp\n2: out %al, $0x80\nadd %esi, %ebx\ndec %esi\njnz 1b\nhlt`;
  it("every exit and the end state as the interpreter's", () => {
    const { exits } = expectSameAsInterpreter(SPLIT);
    expect(exits).toHaveLength(150 + 75);
  });
  it("with a budget set anew at each exit, running out inside the region", () => {
    const { exits } = expectSameAsInterpreter(SPLIT, undefined, { budget: (k) => 1 + ((k * 7) % 23) });
    expect(exits.filter((e) => (e as { reason: number }).reason === L.EXIT_PREEMPTION_TIMER).length).toBeGreaterThan(10);
  });
  it("a handler that rewrites a later block's code: the region is forgotten and the new code runs", () => {
    // the region entered at 1: holds the ADD's block (3:), reached from its JZ; only that block,
    // not the region's first, holds the byte the handler rewrites at the 20th exit
    const source = `mov $60, %esi\n1: xor %eax, %eax\ntest $1, %esi\njz 3f\ncpuid\ndec %esi\njnz 1b\nhlt\n3: add $1, %ebp\ndec %esi\njnz 1b\nhlt`;
    const ADD_IMMEDIATE = CODE_BASE + 5 + 2 + 6 + 2 + 2 + 1 + 2 + 1 + 2; // past MOV ... HLT and ADD's opcode and ModR/M
    const rewrite = (cpu: TestCpu, k: number) => { if (k === 20) cpu.write8(ADD_IMMEDIATE, 100); };
    const { regs, regionBlocks } = expectSameAsInterpreter(source, undefined, { alter: rewrite });
    expect(regs[REG_NAMES.indexOf("ebp")]).toBe(20 * 1 + 10 * 100); // the 20th CPUID is at ESI 21
    expect(regionBlocks).toBeGreaterThan(0);
  });
});
