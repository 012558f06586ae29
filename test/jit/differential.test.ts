// The compiling tier must be invisible: the same code run with and without it ends in the same
// registers, flags, memory and retired-instruction count. Each snippet loops enough times for
// its blocks to get hot and be compiled (the test checks that they were).
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE, AR_CODE3, AR_DATA3, GDT_BASE, descriptor, gate, assemble } from "../core/harness";
import { DATA, withPaging, runBoth, expectAgreement, expectSameSlices } from "./agreement";
import * as L from "../../assembly/vmcs-layout";
import { readInterpretedForms } from "../../src/vmm/interpreted-forms";

const LOOPS: [string, string][] = [
  ["register ALU loop", "mov $1000, %ecx\n1: add %ebx, %eax\nxor %eax, %edx\nsub $1, %ecx\njnz 1b\nhlt"],
  ["inc/dec keeping CF", "stc\nmov $500, %ecx\n1: inc %eax\ndec %ebx\nadc $0, %esi\ndec %ecx\njne 1b\nhlt"],
  ["ADC and SBB chains, 32 and 8 bits, carries in and out", `mov $0xfffffff0, %eax\nmov $-1, %ebx\nmov $400, %ecx\n1: add $7, %eax\nadc $0, %edx\nadc %ebx, %esi\nsbb %ebx, %edi\nseto %bl\nmovsbl %bl, %ebx\nadcb %al, ${DATA}\nsbbb $3, ${DATA + 1}\nsetc %bh\nsbb %eax, %ebp\nadc $0x7fffffff, %ebp\nsetc %dl\ndec %ecx\njnz 1b\nhlt`],
  ["MUL, DIV and moves to and from a 32-bit address", `mov $0x9e3779b1, %ebx\nmov $250, %ecx\n1: mov %ecx, %eax\nmul %ebx\nseto %bl\nsetc %bh\nsetz %dl\nadd %edx, %esi\nmov ${DATA}, %eax\nadd %ecx, %eax\nmov %eax, ${DATA + 4}\nmovb %cl, %al\nmovb %al, ${DATA + 9}\nmov ${DATA + 4}, %eax\nxor %edx, %edx\nmov $7, %edi\ndivl %edi\nadd %edx, %ebp\nmovb ${DATA + 9}, %al\nmull ${DATA + 4}\nor $0x10001, %ebx\ndec %ecx\njnz 1b\nhlt`],
  // CMPW is left to the interpreter, whose CF stays lazy: the block's DEC must take CF from it
  ["DEC keeping a CF the interpreter left lazy", "mov $300, %ecx\n1: mov %ecx, %eax\nand $1, %eax\ncmpw $1, %ax\njmp 2f\n2: dec %ebx\nsetc %dl\nmovzbl %dl, %edx\nadd %edx, %esi\ndec %ecx\njnz 1b\nhlt"],
  ["memory read-modify-write", `mov $${DATA}, %ebx\nmov $300, %ecx\n1: addl %ecx, (%ebx)\nmov (%ebx), %eax\nadd %eax, 4(%ebx)\nxorb %cl, 8(%ebx)\nloop 1b\nhlt`],
  ["signed and unsigned conditions", "mov $-200, %eax\nmov $400, %ecx\n1: cmp $3, %eax\njl 2f\ninc %esi\n2: cmp $7, %eax\njbe 3f\ninc %edi\n3: test %eax, %eax\njs 4f\ninc %edx\n4: add $1, %eax\ndec %ecx\njnz 1b\nhlt"],
  ["setcc, cmovcc and overflow", "mov $0x7ffffff0, %eax\nmov $100, %ecx\n1: add $1, %eax\nseto %bl\nsetc %bh\ncmovs %eax, %edx\nsetp %dl\nmovzbl %bl, %esi\nadd %esi, %edi\ndec %ecx\njnz 1b\nhlt"],
  ["shifts and imul", "mov $12345, %eax\nmov $200, %ecx\n1: shl $3, %eax\nsetc %bl\nshr $1, %eax\nsar $2, %eax\nimul $7, %eax, %edx\nimul %edx, %eax\nseto %bh\ndec %ecx\njnz 1b\nhlt"],
  ["rotates keep SF ZF PF AF", "mov $0x80000001, %eax\nmov $300, %ecx\n1: cmp $5, %ecx\nroll $1, %eax\nsetz %bl\nsetp %bh\nrorl $7, %eax\nseto %dl\nadc %edx, %esi\nroll $5, %edi\nlea 1(%esi,%edx), %esi\ndec %ecx\njnz 1b\nhlt"],
  // POP r/m32 into memory is compiled unless ESP forms the address (the interpreter forms it after the pop)
  ["POP r/m32 into memory: by a register's address, into its own stack slot, indexed, and by ESP", `mov $${DATA}, %ebx\nmov $300, %ecx\n1: push %ecx\npopl (%ebx)\nadd (%ebx), %esi\nmov %esp, %eax\npush %edi\npopl -4(%eax)\nadd -4(%eax), %esi\npush %esi\npush %ecx\npopl 4(%esp)\npop %edx\nadd %edx, %edi\nmov %ecx, %edx\nand $15, %edx\npush %esi\npopl 16(%ebx,%edx,4)\nadd 16(%ebx,%edx,4), %edi\ndec %ecx\njnz 1b\nhlt`],
  ["code that rewrites its own block", "mov $301, %ecx\n1: xorb $0x08, 2f\n2: dec %eax\nadd $3, %ebx\ndec %ecx\njnz 1b\nhlt"],
  ["push, pop, call, ret", "mov $300, %ecx\n1: push %ecx\ncall 2f\npop %edx\nadd %edx, %esi\ndec %ecx\njnz 1b\nhlt\n2: mov 4(%esp), %eax\nadd %eax, %edi\nret"],
  ["neg, not, test, cdq, lea", "mov $77, %eax\nmov $300, %ecx\n1: neg %eax\nsbb %edx, %edx\nnot %ebx\ntest $0x10, %eax\nsetz %dl\ncdq\nlea 3(%eax,%ecx,4), %esi\ndec %ecx\njnz 1b\nhlt"],
  ["loop and jecxz leave the flags alone", "mov $400, %ecx\n1: add %ecx, %eax\nloop 1b\nmov $200, %ecx\n2: jecxz 3f\nadd $-1, %ebx\ndec %ecx\njmp 2b\n3: hlt"],
  ["byte stores and movsx", `mov $${DATA}, %edi\nmov $200, %ecx\n1: mov %cl, %al\nmov %al, (%edi,%ecx,1)\nmovsbl (%edi,%ecx,1), %edx\nmovb $0x55, 1(%edi)\ncmpb $0x80, %al\nadc $0, %ebx\ndec %ecx\njnz 1b\nhlt`],
  ["indirect CALL and JMP, PUSH m32, LEAVE", `mov $300, %ecx\nmovl $3f, ${DATA + 8}\n1: push %ebp\nmov %esp, %ebp\npushl ${DATA}\nlea 2f, %eax\ncall *%eax\ncall *${DATA + 8}\npopl ${DATA + 12}\nmov %ecx, %edx\nand $1, %edx\njmp *4f(,%edx,4)\n5: leave\ndec %ecx\njnz 1b\nhlt\n2: add %ecx, ${DATA}\nret\n3: addl $3, ${DATA + 4}\nret\n6: incl ${DATA + 16}\njmp 5b\n7: decw ${DATA + 20}\njmp 5b\n.align 4\n4: .long 6b, 7b`],
  ["shifts and rotates by CL, of 8 and 16 bits, RCL and RCR", `mov $0x12345678, %eax\nmov $0x9abc, %ebx\nmov $300, %edi\n1: mov %edi, %ecx\nshl %cl, %eax\nsetc %dh\nsar %cl, %ebx\nrol %cl, %bx\nrcr $3, %ax\nshrb %cl, ${DATA}\nrclw %cl, ${DATA + 2}\nsalb $2, %bl\nsarb $1, %dl\nrorl %cl, ${DATA + 4}\nrcl $1, %eax\nshr %cl, %esi\nadc %eax, %esi\nand $7, %cl\nshl %cl, %edx\nsetz %ch\nadd %ecx, %ebp\ndec %edi\njnz 1b\nhlt`],
  ["one-operand IMUL, IDIV, and 8- and 16-bit MUL and DIV", `mov $400, %ecx\nmov $0x1234567, %esi\n1: mov %esi, %eax\ncdq\nmov %ecx, %ebx\nidiv %ebx\nadd %edx, %edi\nimul %ecx\nseto %bl\nadd %eax, %esi\nmov %ecx, %eax\nmov $7, %bh\ndivb %bh\nmulb %cl\nsetc %dl\nmovw %cx, ${DATA}\norw $0x100, ${DATA}\nmov $0x3, %dx\nmov %si, %ax\ndivw ${DATA}\nimulw %dx\nmov %cx, %ax\nneg %ax\nidivb %bh\nimulb %bh\nadd %eax, %ebp\nneg %esi\ndec %ecx\njnz 1b\nhlt`],
  ["16-bit ALU, MOV, INC, NEG, MOVZX and MOVSX of 16-bit registers, CWDE", `mov $300, %ecx\nmov $0x7ff0, %eax\n1: add $0x123, %ax\nadc %cx, %bx\nsbbw $5, ${DATA}\nincw ${DATA + 2}\ndec %dx\nnegw %bx\nnot %si\ncmp $0x8000, %ax\nsetl %dl\nmovzwl %ax, %edi\nmovswl %bx, %ebp\nadd %edi, %ebp\nmov %bp, ${DATA + 6}\nmovw $0x1234, ${DATA + 8}\nxorw ${DATA + 8}, %si\ntest $0x8000, %ax\nsets %dh\ncwtl\nsub %eax, %ebp\ninc %ax\ndec %ecx\njnz 1b\nhlt`],
  ["MOVS, STOS, LODS without REP, both directions, and REP MOVS ending a block", `mov $200, %ecx\n1: mov $${DATA}, %esi\nmov $${DATA + 64}, %edi\nmov %ecx, %eax\nstosl\nstosb\nmovsl\nmovsb\nlodsw\nstd\nmovsb\nstosw\nlodsl\ncld\nadd %eax, %ebx\npush %ecx\nmov $${DATA}, %esi\nmov $${DATA + 128}, %edi\nmov $5, %ecx\nrep movsl\npop %ecx\ndec %ecx\njnz 1b\nhlt`],
  ["BT, BTS, BTR, BTC of registers and memory, immediate and register offsets (negative too), SHLD and SHRD", `mov $300, %ecx\nmov $0x12345678, %eax\n1: bt %ecx, %eax\nadc $0, %esi\nbts $5, %ebx\nbtr %ecx, %ebx\nsetc %dl\nbtc $31, %edx\nbtsl %ecx, ${DATA}\nbtl $9, ${DATA + 4}\nadc %ecx, %ebp\nbtrl %ecx, ${DATA + 40}\nmov %ecx, %edi\nneg %edi\nbtcl %edi, ${DATA + 200}\nsetc %dh\nshld $7, %eax, %ebx\nshrd %cl, %ebx, %eax\nshldl %cl, %esi, ${DATA + 80}\nshrdl $3, %eax, ${DATA + 84}\nseto %dl\nadc %edx, %ebp\ndec %ecx\njnz 1b\nhlt`],
  ["CLD and STD keep lazy arithmetic flags, and PUSHF sees DF", `mov $300, %ecx\n1: add %ecx, %eax\nstd\nadc $0, %ebx\npushf\npop %edx\ncld\nsbb %edx, %esi\ncmp $150, %ecx\nstd\nsetb %dl\ncld\nadd %edx, %ebp\ndec %ecx\njnz 1b\nhlt`],
  // the harness's GDT: 0x10 the ring-0 data segment, 0x23 ring 3's (loadable at CPL 0), both flat
  ["PUSHA, POPA, PUSH and POP of segment registers, MOV to them (flat, DPL 3, null FS)", `mov $300, %ecx\nmovl $0x23, ${DATA + 16}\n1: pushal\npush %ds\npush %es\npush %fs\npush %gs\nmov $0x10, %eax\nmov %eax, %ds\nmov %eax, %es\nmov ${DATA + 16}, %gs\nxor %ebx, %ebx\nmov %ebx, %fs\npush %cs\npop %ebx\npush %ss\npop %edx\nadd %ebx, %edx\nmov %gs, %ebx\nadd %ebx, %edx\nmov %edx, ${DATA + 20}\npop %gs\npop %fs\npop %es\npop %ds\naddl %ecx, 28(%esp)\npopal\nadd %eax, %esi\ndec %ecx\njnz 1b\nhlt`],
];

describe.each([["paging off", () => {}], ["paging on", withPaging]])("compiled blocks behave exactly like the interpreter, %s", (_, setup) => {
  it.each(LOOPS)("%s", (_, source) => expectAgreement(runBoth(source, setup), L.EXIT_HLT));
});

// A divide error raised by a form the block leaves to the core's function (jitMulDiv), or by one
// it leaves the block before (32-bit IDIV), ends the block where the interpreter would have raised it: same EIP, registers, flags and retired count.
describe("a divide error inside a compiled block", () => {
  it.each([["IDIV", "idiv %ebx"], ["DIV of 8 bits", "divb %bl"]])("%s", (_, divide) => {
    const source = `mov $300, %ecx\n1: mov $1000, %eax\ncdq\nlea -1(%ecx), %ebx\n${divide}\nadd %eax, %esi\ndec %ecx\njnz 1b\nhlt`;
    expectAgreement(runBoth(source, (cpu) => cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1)), L.EXIT_EXCEPTION);
  });
  it("IDIV of -2^31 by -1", () => {
    // at ECX 5 the dividend is -2^31 and the divisor -1: the quotient does not fit
    const source = `mov $300, %ecx\n1: mov %ecx, %eax\nmov $7, %ebx\ncmp $5, %ecx\njne 2f\nmov $0x80000000, %eax\nmov $-1, %ebx\n2: cdq\nidiv %ebx\nadd %eax, %esi\ndec %ecx\njnz 1b\nhlt`;
    expectAgreement(runBoth(source, (cpu) => cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1)), L.EXIT_EXCEPTION);
  });
});

// Segment loads a block leaves to the core (jitLoadSegment): one that makes DS unusable ends the
// block (compiled code needs DS flat), and one that faults raises its #GP where the interpreter does.
describe("segment-register loads the core performs for a block", () => {
  it("a null DS ends the block, and the interpreter goes on until DS is flat again", () => {
    const source = `mov $300, %ecx\n1: xor %eax, %eax\nmov %eax, %ds\nadd %ecx, %esi\nmov $0x10, %eax\nmov %eax, %ds\nadd %esi, %edi\ndec %ecx\njnz 1b\nhlt`;
    expectAgreement(runBoth(source), L.EXIT_HLT);
  });

  it.each([["MOV", "mov %eax, %es"], ["POP", "push %eax\npop %es"]])("%s of a selector past the GDT raises #GP inside the block", (_, load) => {
    // at ECX 5 the selector is 0x28, just past the harness's five descriptors
    const source = `mov $300, %ecx\n1: mov $0x10, %eax\ncmp $5, %ecx\njne 2f\nmov $0x28, %eax\n2: ${load}\nadd %ecx, %esi\ndec %ecx\njnz 1b\nhlt`;
    const setup = (cpu: TestCpu) => cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13);
    const both = runBoth(source, setup);
    expectAgreement(both, L.EXIT_EXCEPTION);
    expect(both.compiled.cpu.vmcs(L.X_INTR_ERROR)).toBe(0x28);
  });
});

// At CPL 0 a load of a flat, accessed, writable data segment from the GDT into a flat register is
// made inline (translate.ts flatSegmentLoad); every other load goes to the core. Each case loads
// one selector into ES (MOV from a register, then 0x10 again: compiled code needs ES flat), FS
// (POP) and GS (MOV from memory) every round, the kernel's 0x10 in between, and both runs must end
// with the same segment registers, hidden parts included, and the same GDT (accessed bits).
describe("segment loads at CPL 0, inline where flat, else by the core", () => {
  const GDT: [number, number][] = [
    [0, 0], descriptor(0, 0xfffff, 0x9a, 0xc), descriptor(0, 0xfffff, 0x92, 0xc), descriptor(0, 0xfffff, 0xfa, 0xc), descriptor(0, 0xfffff, 0xf2, 0xc),
    descriptor(0, 0xfffff, 0x93, 0xc), // 0x28 flat, DPL 0, accessed
    descriptor(0, 0xfffff, 0xf3, 0xc), // 0x30 flat, DPL 3, accessed
    descriptor(0, 0xfffff, 0x92, 0xc), // 0x38 flat, not accessed: the core sets the bit
    descriptor(0x10000, 0xfffff, 0x93, 0xc), // 0x40 base 0x10000
    descriptor(0, 0xfffff, 0x97, 0xc), // 0x48 expand-down
    descriptor(0, 0xfffff, 0x91, 0xc), // 0x50 read-only
    descriptor(0, 0xffffe, 0x93, 0xc), // 0x58 limit a page short of 4 GiB
    descriptor(0, 0xfffff, 0x9b, 0xc), // 0x60 readable code
    descriptor(0, 0xfffff, 0x93, 0x8), // 0x68 flat with B clear
    descriptor(0, 0xfffff, 0x13, 0xc), // 0x70 not present
  ];
  const gdtSetup = (cpu: TestCpu) => cpu.writeGdt(GDT_BASE, GDT);
  const source = (selector: number) => `mov $300, %ecx
1: mov $0x10, %eax
mov %eax, %es
mov %eax, %fs
mov %eax, %gs
mov $${selector}, %eax
mov %eax, %es
push %eax
pop %fs
movw %ax, ${DATA}
mov ${DATA}, %gs
mov $0x10, %ebx
mov %ebx, %es
add %ecx, %esi
dec %ecx
jnz 1b
hlt`;
  const CASES: [string, number][] = [
    ["flat, DPL 0", 0x28], ["flat, DPL 3, RPL 3", 0x33], ["flat, DPL 3, RPL 0", 0x30], ["flat, DPL 3, RPL 1", 0x31],
    ["flat, not accessed until the first load", 0x38], ["base 0x10000", 0x40], ["expand-down", 0x48], ["read-only", 0x50],
    ["limit below 4 GiB", 0x58], ["readable code", 0x60], ["flat with B clear", 0x68], ["null", 0],
  ];
  describe.each([["paging off", gdtSetup], ["paging on", (cpu: TestCpu) => { gdtSetup(cpu); withPaging(cpu); }]])("%s", (_, setup) => {
    it.each(CASES)("%s", (_, selector) => {
      const both = runBoth(source(selector), setup);
      expectAgreement(both, L.EXIT_HLT);
      for (const s of [L.SR_ES, L.SR_DS, L.SR_FS, L.SR_GS]) expect(both.compiled.cpu.segment(s)).toEqual(both.interpreted.cpu.segment(s));
      expect(both.compiled.cpu.segment(L.SR_FS).selector).toBe(selector);
      const gdt = (cpu: TestCpu) => GDT.map((_, i) => cpu.read32(GDT_BASE + i * 8 + 4));
      expect(gdt(both.compiled.cpu)).toEqual(gdt(both.interpreted.cpu));
    });

    // [case, selector, load, vector, error code]: the fault raised inside the block, as the interpreter raises it
    it.each([
      ["RPL above the DPL", 0x2b, "mov %eax, %fs", 13, 0x28], ["past the GDT", 0x78, "mov %eax, %fs", 13, 0x78],
      ["an LDT selector with no LDT", 0x2c, "mov %eax, %fs", 13, 0x2c], ["a segment not present", 0x70, "push %eax\npop %gs", 11, 0x70],
    ])("%s: the fault where the interpreter raises it", (_, selector, load, vector, error) => {
      const source = `mov $300, %ecx\n1: mov $0x28, %eax\ncmp $5, %ecx\njne 2f\nmov $${selector}, %eax\n2: ${load}\nadd %ecx, %esi\ndec %ecx\njnz 1b\nhlt`;
      const both = runBoth(source, (cpu) => { setup(cpu); cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << vector); });
      expectAgreement(both, L.EXIT_EXCEPTION);
      expect(both.compiled.cpu.vmcs(L.X_INTR_ERROR)).toBe(error);
    });
  });
});

// INT n and IRET end their block in the core (jitSoftwareInterrupt, jitInterruptReturn) and
// compiled code goes on from the handler and from the interrupted code: a system call's round trip,
// at the same privilege level and from ring 3 through the TSS's ring-0 stack, with the handler
// saving and loading segment registers as a kernel's entry code does.
describe("INT n and IRET in compiled code", () => {
  // vectors 0x80 (an interrupt gate) and 0x81 (a trap gate) to the handler; 0x82 to a HLT, which ends the test at ring 0
  const HANDLER = CODE_BASE + 0x400, STOP = CODE_BASE + 0x500, IDT = 0x1000, TSS = 0x3000, KERNEL_STACK = 0x70000;
  // pusha (32 bytes) and DS (4) lie above the frame: EIP at 36(%esp), CS 40, EFLAGS 44
  const source = `mov $300, %ecx\n1: mov %ecx, %eax\nint $0x80\nadd %eax, %esi\nadc $0, %edi\njmp 2f\n2: int $0x81\ndec %ecx\njnz 1b\nint $0x82\n.org 0x400\npushal\npush %ds\nmov $0x10, %ebx\nmov %ebx, %ds\nincl ${DATA}\naddl $3, 32(%esp)\nxorl $1, 44(%esp)\nmov %cs, %ebx\nmov %ebx, ${DATA + 4}\npop %ds\npopal\niret\n.org 0x500\nhlt`;
  function idt(cpu: TestCpu, dpl: number): void {
    for (const [vector, to, type] of [[0x80, HANDLER, 0xe], [0x81, HANDLER, 0xf], [0x82, STOP, 0xe]]) {
      const [lo, hi] = gate(0x08, to, type, dpl);
      cpu.write32(IDT + vector * 8, lo);
      cpu.write32(IDT + vector * 8 + 4, hi);
    }
    cpu.setVmcs(L.G_IDTR_BASE, IDT);
    cpu.setVmcs(L.G_IDTR_LIMIT, 0x7ff);
  }
  const ring3 = (cpu: TestCpu) => {
    idt(cpu, 3);
    cpu.write32(TSS + 4, KERNEL_STACK); // ESP0
    cpu.write32(TSS + 8, 0x10); // SS0
    cpu.setSegment(L.SR_TR, 0x28, TSS, 0x67, 0x8b);
    cpu.setSegment(L.SR_CS, 0x1b, 0, 0xffffffff, AR_CODE3);
    for (const s of [L.SR_DS, L.SR_ES, L.SR_SS, L.SR_FS, L.SR_GS]) cpu.setSegment(s, 0x23, 0, 0xffffffff, AR_DATA3);
  };
  it.each([
    ["at ring 0, paging off", (cpu: TestCpu) => idt(cpu, 0)],
    ["at ring 0, paging on", (cpu: TestCpu) => { idt(cpu, 0); withPaging(cpu); }],
    ["from ring 3, paging off", ring3],
    ["from ring 3, paging on", (cpu: TestCpu) => { ring3(cpu); withPaging(cpu); }],
  ])("%s", (_, setup) => {
    const both = runBoth(source, (cpu) => { setup(cpu); cpu.core.countInterpretedForms(1); });
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.data.slice(0, 4)).toEqual([88, 2, 0, 0]); // 600 system calls
    // the handler's blocks were compiled, and so was the code after each IRET
    expect(both.compiled.cpu.vmcs(L.STAT_COMPILED_INSTRUCTIONS_LO)).toBeGreaterThan(0.9 * both.compiled.retired);
    // INT and IRET were interpreted only while their blocks warmed up, not at each of the 600 calls
    const forms = readInterpretedForms(both.compiled.cpu.core);
    for (const form of ["CD", "CF", "1E", "1F", "60", "61", "8E"]) expect(forms.find((f) => f.form === form)?.count ?? 0).toBeLessThan(100);
  });
});

// SYSENTER and SYSEXIT end their block in the core (jitFastSystemCall), as INT n and IRET: the
// kernel's entry and the code after the user's return point run compiled. 1000 round trips from
// ring 3; the kernel counts them and records its stack, the user side sums what it returns. Each
// is a jump target, so a block starts there (the in-block interpreter never runs a block's first).
describe("SYSENTER and SYSEXIT in compiled code", () => {
  const KERNEL = CODE_BASE + 0x400, KERNEL_STACK = 0x70000;
  const source = `mov $1000, %esi\n1: mov %esi, %eax\nmov $2f, %edx\nmov %esp, %ecx\njmp 3f\n3: sysenter\n2: add %eax, %edi\ndec %esi\njnz 1b\nhlt\n.org 0x400\nincl ${DATA}\nmov %esp, ${DATA + 4}\nlea 3(%eax,%eax), %eax\njmp 4f\n4: sysexit`;
  const ring3 = (cpu: TestCpu) => {
    cpu.setVmcs(L.G_MSR_SYSENTER_CS, 0x08);
    cpu.setVmcs(L.G_MSR_SYSENTER_ESP, KERNEL_STACK);
    cpu.setVmcs(L.G_MSR_SYSENTER_EIP, KERNEL);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13); // the final HLT at ring 3 raises #GP: an exit
    cpu.setSegment(L.SR_CS, 0x1b, 0, 0xffffffff, AR_CODE3);
    for (const s of [L.SR_DS, L.SR_ES, L.SR_SS, L.SR_FS, L.SR_GS]) cpu.setSegment(s, 0x23, 0, 0xffffffff, AR_DATA3);
    cpu.core.countInterpretedForms(1);
  };
  it.each([
    ["paging off", ring3],
    ["paging on", (cpu: TestCpu) => { ring3(cpu); withPaging(cpu); }],
  ])("%s", (_, setup) => {
    const both = runBoth(source, setup);
    expectAgreement(both, L.EXIT_EXCEPTION);
    expect(both.compiled.data.slice(0, 8)).toEqual([0xe8, 3, 0, 0, 0x00, 0x00, 0x07, 0x00]); // 1000 calls, ESP 0x70000
    expect(both.compiled.regs[7]).toBe(1000 * 1001 + 3 * 1000); // EDI: the sum of 2n + 3 over n = 1..1000
    expect(both.compiled.cpu.segment(L.SR_CS).selector).toBe(0x1b);
    expect(both.compiled.cpu.vmcs(L.STAT_COMPILED_INSTRUCTIONS_LO)).toBeGreaterThan(0.9 * both.compiled.retired);
    const forms = readInterpretedForms(both.compiled.cpu.core);
    for (const form of ["0F 34", "0F 35"]) expect(forms.find((f) => f.form === form)?.count ?? 0).toBeLessThan(100);
  });
});

// A loop that is one block goes round inside it for as long as the budget allows (the core's rule
// at block entry): a budget running out mid-loop must stop it at exactly the instruction where
// the interpreter stops, in every slice.
describe("loops inside one block stop where the budget runs out", () => {
  it.each([
    [97, "jnz"], [1000, "jnz"], [4093, "jnz"], [97, "loop"], [1000, "loop"],
  ])("slices of %i instructions, %s", (slice, branch) => {
    const tail = branch === "loop" ? "loop 1b" : "dec %ecx\njnz 1b";
    const source = `mov $3000, %ecx\n1: add %ecx, %eax\nrol $3, %eax\nxor %eax, %ebx\n${tail}\nhlt`;
    const compiled = expectSameSlices(source, slice);
    expect(compiled.compiler!.compiled).toBeGreaterThan(0);
  });
});

// A paged access in a loop remembers the page it translated last (src/jit/translate.ts physical):
// with pages mapped out of order, an access that moves to the next page or straddles two must
// not use the last page's frame for it.
describe("paged accesses that remember their page", () => {
  const REGION = 0x20000, PAGES = 16;
  function swappedPages(cpu: TestCpu): void {
    const PD = 0x200000, PT = 0x201000;
    cpu.write32(PD, PT | 3);
    for (let i = 0; i < 1024; i++) {
      const inRegion = i >= REGION >> 12 && i < (REGION >> 12) + PAGES;
      cpu.write32(PT + i * 4, ((inRegion ? i ^ 1 : i) << 12) | 3); // neighbours swapped
    }
    cpu.setVmcs(L.G_CR3, PD);
    cpu.setVmcs(L.G_CR0, 0x80000011);
  }
  it.each([
    ["aligned reads and writes moving from page to page", `mov $${REGION}, %ebx\nxor %esi, %esi\nmov $30000, %ecx\n1: mov (%ebx,%esi), %eax\nadd %eax, %edx\nrol $5, %edx\nmov %edx, 4(%ebx,%esi)\nadd $4, %esi\nand $0xeffc, %esi\ndec %ecx\njnz 1b\nhlt`],
    ["unaligned reads and writes, some straddling two pages", `mov $${REGION}, %ebx\nxor %esi, %esi\nmov $30000, %ecx\n1: mov (%ebx,%esi), %eax\nadd %eax, %edx\nrol $5, %edx\nmov %edx, 2(%ebx,%esi)\nadd $7, %esi\nand $0xefff, %esi\ndec %ecx\njnz 1b\nhlt`],
    ["byte and dword accesses to the last bytes of each page", `mov $${REGION + 0xffc}, %ebx\nmov $6000, %ecx\n1: movb (%ebx), %al\nadd %eax, %edx\nmov %edx, 1(%ebx)\nadd $0x1000, %ebx\nand $0x2ffff, %ebx\nor $0xffc, %ebx\ndec %ecx\njnz 1b\nhlt`],
  ])("%s", (_, source) => {
    const results = [false, true].map((jit) => {
      const cpu = new TestCpu(4 << 20, { jit });
      swappedPages(cpu);
      for (let i = 0; i < PAGES * 0x1000; i += 4) cpu.write32(REGION + i, Math.imul(i, 0x9e3779b1));
      expect(cpu.exec(source, 5_000_000)).toBe(L.EXIT_HLT);
      return { regs: ["eax", "edx", "ebx", "esi"].map((r) => cpu.reg(r as "eax")), eflags: cpu.eflags, retired: cpu.core.instructionsRetired(), region: cpu.ram.slice(REGION, REGION + PAGES * 0x1000), compiled: cpu.compiler?.compiled ?? 0 };
    });
    expect(results[1].compiled).toBeGreaterThan(0);
    expect(results[1].regs).toEqual(results[0].regs);
    expect(results[1].eflags).toBe(results[0].eflags);
    expect(results[1].retired).toBe(results[0].retired);
    expect(results[1].region).toEqual(results[0].region);
  });

  // A region with more checks than slots (jit-abi.ts REMEMBERED_PAGE_SLOTS: 256): 12 blocks of
  // 23 loads each through EBX, moved after each, 276 checks; those past the slots look the TLB up.
  it("more checks in a region than slots to remember pages in", () => {
    const block = (k: number) => `${k}0:\n${"add (%ebx), %eax\nadd $4, %ebx\n".repeat(23)}jmp ${k + 1}0f`;
    const blocks = Array.from({ length: 12 }, (_, k) => block(k + 1)).join("\n");
    const source = `mov $300, %ecx\nxor %eax, %eax\n1: mov $${REGION + 0xe00}, %ebx\njmp 10f\n${blocks}\n130: dec %ecx\njnz 1b\nhlt`;
    const results = [false, true].map((jit) => {
      const cpu = new TestCpu(4 << 20, { jit });
      swappedPages(cpu);
      for (let i = 0; i < PAGES * 0x1000; i += 4) cpu.write32(REGION + i, Math.imul(i, 0x9e3779b1));
      expect(cpu.exec(source, 5_000_000)).toBe(L.EXIT_HLT);
      // the code-page masks follow the slots (block-cache.ts allocateBlockCache): a check past the
      // last slot that took one anyway would write into them, unmarking compiled code
      const masks = new BigUint64Array(cpu.core.memory.buffer, cpu.core.codePageMasks(), 0x200); // pages below the page tables
      const marked = [...masks.keys()].filter((page) => masks[page] !== 0n);
      return { eax: cpu.reg("eax"), retired: cpu.core.instructionsRetired(), compiler: cpu.compiler, marked };
    });
    expect(results[1].marked).toEqual([CODE_BASE >>> 12]); // the region's page, and nothing the slots spilled into
    expect(results[1].eax).toBe(results[0].eax);
    expect(results[1].retired).toBe(results[0].retired);
    expect(results[1].compiler!.compiled).toBe(1); // one region holds the 12 blocks (and the loop's head and tail)
    expect(results[1].compiler!.regionBlocks).toBeGreaterThanOrEqual(12);
  });

  // The pages are remembered in slots every region shares (jit-abi.ts REMEMBERED_PAGES_OFFSET),
  // forgotten as a region is entered: F reads D, which the loop remaps halfway (a page-table write,
  // INVLPG) between two calls; F's next entry must look D up again, not read its old frame. (F
  // reads the stack first: D's check takes F's second slot, which the loop's region, with one
  // check, leaves alone between F's entries.)
  it("a page remapped between two entries of the region: the new frame is read", () => {
    const F = 0x40000, D = 0x50000, D_REMAPPED = 0x51000, PT = 0x201000;
    const source = `mov $3000, %ecx\nxor %ebx, %ebx\n1: call ${F}\ncmp $1500, %ecx\njne 2f
movl $${D_REMAPPED | 7}, ${PT + (D >>> 12) * 4}\ninvlpg ${D}\n2: dec %ecx\njnz 1b\nhlt`;
    const both = runBoth(source, (cpu) => {
      withPaging(cpu);
      cpu.load(F, assemble(`mov (%esp), %edx\nmov ${D}, %eax\nadd %eax, %ebx\nret`, F));
      cpu.write32(D, 5);
      cpu.write32(D_REMAPPED, 7);
    });
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.regs[3]).toBe(1501 * 5 + 1499 * 7); // EBX
  });
});

// Accesses through the same registers share one check (src/jit/access-checks.ts): the leader
// checks the range of all of them, for writing if one writes, and a register written in between
// ends the sharing. Pages are mapped out of order, so a follower using a stale page's frame would
// store into the wrong page; the page table is compared too, for the accessed and dirty bits.
describe("accesses that share one check", () => {
  const REGION = 0x20000, PAGES = 16, PD = 0x200000, PT = 0x201000;
  function mapRegion(cpu: TestCpu, cr0: number, pte: (page: number) => number): void {
    cpu.write32(PD, PT | 3);
    for (let i = 0; i < 1024; i++) {
      const inRegion = i >= REGION >> 12 && i < (REGION >> 12) + PAGES;
      cpu.write32(PT + i * 4, inRegion ? pte(i) : (i << 12) | 3);
    }
    cpu.setVmcs(L.G_CR3, PD);
    cpu.setVmcs(L.G_CR0, cr0);
  }
  const swapped = (i: number) => ((i ^ 1) << 12) | 3; // neighbours swapped; not yet accessed or dirty
  const PAGING = 0x80000011, PAGING_WP = PAGING | 0x10000;
  it.each([
    ["a base register moved to the next page between a load and a store", PAGING, swapped, `mov $${REGION}, %ebx\nxor %esi, %esi\nmov $20000, %ecx\n1: mov (%ebx,%esi), %eax\nadd $0x1000, %ebx\nadd %eax, %edx\nmov %edx, 4(%ebx,%esi)\nsub $0x1000, %ebx\nadd $8, %esi\nand $0xdff8, %esi\ndec %ecx\njnz 1b\nhlt`],
    ["a byte of the base register written between them", PAGING, swapped, `mov $${REGION}, %ebx\nxor %esi, %esi\nmov $20000, %ecx\n1: mov (%ebx,%esi), %eax\nxorb $0x10, %bh\nadd %eax, %edx\nmov %edx, 4(%ebx,%esi)\nadd $8, %esi\nand $0xdff8, %esi\ndec %ecx\njnz 1b\nhlt`],
    ["a shared range that straddles two pages where neither access does", PAGING, swapped, `mov $${REGION}, %ebx\nxor %esi, %esi\nmov $20000, %ecx\n1: mov (%ebx,%esi), %eax\nrol $3, %eax\nmov %eax, 8(%ebx,%esi)\nadd $12, %esi\nand $0xeffc, %esi\ndec %ecx\njnz 1b\nhlt`],
    // the index wraps within a page: the leader's own page, used while the range straddled two,
    // must not be taken for the range's page once the range is back in it
    ["a shared range back in its page after straddling two", PAGING, swapped, `mov $${REGION + 0xf00}, %ebx\nxor %esi, %esi\nmov $20000, %ecx\n1: mov 40(%ebx,%esi), %eax\nadd %eax, %edx\nmov %edx, (%ebx,%esi)\nadd $4, %esi\nand $0xfc, %esi\ndec %ecx\njnz 1b\nhlt`],
    // going down, the store below the load reaches the read-only page while the load is still above it
    ["a load leading a store below it to a read-only page (CR0.WP): #PF at the store", PAGING_WP, (i: number) => (i === (REGION >> 12) + 3 ? swapped(i) & ~2 : swapped(i)), `mov $${REGION + 0x6000}, %ebx\nmov $20000, %ecx\n1: mov 8(%ebx), %eax\nadd %ecx, %eax\nmov %eax, -4(%ebx)\nsub $12, %ebx\ndec %ecx\njnz 1b\nhlt`],
    ["locals off %ebp around a call", PAGING, swapped, `mov $${REGION + 0x3000}, %esp\nmov $${REGION + 0x1f00}, %ebp\nmov $3000, %ecx\n1: mov -8(%ebp), %eax\nadd 8(%ebp), %eax\nmov %eax, -4(%ebp)\ncall 2f\nmovb %al, 12(%ebp)\nadd $0x20, %ebp\nand $${REGION + 0x3fe0}, %ebp\ndec %ecx\njnz 1b\nhlt\n2: addl $3, -4(%ebp)\nret`],
  ])("%s", (name, cr0, pte, source) => {
    const results = [false, true].map((jit) => {
      const cpu = new TestCpu(4 << 20, { jit });
      mapRegion(cpu, cr0, pte);
      cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 14); // #PF exits
      for (let i = 0; i < PAGES * 0x1000; i += 4) cpu.write32(REGION + i, Math.imul(i, 0x9e3779b1));
      const reason = cpu.exec(source, 5_000_000);
      return {
        reason, eip: cpu.eip, cr2: cpu.vmcs(L.G_CR2), regs: ["eax", "ecx", "edx", "ebx", "esi", "ebp", "esp"].map((r) => cpu.reg(r as "eax")),
        eflags: cpu.eflags, retired: cpu.core.instructionsRetired(), region: cpu.ram.slice(REGION, REGION + PAGES * 0x1000),
        pageTable: cpu.ram.slice(PT, PT + 0x1000), compiled: cpu.compiler?.compiled ?? 0,
      };
    });
    expect(results[0].reason).toBe(name.includes("#PF") ? L.EXIT_EXCEPTION : L.EXIT_HLT);
    expect(results[1].compiled).toBeGreaterThan(0);
    expect({ ...results[1], compiled: 0 }).toEqual({ ...results[0], compiled: 0 });
  });

  // A block that calls the core (CPUID here, whose exit the handler completes) has no page
  // cache: its shared checks look the range up in the TLB each time, and fall back the same way.
  it("in a block that calls the core, a shared range straddling two remapped pages", () => {
    const results = [false, true].map((jit) => {
      const cpu: TestCpu = new TestCpu(4 << 20, {
        jit,
        exitHandler: (reason) => {
          if (reason !== L.EXIT_CPUID) return false;
          cpu.eip = cpu.eip + cpu.vmcs(L.X_INSTRUCTION_LENGTH);
          return true;
        },
      });
      mapRegion(cpu, PAGING, swapped);
      for (let i = 0; i < PAGES * 0x1000; i += 4) cpu.write32(REGION + i, Math.imul(i, 0x9e3779b1));
      const reason = cpu.exec(`mov $${REGION}, %ebx\nxor %esi, %esi\nmov $6000, %edi\n1: mov (%ebx,%esi), %eax\nxor %eax, %eax\ncpuid\nadd 40(%ebx,%esi), %ebp\nmov %ebp, 4(%ebx,%esi)\nadd $4, %esi\nand $0xeffc, %esi\ndec %edi\njnz 1b\nhlt`, 5_000_000);
      return { reason, regs: ["eax", "ebx", "esi", "edi", "ebp"].map((r) => cpu.reg(r as "eax")), retired: cpu.core.instructionsRetired(), region: cpu.ram.slice(REGION, REGION + PAGES * 0x1000), compiled: cpu.compiler?.compiled ?? 0 };
    });
    expect(results[0].reason).toBe(L.EXIT_HLT);
    expect(results[1].compiled).toBeGreaterThan(0);
    expect({ ...results[1], compiled: 0 }).toEqual({ ...results[0], compiled: 0 });
  });

  it("paging off: a store that runs into the write-trapped VGA hole exits there", () => {
    const results = [false, true].map((jit) => {
      const cpu = new TestCpu(1 << 20, { jit });
      cpu.setVmcs(L.C_WRITE_TRAP_BASE, 0xa0000);
      cpu.setVmcs(L.C_WRITE_TRAP_SIZE, 0x20000);
      const reason = cpu.exec("mov $0x9fc00, %ebx\nmov $2000, %ecx\n1: mov (%ebx), %eax\nmov %eax, 2(%ebx)\nadd $2, %ebx\ndec %ecx\njnz 1b\nhlt", 1_000_000);
      return { reason, eip: cpu.eip, ebx: cpu.reg("ebx"), guestPhysical: cpu.vmcs(L.X_GUEST_PHYSICAL), retired: cpu.core.instructionsRetired(), compiled: cpu.compiler?.compiled ?? 0 };
    });
    expect(results[0].reason).toBe(L.EXIT_WRITE_TRAP);
    expect(results[1].compiled).toBeGreaterThan(0);
    expect({ ...results[1], compiled: 0 }).toEqual({ ...results[0], compiled: 0 });
  });

  it("paging off: loads and stores that reach past the end of RAM leave there, as the interpreter makes them", () => {
    // the last 64 bytes of the 1 MiB and the 60 after them, the pointer going round them
    const results = [false, true].map((jit) => {
      const cpu = new TestCpu(1 << 20, { jit });
      const reason = cpu.exec(`mov $2000, %ecx\n1: mov %ecx, %esi\nand $31, %esi\nmov ${(1 << 20) - 64}(,%esi,4), %eax\nadd %eax, %ebx
mov %ecx, ${(1 << 20) - 64}(,%esi,4)\ndec %ecx\njnz 1b\nhlt`, 1_000_000);
      return { reason, eip: cpu.eip, ebx: cpu.reg("ebx"), retired: cpu.core.instructionsRetired(), compiled: cpu.compiler?.compiled ?? 0 };
    });
    expect(results[1].compiled).toBeGreaterThan(0);
    expect({ ...results[1], compiled: 0 }).toEqual({ ...results[0], compiled: 0 });
  });
});

// DIV that cannot complete leaves the compiled block before it: the interpreter raises #DE there.
describe("DIV raising #DE inside a compiled loop", () => {
  it.each([
    ["a divisor that reaches 0", "mov $100, %ecx\nmov $60, %ebx\n1: mov %ecx, %eax\nxor %edx, %edx\ndiv %ebx\nadd %eax, %esi\ndec %ebx\ndec %ecx\njnz 1b\nhlt"],
    ["a quotient that overflows", "mov $100, %ecx\nmov $1, %edi\n1: mov %ecx, %eax\nxor %edx, %edx\ncmp $40, %ecx\nsete %dl\ndiv %edi\nadd %eax, %esi\ndec %ecx\njnz 1b\nhlt"],
  ])("%s", (_, source) => {
    const results = [false, true].map((jit) => {
      const cpu = new TestCpu(1 << 20, { jit });
      cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1); // #DE exits
      const reason = cpu.exec(source, 1_000_000);
      return { reason, eip: cpu.eip, regs: ["eax", "ecx", "edx", "ebx", "esi"].map((r) => cpu.reg(r as "eax")), retired: cpu.core.instructionsRetired(), interruption: cpu.vmcs(L.X_INTR_INFO), compiled: cpu.compiler?.compiled ?? 0 };
    });
    expect(results[0].reason).toBe(L.EXIT_EXCEPTION);
    expect(results[1].compiled).toBeGreaterThan(0);
    expect({ ...results[1], compiled: 0 }).toEqual({ ...results[0], compiled: 0 });
  });
});

// Regions (src/jit/region.ts): the blocks of a page the guest runs are one function, and edges
// between them stay inside it. Each of these would end differently if an edge inside went to the
// wrong block, took the wrong budget, or ran code the guest has since rewritten.
describe("regions: loops over several blocks in one function", () => {
  // a loop split by an if, calling a function in the same page (CALL and RET inside the region)
  const SPLIT_LOOP = `mov $3000, %ecx\n1: add %ecx, %eax\ntest $1, %ecx\njz 2f\nrol $3, %eax\n2: call 3f\nxor %eax, %ebx\ndec %ecx\njnz 1b\nhlt\n3: add $5, %edx\nret`;

  it("they form: the loop's blocks are compiled inside one region", () => {
    const both = runBoth(SPLIT_LOOP);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.compiler!.regionBlocks).toBeGreaterThan(2);
  });

  it.each([97, 1000, 4093])("the budget running out mid-region, slices of %i: stops where the interpreter stops", (slice) => {
    expect(expectSameSlices(SPLIT_LOOP, slice).compiler!.regionBlocks).toBeGreaterThan(0);
  });

  it.each([97, 1000, 4093])("a loop calling a function in another page (two regions), slices of %i: stops where the interpreter stops", (slice) => {
    // the CALL and the RET leave their regions
    const source = `mov $3000, %ecx\n1: add %ecx, %eax\ncall f\nxor %eax, %ebx\ndec %ecx\njnz 1b\nhlt\n.p2align 12\nf: rol $3, %eax\nadd $5, %edx\nret`;
    expect(expectSameSlices(source, slice).compiler!.compiled).toBeGreaterThan(1);
  });

  it("a RET that comes back to its call site, then elsewhere once the function changes its return address", () => {
    // g adds 3 to its return address in the second half: the RET skips `add $2, %edi` (3 bytes)
    const source = `mov $300, %ecx\n1: call 3f\nadd $1, %esi\ncall 4f\nadd $2, %edi\nadd $4, %ebp\ndec %ecx\njnz 1b\nhlt\n3: ret\n4: cmp $150, %ecx\nja 5f\naddl $3, (%esp)\n5: ret`;
    const both = runBoth(source);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.regs[7]).toBe(2 * 150); // EDI
    expect(both.compiled.regs[5]).toBe(4 * 300); // EBP
    expect(both.compiled.cpu.compiler!.regionBlocks).toBeGreaterThan(2);
  });

  it("a block of the region rewritten from outside it: the region is forgotten and the new code runs", () => {
    // the loop (1: and 2:, one region) runs 100 rounds, then code in another page patches the ADD's
    // immediate in the loop's second block, and the loop runs again
    const source = `mov $20, %edi\n0: mov $100, %ecx\n1: add %ecx, %eax\njmp 2f\n2: add $1, %ebx\ndec %ecx\njnz 1b\ncall patch\ndec %edi\njnz 0b\nhlt\n.p2align 12\npatch: incb 2b + 2\nret`;
    const both = runBoth(source);
    expectAgreement(both, L.EXIT_HLT);
    let expected = 0;
    for (let round = 0; round < 20; round++) expected += 100 * (1 + round);
    expect(both.compiled.regs[3]).toBe(expected); // EBX
    expect(both.compiled.cpu.compiler!.regionBlocks).toBeGreaterThan(0);
    expect(both.compiled.cpu.compiler!.compiled).toBeGreaterThan(3); // compiled anew after patches
  });

  it("a store from inside the region into another of its blocks: the region leaves after the store", () => {
    // the loop's second block (2:) stores DL into the immediate of its third (3:), the same value
    // at every round (which keeps the region) until ECX is 60, when DL becomes 5; a region that
    // ran on after that store would add the old 1 to EBX
    const source = `mov $200, %ecx\nmov $1, %edx\n1: cmp $60, %ecx\njne 2f\nmov $5, %edx\n2: movb %dl, 3f + 2\nadd %ecx, %eax\njmp 3f\n3: add $1, %ebx\ndec %ecx\njnz 1b\nhlt`;
    const both = runBoth(source);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.regs[3]).toBe(140 * 1 + 60 * 5); // EBX
    expect(both.compiled.cpu.compiler!.regionBlocks).toBeGreaterThan(0);
  });
});

// A region whose edges lead to another region's entry: the other region must run only while it
// is still compiled for the frame the target maps to now (what a chain between them must check).
describe("regions calling into other regions", () => {
  it("a region rewritten by the region that calls it: the new code runs", () => {
    // the loop calls f (another page, its own region) 100 times, then patches f's ADD immediate
    const source = `mov $20, %edi\n0: mov $100, %ecx\n1: call f\ndec %ecx\njnz 1b\nincb f + 2\ndec %edi\njnz 0b\nhlt\n.p2align 12\nf: add $1, %ebx\nret`;
    const both = runBoth(source);
    expectAgreement(both, L.EXIT_HLT);
    let expected = 0;
    for (let round = 0; round < 20; round++) expected += 100 * (1 + round);
    expect(both.compiled.regs[3]).toBe(expected); // EBX
    expect(both.compiled.cpu.compiler!.compiled).toBeGreaterThan(3); // f compiled anew after patches
  });

  it("a target page remapped to another frame between calls (the TLB refilled): the new frame's code runs", () => {
    // f's page (0x11000) maps to g's frame (0x12000) after odd rounds and back after even ones;
    // remap (another page) refills the TLB with a data read of f, and the loop's region, compiled
    // from remap's return address on, calls f next: f compiled for the old frame must not run
    // (50 calls a round compile f anew in each)
    const PTE_OF_F = 0x201000 + 0x11 * 4;
    const source = `mov $60, %edi\n0: mov $50, %ecx\n1: call f\ndec %ecx\njnz 1b\ncall remap\ndec %edi\njnz 0b\nhlt\n.p2align 12\nf: add $1, %ebx\nret\n` +
      `.p2align 12\ng: add $7, %ebx\nret\n.p2align 12\nremap: mov $0x11007, %eax\ntest $1, %edi\njz 2f\nmov $0x12007, %eax\n2: mov %eax, ${PTE_OF_F}\ninvlpg f\nmov f, %eax\nret`;
    const both = runBoth(source, withPaging);
    expectAgreement(both, L.EXIT_HLT);
    let expected = 0, mappedToG = false;
    for (let edi = 60; edi > 0; edi--) { expected += 50 * (mappedToG ? 7 : 1); mappedToG = (edi & 1) === 1; }
    expect(both.compiled.regs[3]).toBe(expected); // EBX
  });
});

// A compiled block holds its linear addresses (EIP, a CALL's return address, its edges). Two
// linear pages whose numbers agree in their low 12 bits share a block-cache entry, and mapped to
// the same frame they share its key (the physical address) too: code entered through the second
// mapping must not run the block compiled for the first.
describe("one frame of code mapped at two linear addresses sharing a cache entry", () => {
  const F = CODE_BASE + 0x1000, ALIAS = 0x1000000; // linear page 0x1011 maps to frame 0x11, as page 0x11 does
  function aliasedCode(cpu: TestCpu): void {
    withPaging(cpu);
    const PD = 0x200000, PT = 0x202000;
    cpu.write32(PD + ((F + ALIAS) >>> 22) * 4, PT | 7);
    cpu.write32(PT + (((F + ALIAS) >>> 12) & 0x3ff) * 4, F | 7);
  }
  it("each mapping runs with its own addresses", () => {
    // f (in a page of its own, so compiled on its own) reads its own EIP (CALL, POP) into EDI:
    // 100 times through the first mapping, then 100 through the second
    const source = `mov $100, %ecx\n0: call f\ndec %ecx\njnz 0b\nmov $100, %ecx\nmov $f + ${ALIAS}, %edx\n1: call *%edx\ndec %ecx\njnz 1b\nhlt\n.p2align 12\nf: call 2f\n2: pop %eax\nadd %eax, %edi\nret`;
    const both = runBoth(source, aliasedCode);
    expectAgreement(both, L.EXIT_HLT);
  });
});
