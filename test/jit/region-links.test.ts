// A region that leaves by a branch goes on in the region compiled at its target with a tail call
// (src/jit/translate.ts emitLink) instead of returning to the core's run loop: a loop calling
// functions on other pages, directly, through a pointer and back by RET, must end as the
// interpreter ends it, at every slice boundary too (each link takes budget as the loop does), and
// the run loop must enter far fewer regions than the loop makes calls (the links did the rest).
// One case rewrites a called function halfway: a link must not reach its stale region; others
// make a link's other checks matter (an address sharing the cache entry, and with paging on a
// remap, another address space, another CPL).
import { describe, it, expect } from "vitest";
import { runBoth, expectAgreement, expectSameSlices, withPaging } from "./agreement";
import { TestCpu, CODE_BASE, AR_CODE0, AR_DATA0, AR_CODE3, AR_DATA3, REG_NAMES, assemble } from "../core/harness";
import * as L from "../../assembly/vmcs-layout";

const CALLS = 3000;
// the loop on the first page; f (direct CALL) and g (through EDI) each on a page of its own (with
// paging off f joins the loop's region as its second page, cross-page-regions.test.ts; g, on a
// third, is reached by links; with paging on both are)
const CROSS_PAGE = `mov $${CALLS}, %ecx\nmov $g, %edi\n1: mov %ecx, %eax\ncall f\nadd %eax, %ebx\ncall *%edi\nxor %eax, %esi\ndec %ecx\njnz 1b\nhlt
.p2align 12\nf: lea 3(%eax,%eax,2), %eax\nret
.p2align 12\ng: rol $5, %eax\nadd $0x9e37, %eax\nret`;

// the same loop, rewriting f's immediate (LEA's displacement) once, at the 1000th round
const PATCHED = `mov $${CALLS}, %ecx\n1: mov %ecx, %eax\ncall f\nadd %eax, %ebx\ncmp $1000, %ecx\njne 2f\nmovb $7, f + 3
2: dec %ecx\njnz 1b\nhlt
.p2align 12\nf: lea 3(%eax,%eax,2), %eax\nret`;

describe("links between regions", () => {
  it("calls and returns across pages: the interpreter's end state, with few entries from the run loop", () => {
    const both = runBoth(CROSS_PAGE);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.core.blockEntriesFromLoop()).toBeLessThan(CALLS / 10);
  });

  it.each([3, 7, 97, 1000, 4093])("slices of %i: the interpreter's state at the end of each", (slice) => {
    expectSameSlices(CROSS_PAGE, slice);
  });

  it("a called function rewritten halfway: the new code runs", () => {
    const both = runBoth(PATCHED);
    expectAgreement(both, L.EXIT_HLT);
  });
});

// With paging on, a link checks what runBlocks()'s paging fast path checks: the entry was
// validated for the address at the TLB's current generation, in this mode, in the active bank.
// The loop calls f at linear 0x40000, whose frame holds ADD $1; the same offset of frame 0x41000
// holds ADD $100: the runs remap the page there, by a page-table write (the TLB's generation moves)
// or by switching to an address space that maps it there (another bank, the same generation), and
// the calls after that must run the new frame's code, not f's region reached by a link.
const F = 0x40000, F_REMAPPED = 0x41000, PT = 0x201000, OTHER_PD = 0x202000, OTHER_PT = 0x203000;
// G's cache entry is F's (block-cache.ts entryFor: the linear address ^ its page number)
const G = 0x42002;
function withFunctions(cpu: TestCpu): void {
  cpu.load(F, assemble("add $1, %ebx\nret", F));
  cpu.load(F_REMAPPED, assemble("add $100, %ebx\nret", F_REMAPPED));
  cpu.load(G, assemble("add $10000, %ebx\nret", G));
}
function withPagingAndF(cpu: TestCpu): void {
  withPaging(cpu);
  withFunctions(cpu);
  // a second address space: the same, but F's page in frame F_REMAPPED
  cpu.write32(OTHER_PD, OTHER_PT | 7);
  for (let i = 0; i < 1024; i++) cpu.write32(OTHER_PT + i * 4, ((i === F >>> 12 ? F_REMAPPED >>> 12 : i) << 12) | 7);
}
const REMAPPED_AT = 1500;
// EBX at the end: ECX counts down, so the rounds from CALLS to REMAPPED_AT call the old frame
const EBX_AT_END = (CALLS - REMAPPED_AT + 1) + 100 * (REMAPPED_AT - 1);
// the remap in a round's tail, after its call: the next round's call is the first to the new frame
const REMAP = `mov $${CALLS}, %ecx\nxor %ebx, %ebx\n1: call ${F}\ncmp $${REMAPPED_AT}, %ecx\njne 2f
movl $${F_REMAPPED | 7}, ${PT + (F >>> 12) * 4}\ninvlpg ${F}\n2: dec %ecx\njnz 1b\nhlt`;
// every round loads CR3 (the first space until REMAPPED_AT, then the other), then calls F; both
// spaces are built before the loop, so that switching moves no TLB generation
const SWITCH = `mov $${OTHER_PD}, %eax\nmov %eax, %cr3\nmov $0x200000, %esi\nmov %esi, %cr3
mov $${CALLS}, %ecx\nxor %ebx, %ebx\n1: mov %esi, %cr3\ncall ${F}\ncmp $${REMAPPED_AT}, %ecx\njne 2f
mov $${OTHER_PD}, %esi\n2: dec %ecx\njnz 1b\nhlt`;

// A loop calls F through EDI 100 times (compiled), then G, whose cache entry holds F's region: the
// link at the call must not enter it
const SHARED_ENTRY = `mov $200, %ecx\nmov $${F}, %edi\nxor %ebx, %ebx\n1: call *%edi\ncmp $101, %ecx\njne 2f
mov $${G}, %edi\n2: dec %ecx\njnz 1b\nhlt`;

describe("links between regions: a cache entry another address shares", () => {
  it.each([["off", withFunctions], ["on", withPagingAndF]])("paging %s: the function at the link's address runs", (_, setup) => {
    const both = runBoth(SHARED_ENTRY, setup);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.regs[3]).toBe(100 + 10000 * 100);
  });
});

describe("links between regions, paging on", () => {
  it("calls and returns across pages: the interpreter's end state, with few entries from the run loop", () => {
    const both = runBoth(CROSS_PAGE, withPaging);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.cpu.core.blockEntriesFromLoop()).toBeLessThan(CALLS / 10);
  });

  it.each([3, 7, 97, 1000, 4093])("slices of %i: the interpreter's state at the end of each", (slice) => {
    expectSameSlices(CROSS_PAGE, slice, withPaging);
  });

  it("a called function rewritten halfway: the new code runs", () => {
    expectAgreement(runBoth(PATCHED, withPaging), L.EXIT_HLT);
  });

  it("the called page remapped halfway (page-table write, INVLPG): the new frame's code runs", () => {
    const both = runBoth(REMAP, withPagingAndF);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.regs[3]).toBe(EBX_AT_END);
  });

  it("the address space switched halfway (another TLB bank): the new frame's code runs", () => {
    const both = runBoth(SWITCH, withPagingAndF);
    expectAgreement(both, L.EXIT_HLT);
    expect(both.compiled.regs[3]).toBe(EBX_AT_END);
  });
});

// A region compiled at CPL 3 links only to regions compiled at CPL 3. H reads a supervisor page:
// compiled at CPL 0 (phase B), its reads pass the TLB's supervisor check; at CPL 3 (phase C) the
// read must fault. Phase A compiles the CPL 3 loop (calling K, a RET) before H is compiled, so
// that in phase C the loop's link is the first to reach H at CPL 3 (the same generation and bank).
describe("links between regions, paging on, across a change of CPL", () => {
  const K = 0x40000, H = 0x42000, SUPERVISOR_DATA = 0x50000, LOOP0 = CODE_BASE + 0x100;
  // (each phase starts at the loop's head, ECX set: in phase C the compiled loop is entered there)
  const loop = (label: string) => `${label}: call *%edi\ndec %ecx\njnz ${label}b\nvmcall`;
  const run = (jit: boolean) => {
    const cpu = new TestCpu(4 << 20, { jit });
    withPaging(cpu);
    cpu.write32(PT + (SUPERVISOR_DATA >>> 12) * 4, SUPERVISOR_DATA | 3);
    cpu.write32(SUPERVISOR_DATA, 5);
    cpu.load(K, assemble("ret", K));
    cpu.load(H, assemble(`add ${SUPERVISOR_DATA}, %ebx\nret`, H));
    cpu.load(CODE_BASE, assemble(loop("1")));
    cpu.load(LOOP0, assemble(loop("2"), LOOP0));
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 14);
    const atCpl = (cpl: 0 | 3, eip: number, edi: number) => {
      cpu.setSegment(L.SR_CS, cpl === 3 ? 0x1b : 0x08, 0, 0xffffffff, cpl === 3 ? AR_CODE3 : AR_CODE0);
      for (const s of [L.SR_DS, L.SR_ES, L.SR_SS]) cpu.setSegment(s, cpl === 3 ? 0x23 : 0x10, 0, 0xffffffff, cpl === 3 ? AR_DATA3 : AR_DATA0);
      cpu.eip = eip;
      cpu.setReg("ecx", 100);
      cpu.setReg("edi", edi);
      return cpu.run();
    };
    const reasons = [atCpl(3, CODE_BASE, K), atCpl(0, LOOP0, H), atCpl(3, CODE_BASE, H)];
    return { cpu, reasons, eip: cpu.eip, regs: REG_NAMES.map((r) => cpu.reg(r)), vector: cpu.vmcs(L.X_INTR_INFO) & 0xff };
  };

  it("H compiled at CPL 0, called at CPL 3: the read faults (#PF) as the interpreter's does", () => {
    const interpreted = run(false), compiled = run(true);
    expect(interpreted.reasons).toEqual([L.EXIT_VMCALL, L.EXIT_VMCALL, L.EXIT_EXCEPTION]);
    expect(interpreted.vector).toBe(14);
    expect(compiled.reasons).toEqual(interpreted.reasons);
    expect(compiled.vector).toBe(14);
    expect(compiled.eip).toBe(interpreted.eip);
    expect(compiled.regs).toEqual(interpreted.regs);
    expect(compiled.cpu.compiler!.compiled).toBeGreaterThan(2);
  });
});
