// Core bugs the fuzzer found (npm run fuzz), each reduced to a minimal case; the fuzzer's own
// crashing inputs are in test/fuzz/corpus/ and replayed by corpus.test.ts. Each was fixed in the
// commit named.
//  1. A compiled block that leaves at its first instruction (a memory access outside plain RAM)
//     was entered again at once by runCompiledBlocks, which refunded its budget: the core spun
//     forever inside one run() and the host hung (8765b7e).
//  2. A REP string instruction ran all its iterations as one instruction of budget: with ECX near
//     2^32 one run() took tens of seconds whatever the budget (d5f515f).
//  3. Near branches (JMP, CALL, RET, Jcc) did not check the CS limit: EIP went past it and the #GP
//     came at the next fetch, naming the target instead of the branch (d5f515f).
//  4. Read-modify-write instructions on a page the guest may read but not write updated EFLAGS
//     (and XADD its register) before the write faulted with #PF (d5f515f).
//  5. An instruction whose immediate lay beyond the CS limit executed with the bytes it could not
//     fetch as zeros before the #GP: MOV wrote its register, an ALU instruction EFLAGS (0b7892f).
//  6. Event delivery wrote part of the frame before a push failed: INT n at ESP 6 on a flat stack
//     stored EFLAGS at 2-5, then raised #SS for CS (SDM, INT n: "IF stack does not have room for
//     12 bytes THEN #SS", before anything is pushed) (0b7892f).
//  7. A far CALL to an offset beyond the new code segment's limit pushed CS:EIP before it raised
//     #GP (0b7892f).
//  8. ENTER with a nesting level pushed EBP and moved ESP before it read the enclosing frame
//     pointers, and kept both when that read faulted (9d26e53).
//  9. PUSHA pushed register by register: when a push part way faulted (#PF on the page below),
//     ESP and the words already written stayed changed (9d26e53).
// 10. SGDT/SIDT whose 6-byte operand crossed the segment limit stored the limit word, then raised #GP
//     for the base (9d26e53).
// In each, a faulting instruction must leave the state as it was (SDM 6.5: faults restart).
// One finding was the fuzzer's own: its exit check took CS.RPL for the CPL right after a MOV to CR0
// set PE, where CS still holds what real mode loaded (corpus/protected-mode-entered-with-a-real-
// mode-cs: selector 0x82) and the CPL is 0 until a far transfer (src/fuzz/exit-checks.ts).
import { describe, it, expect } from "vitest";
import * as L from "../../assembly/vmcs-layout";
import { TestCpu, CODE_BASE, STACK_TOP, AR_CODE0, AR_DATA0, descriptor, gate, assemble } from "../core/harness";
import { flatCase, replayCase } from "./replay";
import { checkGuestState } from "../../src/fuzz/exit-checks";
import type { BareCore } from "../../src/fuzz/core-module";

const EBX = 3;
const SS = 12, GP = 13, PF = 14;

describe("fuzz findings", () => {
  it("a hot block whose first access is outside RAM does not hang the core (compiling tier)", () => {
    const loop = "mov $100, %ecx\n1: mov (%ebx), %eax\ndec %ecx\njnz 1b\nhlt";
    const result = replayCase(flatCase(loop, { [EBX]: 0x200000 }), 5);
    expect(result.output).toMatch(/^ok /);
  });

  it("a REP string instruction stops within its budget and can be resumed", () => {
    const cpu = new TestCpu();
    cpu.setReg("edi", 0x200000); // beyond RAM: reads all ones, never the 0x1f searched for
    const reason = cpu.exec("mov $0x1000000, %ecx\nmov $0x1f, %al\nrepne scasb\nhlt", 1000);
    expect(reason).toBe(L.EXIT_PREEMPTION_TIMER);
    expect(cpu.eip, "EIP at the REP instruction").toBe(CODE_BASE + 7);
    expect(cpu.reg("ecx"), "iterations bounded by the budget").toBeGreaterThan(0x1000000 - 0x100000);
  });

  describe("near branches check the CS limit before they change EIP", () => {
    const LIMIT = CODE_BASE + 0xff;
    it.each([
      ["jmp *%eax", "mov $0x11000, %eax\njmp *%eax", 5],
      ["jmp rel32", "jmp 0x11000", 0],
      ["call *%eax", "mov $0x11000, %eax\ncall *%eax", 5],
      ["ret", "push $0x11000\nret", 5],
      ["jz rel32", "xor %eax, %eax\njz 0x11000", 2],
    ])("%s", (_, source, at) => {
      const cpu = new TestCpu();
      cpu.setSegment(L.SR_CS, 0x08, 0, LIMIT, AR_CODE0);
      cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << GP);
      expect(cpu.exec(source)).toBe(L.EXIT_EXCEPTION);
      expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(GP);
      expect(cpu.eip.toString(16), "EIP at the branch").toBe((CODE_BASE + at).toString(16));
    });
  });

  describe("a read-modify-write whose write faults changes nothing", () => {
    const DATA = 0x40000;
    const setup = (cpu: TestCpu): void => {
      const PD = 0xc0000, PT = 0xc1000;
      cpu.write32(PD, PT | 3);
      for (let i = 0; i < 1024; i++) cpu.write32(PT + i * 4, (i << 12) | (i << 12 === DATA ? 1 : 3));
      cpu.setVmcs(L.G_CR3, PD);
      cpu.setVmcs(L.G_CR0, 0x80010011); // PG WP ET PE: supervisor writes obey R/W
      cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << PF);
      cpu.write32(DATA, 0x80000001);
      cpu.setReg("ecx", DATA);
      cpu.setReg("eax", 0x12345678);
    };
    it.each(["shll (%ecx)", "addl %eax, (%ecx)", "incl (%ecx)", "negl (%ecx)", "rcll $3, (%ecx)", "btsl $4, (%ecx)", "xaddl %eax, (%ecx)"])("%s", (asm) => {
      const cpu = new TestCpu();
      setup(cpu);
      cpu.eflags = 0x2 | 0x40 | 0x4; // ZF PF
      expect(cpu.exec(`${asm}\nhlt`)).toBe(L.EXIT_EXCEPTION);
      expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(PF);
      expect(cpu.eip).toBe(CODE_BASE);
      expect(cpu.eflags.toString(16), "EFLAGS").toBe("46");
      expect(cpu.reg("eax").toString(16), "EAX").toBe("12345678");
      expect(cpu.read32(DATA).toString(16), "memory").toBe("80000001");
    });
  });

  it.each([
    ["orb $0x3c, (%ecx)", 2],
    ["addl $0x12345678, (%ecx)", 4],
    ["mov $0x12345678, %ebx", 3],
  ])("%s with its immediate beyond the CS limit faults without changing anything", (asm, cut) => {
    const cpu = new TestCpu();
    cpu.setSegment(L.SR_CS, 0x08, 0, CODE_BASE + cut, AR_CODE0); // the nop and a part of the instruction fit
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << GP);
    cpu.setReg("ecx", 0x40000);
    cpu.setReg("ebx", 0x8022);
    cpu.write32(0x40000, 0x80);
    cpu.eflags = 0x2 | 0x40 | 0x4;
    expect(cpu.exec(`nop\n${asm}`)).toBe(L.EXIT_EXCEPTION);
    expect(cpu.eip).toBe(CODE_BASE + 1);
    expect(cpu.eflags.toString(16), "EFLAGS").toBe("46");
    expect(cpu.reg("ebx").toString(16), "EBX").toBe("8022");
    expect(cpu.read32(0x40000).toString(16), "memory").toBe("80");
  });

  it("a far CALL beyond the target segment's limit raises #GP without pushing the return address", () => {
    const cpu = new TestCpu();
    cpu.writeGdt(0x800, [[0, 0], descriptor(0, 0xfffff, 0x9a, 0xc), descriptor(0, 0xfffff, 0x92, 0xc),
      descriptor(0, 0xfffff, 0xfa, 0xc), descriptor(0, 0xfffff, 0xf2, 0xc), descriptor(0, 0x1ffff, 0x9a, 0x4)]);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << GP);
    cpu.write32(STACK_TOP - 4, 0x11111111);
    cpu.write32(STACK_TOP - 8, 0x11111111);
    expect(cpu.exec("lcall $0x28, $0x30000")).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(GP);
    expect(cpu.eip).toBe(CODE_BASE);
    expect(cpu.reg("esp")).toBe(STACK_TOP);
    expect([cpu.read32(STACK_TOP - 4), cpu.read32(STACK_TOP - 8)].map((v) => v.toString(16)), "stack memory").toEqual(["11111111", "11111111"]);
  });

  it("ENTER whose read of an enclosing frame pointer faults leaves ESP, EBP and the stack alone", () => {
    const cpu = new TestCpu();
    cpu.setSegment(L.SR_SS, 0x10, 0, 0x9ffff, AR_DATA0); // [EBP-4] at 0xefffc is past the limit
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << SS);
    cpu.setReg("ebp", 0xf0000);
    cpu.write32(STACK_TOP - 4, 0x11111111);
    expect(cpu.exec("enter $8, $2")).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(SS);
    expect(cpu.eip).toBe(CODE_BASE);
    expect([cpu.reg("esp"), cpu.reg("ebp")].map((v) => v.toString(16)), "ESP, EBP").toEqual([STACK_TOP.toString(16), "f0000"]);
    expect(cpu.read32(STACK_TOP - 4).toString(16), "stack memory").toBe("11111111");
  });

  it("PUSHA whose pushes run into an unmapped page faults with ESP and the stack unchanged", () => {
    const cpu = new TestCpu();
    const PD = 0xc0000, PT = 0xc1000;
    cpu.write32(PD, PT | 3); // only the first 4 MiB are mapped: 0xfffffffc is not
    for (let i = 0; i < 1024; i++) cpu.write32(PT + i * 4, (i << 12) | 3);
    cpu.setVmcs(L.G_CR3, PD);
    cpu.setVmcs(L.G_CR0, 0x80000011);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << PF);
    for (let a = 0; a < 16; a += 4) cpu.write32(a, 0x11111111);
    cpu.setReg("esp", 0x10); // four registers fit below 0x10, the fifth wraps to 0xfffffffc
    expect(cpu.exec("pusha")).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(PF);
    expect(cpu.reg("esp").toString(16), "ESP").toBe("10");
    expect([0, 4, 8, 12].map((a) => cpu.read32(a).toString(16)), "stack memory").toEqual(Array(4).fill("11111111"));
  });

  it.each(["sgdt", "sidt"])("%s across the DS limit faults without storing any of its 6 bytes", (op) => {
    const cpu = new TestCpu();
    cpu.setSegment(L.SR_DS, 0x10, 0, 0xffff, AR_DATA0);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << GP);
    cpu.write32(0xfffc, 0x11111111);
    expect(cpu.exec(`${op} 0xfffe`)).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(GP);
    expect(cpu.read32(0xfffc).toString(16), "memory below the limit").toBe("11111111");
  });

  it("INT n whose frame does not fit on the stack raises #SS without writing any of it", () => {
    const cpu = new TestCpu();
    const IDT = 0x2000;
    const [lo, hi] = gate(0x08, CODE_BASE + 0x100, 0xe, 0);
    cpu.write32(IDT + 0x80 * 8, lo);
    cpu.write32(IDT + 0x80 * 8 + 4, hi);
    cpu.setVmcs(L.G_IDTR_BASE, IDT);
    cpu.setVmcs(L.G_IDTR_LIMIT, 0x7ff);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << SS);
    cpu.write32(0, 0x11111111);
    cpu.write32(4, 0x11111111);
    cpu.setReg("esp", 6); // EFLAGS would go to 2-5, CS to 0xfffffffe: past the end of the stack
    expect(cpu.exec("int $0x80")).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(SS);
    expect(cpu.eip).toBe(CODE_BASE);
    expect(cpu.reg("esp")).toBe(6);
    expect([cpu.read32(0), cpu.read32(4)].map((v) => v.toString(16)), "stack memory").toEqual(["11111111", "11111111"]);
  });

  it("after a MOV to CR0 sets PE, CS keeps real mode's selector (RPL 3 here) and the CPL stays 0", () => {
    const cpu = new TestCpu();
    cpu.setVmcs(L.G_CR0, 0x10);
    cpu.setSegment(L.SR_CS, 0x0fff, 0xfff0, 0xffff, 0x9b); // real mode, CS:IP 0FFF:0010 = CODE_BASE
    cpu.load(CODE_BASE, assemble(".code16\nmov %cr0, %eax\nor $1, %eax\nmov %eax, %cr0\nmov %cr0, %ebx\nhlt"));
    cpu.eip = 0x10;
    // MOV from CR0 is privileged: it would raise #GP at CPL 3
    expect(cpu.run()).toBe(L.EXIT_HLT);
    expect([cpu.vmcs(L.G_CR0) & 1, cpu.segment(L.SR_CS).selector, cpu.vmcs(L.G_CPL), cpu.reg("ebx") & 1]).toEqual([1, 0x0fff, 0, 1]);
    expect(checkGuestState({ vmcs: (offset: number) => cpu.vmcs(offset) } as unknown as BareCore, L.EXIT_HLT)).toEqual([]);
  });

  // VMRUN loads any RIP (the corpus case svm-vmrun-loads-rip-beyond-cs-limit): the first fetch's
  // fault may name it. Without a level switch a fault that far past the limit is still a finding.
  it("a fault far past CS's limit is a finding unless a level switch loaded that EIP", () => {
    const cpu = new TestCpu();
    cpu.setSegment(L.SR_CS, 0x8, 0, 0xffff, 0x9b);
    cpu.eip = 0xac5059a8;
    const state = { vmcs: (offset: number) => cpu.vmcs(offset) } as unknown as BareCore;
    expect(checkGuestState(state, L.EXIT_EXCEPTION)).toEqual(["EIP 0xac5059a8 beyond the CS limit 0xffff at exit 0"]);
    expect(checkGuestState(state, L.EXIT_EXCEPTION, true)).toEqual([]);
  });
});
