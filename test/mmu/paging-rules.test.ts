// Shadows tagged by the paging rules they were made under (assembly/mmu/context.ts): a change of
// CR0.WP or CR4.PSE switches to the shadow and TLB bank of the new rules instead of flushing
// every shadow, so a shadow made under one set of rules must never answer under another, and
// coming back to a set of rules finds its shadow again (a guest hypervisor and its guest paging
// under different rules at every level switch). CR4.PGE is no rule: it changes no shadow. Paging
// switched off and on keeps the shadows too (an SVM guest without paging and its paging
// hypervisor switch at every VMRUN): what the guest writes into its page tables meanwhile, by any
// kind of store, must reach them all the same.
import { describe, it, expect } from "vitest";
import { TestCpu } from "../core/harness";
import * as L from "../../assembly/vmcs-layout";

const PD = 0x200000;
const PT0 = 0x201000; // maps 0-4 MiB
const P = 1, W = 2, U = 4, D = 0x40, PS = 0x80, G = 0x100;
const READ_ONLY = 0x300000; // a read-only user page, already dirty: the shadow may grant writes
const WRITABLE = 0x301000;
const LARGE = 0x1000000; // PDE 4: a 4 MiB page at 4 MiB with CR4.PSE, a page table at 4 MiB without
const CR0_WP = 1 << 16, CR4_PSE = 1 << 4, CR4_PGE = 1 << 7;
const pte = (addr: number) => PT0 + (addr >>> 12) * 4;

function pagedCpu(jit = false): TestCpu {
  const cpu = new TestCpu(8 << 20, { jit });
  cpu.write32(PD, PT0 | P | W | U);
  for (let i = 0; i < 1024; i++) cpu.write32(PT0 + i * 4, (i << 12) | P | W | U);
  cpu.write32(pte(READ_ONLY), READ_ONLY | P | U | D);
  cpu.write32(PD + 4 * 4, 0x400000 | P | W | PS);
  cpu.write32(0x400000 + 4, 0x5000 | P | W); // as a page table: entry 1 maps LARGE + 0x1000 to 0x5000
  cpu.write32(0x401234, 0x1a46e); // LARGE + 0x1234 through the 4 MiB page
  cpu.write32(0x5234, 0x7ab1e); // ... through the page table
  cpu.setVmcs(L.G_CR3, PD);
  cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 14);
  return cpu;
}

const ENABLE = "mov %cr0, %eax\nor $0x80000000, %eax\nmov %eax, %cr0\n";
const setBits = (cr: string, bits: number) => `mov %${cr}, %eax\nor $${bits}, %eax\nmov %eax, %${cr}\n`;
const clearBits = (cr: string, bits: number) => `mov %${cr}, %eax\nand $${~bits >>> 0}, %eax\nmov %eax, %${cr}\n`;

describe("CR0.WP: a supervisor write to a read-only page", () => {
  it("allowed under WP=0, then #PF under WP=1 (the WP=0 shadow and TLB entry are not used)", () => {
    const cpu = pagedCpu();
    const source = `${ENABLE}movl $1, ${READ_ONLY}\n${setBits("cr0", CR0_WP)}movl $2, ${READ_ONLY}\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_ERROR)).toBe(3); // present, write, supervisor
    expect(cpu.vmcs(L.X_QUALIFICATION)).toBe(READ_ONLY);
    expect(cpu.read32(READ_ONLY)).toBe(1);
  });

  it("compiled: writes under WP=0 in a hot loop, reads under WP=1, then a write under WP=1 faults", () => {
    const cpu = pagedCpu(true);
    const source = `${ENABLE}mov $200, %ecx\n1: ${clearBits("cr0", CR0_WP)}mov %ecx, ${READ_ONLY}\n` +
      `${setBits("cr0", CR0_WP)}mov ${READ_ONLY}, %ebx\nloop 1b\nmovl $2, ${READ_ONLY}\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_ERROR)).toBe(3);
    expect([cpu.reg("ebx"), cpu.read32(READ_ONLY)]).toEqual([1, 1]);
    expect(cpu.compiler!.compiled).toBeGreaterThan(0);
  });

  it("each rule set keeps its shadow: toggling WP builds two roots, flushes nothing, and stops missing the TLB", () => {
    const run = (rounds: number) => {
      const cpu = pagedCpu();
      const source = `${ENABLE}mov $${rounds}, %ecx\n1: ${clearBits("cr0", CR0_WP)}movl $1, ${WRITABLE}\n` +
        `${setBits("cr0", CR0_WP)}movl $2, ${WRITABLE}\nloop 1b\nhlt`;
      expect(cpu.exec(source)).toBe(L.EXIT_HLT);
      expect(cpu.vmcs(L.STAT_SHADOW_ROOTS_BUILT)).toBe(2);
      expect(cpu.vmcs(L.STAT_SHADOW_FLUSHES)).toBe(0); // none for WP, nor when paging went on
      return cpu.vmcs(L.STAT_TLB_MISSES);
    };
    const few = run(2);
    expect(run(100)).toBe(few);
  });
});

describe("CR4.PSE: a PDE with PS set", () => {
  it("is a 4 MiB page with PSE, a page table without, and again a 4 MiB page with PSE", () => {
    const cpu = pagedCpu();
    const read = (reg: string) => `mov ${LARGE + 0x1234}, %${reg}\n`;
    const source = `${setBits("cr4", CR4_PSE)}${ENABLE}${read("ebx")}${clearBits("cr4", CR4_PSE)}${read("ecx")}` +
      `${setBits("cr4", CR4_PSE)}${read("edx")}hlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect([cpu.reg("ebx"), cpu.reg("ecx"), cpu.reg("edx")]).toEqual([0x1a46e, 0x7ab1e, 0x1a46e]);
  });

  it("read as a page table first, then as a 4 MiB page", () => {
    const cpu = pagedCpu();
    const source = `${ENABLE}mov ${LARGE + 0x1234}, %ebx\n${setBits("cr4", CR4_PSE)}mov ${LARGE + 0x1234}, %ecx\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect([cpu.reg("ebx"), cpu.reg("ecx")]).toEqual([0x7ab1e, 0x1a46e]);
  });
});

describe("CR4.PGE: global pages", () => {
  it("change no shadow: toggling PGE keeps the one root, and a global page's new PTE is seen at once", () => {
    const cpu = pagedCpu();
    cpu.write32(pte(WRITABLE), WRITABLE | P | W | G);
    cpu.write32(WRITABLE, 1);
    cpu.write32(0x6000, 2);
    const source = `${ENABLE}${setBits("cr4", CR4_PGE)}mov ${WRITABLE}, %ebx\n` +
      `movl $${0x6000 | P | W | G}, ${pte(WRITABLE)}\nmov ${WRITABLE}, %ecx\n${clearBits("cr4", CR4_PGE)}mov ${WRITABLE}, %edx\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect([cpu.reg("ebx"), cpu.reg("ecx"), cpu.reg("edx")]).toEqual([1, 2, 2]);
    expect(cpu.vmcs(L.STAT_SHADOW_ROOTS_BUILT)).toBe(1);
  });
});

describe("switching paging off and on", () => {
  const DISABLE = clearBits("cr0", 0x80000000);
  const REMAPPED = 0x6000 | P | W;
  // Each store writes REMAPPED into WRITABLE's PTE with paging off, as its kind of store does it.
  const stores: Record<string, string> = {
    "a 32-bit MOV": `movl $${REMAPPED}, ${pte(WRITABLE)}\n`,
    "two 16-bit MOVs": `movw $${REMAPPED & 0xffff}, ${pte(WRITABLE)}\nmovw $0, ${pte(WRITABLE) + 2}\n`,
    "a byte MOV (the frame's low byte: 0x01 to 0x06)": `movb $0x60, ${pte(WRITABLE) + 1}\nmovb $0, ${pte(WRITABLE) + 2}\n`,
    "a REP STOSD": `mov $${pte(WRITABLE)}, %edi\nmov $${REMAPPED}, %eax\nmov $1, %ecx\ncld\nrep stosl\n`,
    "a PUSH (the stack in the page table)": `mov %esp, %edx\nmov $${pte(WRITABLE) + 4}, %esp\npush $${REMAPPED}\nmov %edx, %esp\n`,
  };

  it.each(Object.entries(stores))("keeps the shadows, and a page table written with paging off by %s is read afresh", (_, store) => {
    const cpu = pagedCpu();
    cpu.write32(WRITABLE, 1);
    cpu.write32(0x6000, 2);
    const source = `${ENABLE}mov ${WRITABLE}, %ebx\n${DISABLE}${store}${ENABLE}mov ${WRITABLE}, %ecx\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect([cpu.reg("ebx"), cpu.reg("ecx")]).toEqual([1, 2]);
    expect(cpu.vmcs(L.STAT_SHADOW_FLUSHES)).toBe(0);
  });

  it("a page directory written with paging off is read afresh: LARGE's 4 MiB page becomes a page table", () => {
    const cpu = pagedCpu();
    const source = `${setBits("cr4", CR4_PSE)}${ENABLE}mov ${LARGE + 0x1234}, %ebx\n${DISABLE}movl $${0x400000 | P | W}, ${PD + 4 * 4}\n${ENABLE}mov ${LARGE + 0x1234}, %ecx\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect([cpu.reg("ebx"), cpu.reg("ecx")]).toEqual([0x1a46e, 0x7ab1e]);
  });

  it("compiled: a hot loop that remaps a page with paging off and reads it with paging on sees each mapping, on one root without a flush", () => {
    const cpu = pagedCpu(true);
    cpu.write32(WRITABLE, 1);
    cpu.write32(0x6000, 2);
    // Odd rounds map WRITABLE to itself (1), even ones to 0x6000 (2): EBX sums what was read.
    const source = `xor %ebx, %ebx\nmov $200, %ecx\n1: mov %ecx, %eax\nand $1, %eax\njz 2f\nmovl $${WRITABLE | P | W}, ${pte(WRITABLE)}\njmp 3f\n` +
      `2: movl $${REMAPPED}, ${pte(WRITABLE)}\n3: ${ENABLE}add ${WRITABLE}, %ebx\n${DISABLE}loop 1b\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect(cpu.reg("ebx")).toBe(100 * 1 + 100 * 2);
    expect(cpu.vmcs(L.STAT_SHADOW_FLUSHES)).toBe(0);
    expect(cpu.vmcs(L.STAT_SHADOW_ROOTS_BUILT)).toBe(1);
    expect(cpu.compiler!.compiled).toBeGreaterThan(0);
  });
});
