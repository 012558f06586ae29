// Regression tests for two TLB-coherence faults found while writing guests/paging (a changed
// PTE must be visible after a CR3 load: SDM Vol. 3A 4.10.4.1, "MOV to CR3 ... invalidates all
// TLB entries associated with PCID 000H except those for global pages"). Both make the guest
// read a stale mapping after a CR3 reload; both are minimal: one PTE, one reload.
import { describe, expect, it } from "vitest";
import { TestCpu } from "../core/harness";
import * as L from "../../assembly/vmcs-layout";

const PD = 0x200000;
const PT0 = 0x201000; // maps 0-4 MiB
const P = 1, W = 2, U = 4, A = 0x20, D = 0x40;
const DATA = 0x300000;
const pte = (addr: number) => PT0 + (addr >>> 12) * 4;
const ENABLE = "mov %cr0, %eax\nor $0x80000000, %eax\nmov %eax, %cr0\n";

/** 0-4 MiB identity-mapped (with `flags`), DATA -> frame 0x5000 (holding 1); frame 0x6000 holds 2. */
function cpuWithIdentityMap(flags: number): TestCpu {
  const cpu = new TestCpu(8 << 20);
  cpu.write32(PD, PT0 | P | W | U);
  for (let i = 0; i < 1024; i++) cpu.write32(PT0 + i * 4, (i << 12) | flags);
  cpu.write32(pte(DATA), 0x5000 | P | W);
  cpu.write32(0x5000, 1);
  cpu.write32(0x6000, 2);
  cpu.setVmcs(L.G_CR3, PD);
  cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 14);
  return cpu;
}

describe("a PTE changed before a CR3 reload is seen after it", () => {
  // assembly/mmu/mmu.ts translateSlow(): after a shadow miss, shadowFill() stores the walk's entry
  // without write permission when the frame is a tracked page table, but tlbInsert(lin, e) caches
  // the unstripped `e`. If the guest's PTE for the page-table page is already dirty (kernels often
  // pre-set A|D), a *read* of the page table through the identity map leaves a writable TLB entry;
  // the next write to the PTE hits the TLB, never reaches invalidateGuestWrite(), and the shadow
  // entry derived from the old PTE survives the CR3 reload (activate() reuses the shadow).
  it("when the page table was first read through a dirty mapping (TLB entry must not be writable)", () => {
    const cpu = cpuWithIdentityMap(P | W | U | A | D);
    const source = `${ENABLE}mov ${DATA}, %eax\n` + // shadow entry for DATA from PT0: PT0 is now tracked
      `mov ${pte(DATA)}, %edx\n` + // read PT0 through its dirty identity mapping (shadow miss)
      `movl $${0x6000 | P | W}, ${pte(DATA)}\n` + // remap DATA to frame 0x6000: must be write-tracked
      "mov %cr3, %ecx\nmov %ecx, %cr3\n" +
      `mov ${DATA}, %ebx\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect([cpu.reg("eax"), cpu.reg("ebx")]).toEqual([1, 2]);
  });

  // assembly/cpu/system.ts writeCr3() exits for a value outside the CR3-target list; the VMM
  // completes the load by writing G_CR3 (src/vmm/exits/cr-access.ts). At VM entry
  // assembly/mmu/mmu.ts checkAddressSpace() switches only when G_CR3 differs from the active CR3,
  // so a reload of the *same* value that exited changes nothing there: the changed PTE must
  // already be out of the TLB (its write dropped the shadow entry and the TLB's copy of it).
  it("when the reload of the same CR3 exited (CR3-target miss) and the VMM completed it", () => {
    const cpu = cpuWithIdentityMap(P | W | U);
    cpu.setVmcs(L.C_PRIMARY, L.CTL_HLT_EXITING | L.CTL_CR3_LOAD_EXITING);
    cpu.setVmcs(L.C_CR3_TARGET_COUNT, 0);
    const source = `${ENABLE}mov ${DATA}, %eax\n` + // DATA -> 0x5000 now in the TLB
      `movl $${0x6000 | P | W}, ${pte(DATA)}\n` +
      "mov %cr3, %ecx\nmov %ecx, %cr3\n" + // exits: no targets
      `mov ${DATA}, %ebx\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_CR_ACCESS);
    // complete the MOV to CR3 as the VMM's CR-access handler does
    cpu.setVmcs(L.G_CR3, cpu.reg("ecx"));
    cpu.eip = cpu.eip + cpu.vmcs(L.X_INSTRUCTION_LENGTH);
    expect(cpu.run()).toBe(L.EXIT_HLT);
    expect([cpu.reg("eax"), cpu.reg("ebx")]).toEqual([1, 2]);
  });

  // Control: the first case with a clean identity map (the read leaves a read-only TLB entry), which
  // passes today, so a fix can be seen not to break the ordinary path.
  it("(control) clean identity map, reload without exiting", () => {
    const cpu = cpuWithIdentityMap(P | W | U);
    const source = `${ENABLE}mov ${DATA}, %eax\nmov ${pte(DATA)}, %edx\nmovl $${0x6000 | P | W}, ${pte(DATA)}\n` +
      `mov %cr3, %ecx\nmov %ecx, %cr3\nmov ${DATA}, %ebx\nhlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect([cpu.reg("eax"), cpu.reg("ebx")]).toEqual([1, 2]);
  });
});
