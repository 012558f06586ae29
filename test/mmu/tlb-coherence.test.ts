// Regression tests for two TLB-coherence faults found while writing guests/paging (a changed
// PTE must be visible after a CR3 load: SDM Vol. 3A 4.10.4.1, "MOV to CR3 ... invalidates all
// TLB entries associated with PCID 000H except those for global pages"). Both make the guest
// read a stale mapping after a CR3 reload; both are minimal: one PTE, one reload.
import { describe, expect, it } from "vitest";
import { assemble, TestCpu } from "../core/harness";
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

// The instruction fetcher keeps a window on the page EIP is in (assembly/mmu/fetch-window.ts), in
// effect a one-entry instruction TLB: a write to the PTE of that page must close it like any other
// TLB entry, so the next instruction comes from the new frame (the TLB is coherent: tlb.ts). Found
// by the fuzzer (test/fuzz/corpus/page-table-write-left-a-stale-fetch-window): a stack that grew
// into the page table remapped the code page, and with the compiling tier on the interpreter
// fetched from the old frame after a compiled block, because no fetch in between moved the window.
describe("a PTE written for the page EIP is in is seen by the next instruction fetch", () => {
  const CODE = 0x10000; // the harness's CODE_BASE: in the identity-mapped first 4 MiB
  const COPY = 0x7000; // the frame the code page is remapped to: a copy with one immediate changed
  const MOV_EDX_1 = [0xba, 1, 0, 0, 0];

  // `source` ends with `mov $1, %edx; hlt`; in the copy that MOV loads 2.
  function run(source: string, jit: boolean): TestCpu {
    const cpu = new TestCpu(8 << 20, { jit });
    cpu.write32(PD, PT0 | P | W | U);
    for (let i = 0; i < 1024; i++) cpu.write32(PT0 + i * 4, (i << 12) | P | W | U);
    cpu.setVmcs(L.G_CR3, PD);
    const code = assemble(source);
    const at = code.lastIndexOf(MOV_EDX_1[0], code.length - MOV_EDX_1.length);
    expect(MOV_EDX_1.every((b, j) => code[at + j] === b)).toBe(true);
    const copy = code.slice(0, 0x1000);
    copy[at + 1] = 2;
    cpu.load(COPY, copy);
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    return cpu;
  }
  const remap = `movl $${COPY | P | W | U}, ${pte(CODE)}\n`;

  it("straight on, in the interpreter", () => {
    expect(run(`${ENABLE}${remap}mov $1, %edx\nhlt`, false).reg("edx")).toBe(2);
  });

  // A compiled function on the next page is called between the remap and the next fetch on the
  // code page: no instruction fetched in between moved the window.
  it.each([["off", false], ["on", true]])("after a compiled block, compiling tier %s", (_, jit) => {
    const source = `${ENABLE}xor %eax, %eax\nmov $100, %ecx\n1: call fn\nloop 1b\n${remap}call fn\nmov $1, %edx\nhlt\n` +
      ".org 0x1000\nfn: add $1, %eax\nret";
    const cpu = run(source, jit);
    expect([cpu.reg("eax"), cpu.reg("edx")]).toEqual([101, 2]);
    if (jit) expect(cpu.compiler!.compiled).toBeGreaterThan(0);
  });
});
