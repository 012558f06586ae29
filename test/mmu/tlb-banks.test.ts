// The TLB tagged by address space (assembly/mmu/tlb.ts): each shadow root has its own bank, a
// CR3 switch flushes nothing, and the banks stay exact because every shadow entry dropped (a guest
// write to a page table or directory of any address space, active or not) takes its TLB copy with
// it. Also the compiling tier on top: compiled blocks re-validated after a switch (the same linear
// code can be other code in another space), and MOV to CR3 inside a compiled block.
import { describe, it, expect } from "vitest";
import { TestCpu } from "../core/harness";
import * as L from "../../assembly/vmcs-layout";

const P = 1, W = 2, U = 4;
const PD = 0x200000, PT0 = 0x201000; // space 1: 0-4 MiB identity-mapped through PT0
const PD2 = 0x210000, PT2 = 0x211000; // space 2: the same through its own copy, PT2
const DATA = 0x300000; // space 1 -> frame 0x5000 (holds 1), space 2 -> frame 0x6000 (holds 2)
const FUNC = 0x380000; // space 1 -> frame 0x7000, space 2 -> frame 0x8000: different code
const ENABLE = "mov %cr0, %eax\nor $0x80000000, %eax\nmov %eax, %cr0\n";
const entry = (table: number, addr: number) => table + (addr >>> 12) * 4;

function twoSpaces(options: { jit?: boolean; targets?: number[] } = {}): TestCpu {
  const cpu = new TestCpu(8 << 20, { jit: options.jit });
  cpu.write32(PD, PT0 | P | W | U);
  cpu.write32(PD2, PT2 | P | W | U);
  for (let i = 0; i < 1024; i++) {
    cpu.write32(PT0 + i * 4, (i << 12) | P | W | U);
    cpu.write32(PT2 + i * 4, (i << 12) | P | W | U);
  }
  cpu.write32(entry(PT0, DATA), 0x5000 | P | W);
  cpu.write32(entry(PT2, DATA), 0x6000 | P | W);
  cpu.write32(0x5000, 1);
  cpu.write32(0x6000, 2);
  cpu.write32(entry(PT0, FUNC), 0x7000 | P | W);
  cpu.write32(entry(PT2, FUNC), 0x8000 | P | W);
  cpu.load(0x7000, Uint8Array.of(0xba, 1, 0, 0, 0, 0xc3)); // mov $1, %edx; ret
  cpu.load(0x8000, Uint8Array.of(0xba, 2, 0, 0, 0, 0xc3)); // mov $2, %edx; ret
  cpu.setVmcs(L.G_CR3, PD);
  cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 14);
  const targets = options.targets ?? [PD, PD2];
  cpu.setVmcs(L.C_PRIMARY, L.CTL_HLT_EXITING | L.CTL_CR3_LOAD_EXITING);
  cpu.setVmcs(L.C_CR3_TARGET_COUNT, targets.length);
  targets.forEach((t, i) => cpu.setVmcs(L.C_CR3_TARGETS + 4 * i, t));
  return cpu;
}

const toSpace = (pd: number) => `mov $${pd}, %eax\nmov %eax, %cr3\n`;

// Runs `source` (200 rounds of two switches) with the compiling tier on: it must end at its HLT,
// with blocks compiled and every switch a CR3-target hit.
function compiledSwitches(source: string): TestCpu {
  const cpu = twoSpaces({ jit: true });
  expect(cpu.exec(source)).toBe(L.EXIT_HLT);
  expect(cpu.compiler!.compiled).toBeGreaterThan(0);
  expect(cpu.vmcs(L.STAT_CR3_TARGET_HITS)).toBe(400);
  return cpu;
}

describe("a TLB bank per address space", () => {
  const switching = (rounds: number) =>
    `${ENABLE}mov $${rounds}, %ecx\n1: ${toSpace(PD2)}mov ${DATA}, %ebx\n${toSpace(PD)}mov ${DATA}, %edx\nloop 1b\nhlt`;

  it("an address space switched back to finds its translations: no TLB misses after the first round", () => {
    const misses = (rounds: number) => {
      const cpu = twoSpaces();
      expect(cpu.exec(switching(rounds))).toBe(L.EXIT_HLT);
      expect([cpu.reg("ebx"), cpu.reg("edx")]).toEqual([2, 1]);
      expect(cpu.vmcs(L.STAT_CR3_TARGET_HITS)).toBe(2 * rounds);
      return cpu.vmcs(L.STAT_TLB_MISSES);
    };
    const few = misses(2);
    expect(few).toBeGreaterThan(0);
    expect(misses(200)).toBe(few);
  });

  it("compiled: each space's data read right after the switch, in the same block", () => {
    const cpu = compiledSwitches(switching(200));
    expect([cpu.reg("ebx"), cpu.reg("edx")]).toEqual([2, 1]);
  });

  it("a PTE changed while its address space is inactive is seen when the space comes back", () => {
    const cpu = twoSpaces();
    const source = `${ENABLE}${toSpace(PD2)}mov ${DATA}, %ebx\n${toSpace(PD)}` + // space 2 caches DATA -> 0x6000
      `movl $${0x5000 | P | W}, ${entry(PT2, DATA)}\n` + // from space 1, remap space 2's DATA to 0x5000
      `${toSpace(PD2)}mov ${DATA}, %edx\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect([cpu.reg("ebx"), cpu.reg("edx")]).toEqual([2, 1]);
    expect(cpu.vmcs(L.STAT_PT_WRITE_TRAPS)).toBeGreaterThan(0);
  });

  it("a PDE changed while its address space is inactive is seen when the space comes back", () => {
    const cpu = twoSpaces();
    const source = `${ENABLE}${toSpace(PD2)}mov ${DATA}, %ebx\n${toSpace(PD)}` +
      `movl $${PT0 | P | W | U}, ${PD2}\n` + // from space 1, point space 2's first PDE at PT0
      `${toSpace(PD2)}mov ${DATA}, %edx\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect([cpu.reg("ebx"), cpu.reg("edx")]).toEqual([2, 1]);
  });

  it("a PTE changed in the active space is seen at once (the TLB never holds a stale copy)", () => {
    const cpu = twoSpaces();
    const source = `${ENABLE}mov ${DATA}, %ebx\nmovl $${0x6000 | P | W}, ${entry(PT0, DATA)}\nmov ${DATA}, %edx\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect([cpu.reg("ebx"), cpu.reg("edx")]).toEqual([1, 2]);
  });
});

describe("compiled blocks across address spaces", () => {
  // Each round calls FUNC in both spaces: EDI sums space 1's answers, ESI space 2's.
  const calls = (rounds: number) =>
    `${ENABLE}xor %esi, %esi\nxor %edi, %edi\nmov $${rounds}, %ecx\n` +
    `1: ${toSpace(PD2)}call ${FUNC}\nadd %edx, %esi\n` +
    `${toSpace(PD)}call ${FUNC}\nadd %edx, %edi\nloop 1b\nhlt`;

  it("switches in compiled code run each space's own code at the same linear address", () => {
    const cpu = compiledSwitches(calls(200));
    expect([cpu.reg("edi"), cpu.reg("esi")]).toEqual([200, 400]);
  });

  it("a block compiled in one space is not entered at its linear address in another", () => {
    const cpu = twoSpaces({ jit: true });
    // FUNC hot in space 2, then hot in space 1 (compiled again for space 1's frame), then once
    // more in space 2, which must not run space 1's block
    const hot = (pd: number, sum: string) => `${toSpace(pd)}mov $100, %ecx\n1: call ${FUNC}\nadd %edx, ${sum}\nloop 1b\n`;
    const source = `${ENABLE}xor %esi, %esi\nxor %edi, %edi\n${hot(PD2, "%esi")}${hot(PD, "%edi")}${toSpace(PD2)}call ${FUNC}\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect(cpu.compiler!.compiled).toBeGreaterThan(0);
    expect([cpu.reg("esi"), cpu.reg("edi"), cpu.reg("edx")]).toEqual([200, 100, 2]);
  });

  it("a MOV to CR3 in a compiled block that misses the target list exits with reason 28 at that MOV", () => {
    const cpu = twoSpaces({ jit: true, targets: [PD] });
    // a hot loop that reloads space 1 (a hit) until ECX runs out, then loads space 2 (a miss)
    const source = `${ENABLE}mov $100, %ecx\nmov $${PD}, %eax\n1: mov %eax, %cr3\ndec %ecx\n` +
      `jnz 2f\nmov $${PD2}, %eax\n2: add $0, %edx\nmov %eax, %cr3\ncmp $${PD2}, %eax\njne 1b\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_CR_ACCESS);
    expect(cpu.qualification).toBe(0x003); // CR3, MOV to CR, from EAX
    expect(cpu.reg("eax")).toBe(PD2);
    expect([cpu.read8(cpu.eip), cpu.read8(cpu.eip + 1)]).toEqual([0x0f, 0x22]); // EIP at the MOV
    expect(cpu.vmcs(L.G_CR3)).toBe(PD);
    expect(cpu.compiler!.compiled).toBeGreaterThan(0);
  });
});
