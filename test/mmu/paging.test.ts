// The shadow MMU through real instructions: 32-bit paging as the guest's tables define it
// (permissions at every CPL, CR0.WP, 4 MiB pages, A/D bits, #PF error codes and CR2), the TLB
// rules (INVLPG and CR3 loads), shadow coherence with guest page-table writes, and shadows kept
// per address space with the CR3-target list.
import { describe, it, expect } from "vitest";
import { TestCpu } from "../core/harness";
import * as L from "../../assembly/vmcs-layout";

const PD = 0x200000;
const PT0 = 0x201000; // maps 0-4 MiB
const P = 1, W = 2, U = 4, A = 0x20, D = 0x40, PS = 0x80;
const DATA = 0x300000;

// Identity-map the first 4 MiB with 4 KiB pages (P|W|U), paging switched on by the snippet.
function pagedCpu(setup: (cpu: TestCpu) => void = () => {}): TestCpu {
  const cpu = new TestCpu(8 << 20);
  cpu.write32(PD, PT0 | P | W | U);
  for (let i = 0; i < 1024; i++) cpu.write32(PT0 + i * 4, (i << 12) | P | W | U);
  cpu.setVmcs(L.G_CR3, PD);
  cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 14);
  setup(cpu);
  return cpu;
}
const pte = (addr: number) => PT0 + (addr >>> 12) * 4;
const ENABLE = "mov %cr0, %eax\nor $0x80000000, %eax\nmov %eax, %cr0\n";

describe("translation and faults", () => {
  it("a mapped alias reads the frame it points to", () => {
    const cpu = pagedCpu((c) => { c.write32(pte(DATA), 0x5000 | P | W); c.write32(0x5010, 0xcafef00d); });
    expect(cpu.exec(`${ENABLE}mov ${DATA + 0x10}, %ebx\nhlt`)).toBe(L.EXIT_HLT);
    expect(cpu.reg("ebx")).toBe(0xcafef00d);
  });

  it.each([
    ["read of a not-present page", "mov 0x300123, %eax", 0x300123, 0, (c: TestCpu) => c.write32(pte(DATA), 0)],
    ["write of a not-present page", "movl $1, 0x300123", 0x300123, 2, (c: TestCpu) => c.write32(pte(DATA), 0)],
    ["write to a read-only page with CR0.WP", "movl $1, 0x300000", 0x300000, 3, (c: TestCpu) => { c.write32(pte(DATA), DATA | P); c.setVmcs(L.G_CR0, 0x10011); }],
    ["not-present PDE", "mov 0x400000, %eax", 0x400000, 0, () => {}],
  ])("%s raises #PF with its error code and CR2", (_, asm, address, error, setup) => {
    const cpu = pagedCpu(setup);
    expect(cpu.exec(`${ENABLE}${asm}\nhlt`)).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO)).toBe((0x80000000 | 0x800 | 0x300 | 14) >>> 0);
    expect(cpu.vmcs(L.X_INTR_ERROR)).toBe(error);
    expect(cpu.vmcs(L.X_QUALIFICATION)).toBe(address);
  });

  it("a #PF that exits through the exception bitmap leaves CR2 alone: its address is the qualification (SDM 27.1)", () => {
    const cpu = pagedCpu((c) => c.setVmcs(L.G_CR2, 0x1234));
    expect(cpu.exec(`${ENABLE}mov 0x400000, %eax\nhlt`)).toBe(L.EXIT_EXCEPTION);
    expect([cpu.vmcs(L.X_QUALIFICATION), cpu.vmcs(L.G_CR2)]).toEqual([0x400000, 0x1234]);
  });

  // Instruction fetch: the fetch window is rebuilt when EIP leaves it; an instruction whose bytes
  // run into a page that faults must fault before any of its effects, with EIP at its start.
  it.each([
    ["a jump to a not-present page", `jmp *%ebx`, DATA + 0x10, DATA + 0x10],
    ["an instruction running into a not-present page", `jmp *%ebx`, DATA - 3, DATA],
  ])("%s raises #PF with CR2 at the missing byte and EIP at the instruction", (_, asm, target, address) => {
    const cpu = pagedCpu((c) => {
      c.write32(pte(DATA), 0);
      c.load(target, new Uint8Array([0xb9, 0x78, 0x56, 0x34, 0x12])); // mov $0x12345678, %ecx (its tail, if any, unmapped)
    });
    cpu.setReg("ebx", target);
    expect(cpu.exec(`${ENABLE}${asm}`)).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO)).toBe((0x80000000 | 0x800 | 0x300 | 14) >>> 0);
    expect(cpu.vmcs(L.X_QUALIFICATION)).toBe(address);
    expect(cpu.eip).toBe(target);
    expect(cpu.reg("ecx")).toBe(0);
  });

  it("a jump past the CS limit raises #GP(0) with EIP at the jump", () => {
    const cpu = pagedCpu((c) => c.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13));
    cpu.setSegment(L.SR_CS, 0x08, 0, 0x1fffff, 0xc09b & ~0x8000); // byte-granular limit 2 MiB - 1
    cpu.setReg("ebx", 0x200000);
    expect(cpu.exec("jmp *%ebx")).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO)).toBe((0x80000000 | 0x800 | 0x300 | 13) >>> 0);
    expect(cpu.eip).toBe(0x10000);
  });

  it("without CR0.WP the supervisor writes a read-only page", () => {
    const cpu = pagedCpu((c) => c.write32(pte(DATA), DATA | P));
    expect(cpu.exec(`${ENABLE}movl $7, ${DATA}\nhlt`)).toBe(L.EXIT_HLT);
    expect(cpu.read32(DATA)).toBe(7);
  });

  it("sets accessed on a read and dirty on a write, in the guest's own entries", () => {
    const cpu = pagedCpu((c) => { c.write32(pte(DATA), DATA | P | W); c.write32(pte(DATA + 0x1000), (DATA + 0x1000) | P | W); });
    expect(cpu.exec(`${ENABLE}mov ${DATA}, %eax\nmovl $1, ${DATA + 0x1000}\nhlt`)).toBe(L.EXIT_HLT);
    expect(cpu.read32(pte(DATA)) & (A | D)).toBe(A);
    expect(cpu.read32(pte(DATA + 0x1000)) & (A | D)).toBe(A | D);
    expect(cpu.read32(PD) & A).toBe(A);
  });

  it("a write to a clean page first read marks it dirty (the shadow withheld write permission)", () => {
    const cpu = pagedCpu((c) => c.write32(pte(DATA), DATA | P | W));
    expect(cpu.exec(`${ENABLE}mov ${DATA}, %eax\nmovl $5, ${DATA}\nhlt`)).toBe(L.EXIT_HLT);
    expect(cpu.read32(pte(DATA)) & (A | D)).toBe(A | D);
    expect(cpu.read32(DATA)).toBe(5);
  });

  it("4 MiB pages with CR4.PSE", () => {
    const cpu = pagedCpu((c) => {
      c.write32(PD + 4 * 4, 0x400000 | P | W | PS); // linear 16 MiB -> physical 4 MiB
      c.setVmcs(L.G_CR4, 0x10);
      c.write32(0x400000 + 0x1234, 0x600dbeef);
    });
    expect(cpu.exec(`${ENABLE}mov ${0x1000000 + 0x1234}, %eax\nmovl $1, ${0x1000000 + 0x2000}\nhlt`)).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax")).toBe(0x600dbeef);
    expect(cpu.read32(PD + 16) & (A | D)).toBe(A | D);
  });

  it("user-mode access to a supervisor page faults with U/S in the error code", () => {
    const cpu = pagedCpu((c) => c.write32(pte(DATA), DATA | P | W));
    // drop to ring 3 with IRET (flat ring-3 selectors from the harness GDT; IRET nulls DS)
    const ring3 = `${ENABLE}push $0x23\npush $0x80000\npush $0x2\npush $0x1b\npush $1f\niret\n1: mov $0x23, %ecx\nmov %ecx, %ds\nmov ${DATA}, %eax\nhlt`;
    expect(cpu.exec(ring3)).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_ERROR)).toBe(5); // present, read, user
  });
});

describe("TLB and coherence", () => {
  const remap = (to: number) => `movl $${to | P | W}, ${pte(DATA)}\n`;

  it("a changed PTE is visible after INVLPG", () => {
    const cpu = pagedCpu((c) => { c.write32(pte(DATA), 0x5000 | P | W); c.write32(0x5000, 1); c.write32(0x6000, 2); });
    expect(cpu.exec(`${ENABLE}mov ${DATA}, %eax\n${remap(0x6000)}invlpg ${DATA}\nmov ${DATA}, %ebx\nhlt`)).toBe(L.EXIT_HLT);
    expect([cpu.reg("eax"), cpu.reg("ebx")]).toEqual([1, 2]);
  });

  it("a changed PTE is visible after a CR3 reload", () => {
    const cpu = pagedCpu((c) => { c.write32(pte(DATA), 0x5000 | P | W); c.write32(0x5000, 1); c.write32(0x6000, 2); });
    expect(cpu.exec(`${ENABLE}mov ${DATA}, %eax\n${remap(0x6000)}mov %cr3, %ecx\nmov %ecx, %cr3\nmov ${DATA}, %ebx\nhlt`)).toBe(L.EXIT_HLT);
    expect([cpu.reg("eax"), cpu.reg("ebx")]).toEqual([1, 2]);
    expect(cpu.vmcs(L.STAT_PT_WRITE_TRAPS)).toBeGreaterThan(0);
  });

  it("a page table mapped into itself: PTEs written through the self-map take effect", () => {
    const SELF = 0x3ff; // PDE 1023 points at the directory: the tables appear at 0xFFC00000
    const cpu = pagedCpu((c) => { c.write32(PD + SELF * 4, PD | P | W); c.write32(0x7000, 0x77); });
    const ptWindow = 0xffc00000 + (DATA >>> 12) * 4; // PTE for DATA through the self-map
    expect(cpu.exec(`${ENABLE}movl $${0x7000 | P | W}, ${ptWindow}\ninvlpg ${DATA}\nmov ${DATA}, %eax\nhlt`)).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax")).toBe(0x77);
    expect(cpu.read32(pte(DATA)) & ~0xfff).toBe(0x7000);
  });

  it("a freed page-table page reused as data does not keep stale shadows", () => {
    // PT1 maps 4-8 MiB; the guest unhooks it, reuses the frame as data, then maps data elsewhere
    const PT1 = 0x202000;
    const cpu = pagedCpu((c) => {
      c.write32(PD + 4, PT1 | P | W);
      c.write32(PT1, 0x8000 | P | W); // 0x400000 -> 0x8000
      c.write32(0x8000, 0x88);
    });
    const source = `${ENABLE}mov 0x400000, %eax\nmovl $0, ${PD + 4}\nmov %cr3, %ecx\nmov %ecx, %cr3\n` +
      `movl $0x12345, ${PT1}\nmovl $${PT1 | P | W}, ${PD + 4}\nmov %ecx, %cr3\nmov 0x400000, %ebx\nhlt`;
    // the PDE points at PT1 again but PT1's first entry is now 0x12345: frame 0x12000, P=1 W=0 U=1
    cpu.write32(0x12000, 0x99);
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect([cpu.reg("eax"), cpu.reg("ebx")]).toEqual([0x88, 0x99]);
  });
});

describe("address spaces and the CR3-target list", () => {
  // Two directories sharing PT0; switching between them reuses their shadows.
  const PD2 = 0x210000;
  function twoSpaces(targets: number[]): TestCpu {
    const cpu = pagedCpu((c) => {
      c.write32(PD2, PT0 | P | W | U);
      c.setVmcs(L.C_PRIMARY, L.CTL_HLT_EXITING | L.CTL_CR3_LOAD_EXITING);
      c.setVmcs(L.C_CR3_TARGET_COUNT, targets.length);
      targets.forEach((t, i) => c.setVmcs(L.C_CR3_TARGETS + 4 * i, t));
    });
    return cpu;
  }
  const switching = `${ENABLE}mov $50, %ecx\n1: mov $${PD2}, %eax\nmov %eax, %cr3\nmov $${PD}, %eax\nmov %eax, %cr3\nmov 0x1000, %edx\nloop 1b\nhlt`;

  it("switches between target address spaces without exits, reusing their shadows", () => {
    const cpu = twoSpaces([PD, PD2]);
    expect(cpu.exec(switching)).toBe(L.EXIT_HLT);
    expect(cpu.vmcs(L.STAT_CR3_TARGET_HITS)).toBe(100);
    expect(cpu.vmcs(L.STAT_SHADOW_ROOTS_BUILT)).toBe(2);
    expect(cpu.vmcs(L.STAT_SHADOW_ROOTS_REUSED)).toBeGreaterThanOrEqual(98);
  });

  it("a CR3 value outside the list exits with reason 28", () => {
    const cpu = twoSpaces([PD]);
    expect(cpu.exec(switching)).toBe(L.EXIT_CR_ACCESS);
    expect(cpu.qualification).toBe(0x003); // CR3, MOV to CR, from EAX
  });
});
