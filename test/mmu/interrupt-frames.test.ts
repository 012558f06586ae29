// An interrupt's stack frame is written with paging on through the translations its pushes were
// probed with (assembly/cpu/descriptors.ts frameCommitSp, linear.ts writeProbed), except where a
// push lands in a guest page table: there the write must go through translate(), which forgets
// the shadow entries it changes, as any other write to a page table does (tlb.ts: the TLB never
// holds a translation the guest's tables no longer give).
import { describe, it, expect } from "vitest";
import * as L from "../../assembly/vmcs-layout";
import { pmCpu, runAt, setGate, SEL, EXIT, RING0_CODE, loadRing0 } from "../core/pm-fixture";
import { gate, CODE_BASE } from "../core/harness";

const PD = 0x80000;
const PT0 = 0x81000; // maps the first 1 MiB one to one
const DATA = 0x58000;
const P = 1, W = 2;
const pte = (addr: number) => PT0 + (addr >>> 12) * 4;
const ENABLE = `mov $${PD}, %eax\nmov %eax, %cr3\nmov %cr0, %eax\nor $0x80000000, %eax\nmov %eax, %cr0\n`;

function pagedPmCpu(jit: boolean) {
  const cpu = pmCpu({ jit });
  cpu.write32(PD, PT0 | P | W);
  for (let i = 0; i < 256; i++) cpu.write32(PT0 + i * 4, (i << 12) | P | W);
  cpu.write32(DATA, 0x5a5a5a5a);
  cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 14);
  setGate(cpu, 0x40, gate(SEL.CODE0, RING0_CODE, 0xe, 0));
  loadRing0(cpu, `mov ${DATA}, %ebx\nhlt`);
  return cpu;
}

describe.each([false, true])("interrupt frames with paging (compiled code %s)", (jit) => {
  it("a frame on an ordinary page: the handler runs and finds it there", () => {
    const cpu = pagedPmCpu(jit);
    const top = 0x57000;
    expect(runAt(cpu, `${ENABLE}mov ${DATA}, %eax\nmov $${top}, %esp\nint $0x40`)).toBe(EXIT.HLT);
    expect(cpu.reg("ebx")).toBe(0x5a5a5a5a);
    const eipAfterInt = cpu.read32(top - 12);
    expect([cpu.read32(top - 8), cpu.reg("esp")]).toEqual([SEL.CODE0, top - 12]);
    expect(eipAfterInt).toBeGreaterThan(CODE_BASE);
  });

  it("a frame pushed over a page table's entries changes the translation at once", () => {
    const cpu = pagedPmCpu(jit);
    // The read of DATA shadows its PTE (PT0 becomes a tracked page table); then the frame's CS
    // push (selector 0x08: P clear) overwrites that PTE, so the handler's read of DATA faults.
    const source = `${ENABLE}mov ${DATA}, %eax\nmov $${pte(DATA) + 8}, %esp\nint $0x40`;
    expect(runAt(cpu, source)).toBe(EXIT.EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(14);
    expect(cpu.vmcs(L.X_QUALIFICATION)).toBe(DATA);
    expect(cpu.read32(pte(DATA))).toBe(SEL.CODE0);
    expect(cpu.eip).toBe(RING0_CODE); // the handler's read faulted
  });

  it("a frame whose first push rewrites the PTE its last push goes through: the last push follows the new PTE", () => {
    // Linear 0x400000-0x7fffff through PT1 = frame B, which maps itself at 0x402000 (entry 2) and
    // the page below it, 0x401000 (entry 1), to frame F. The frame starts at 0x402008: EFLAGS
    // goes to 0x402004 (entry 1: A's PTE), CS to 0x402000 (entry 0), EIP to 0x401ffc (page A,
    // walked through B only by that push's probe). EFLAGS = 3 (CF, and bit 1, always set) makes
    // A map frame 0: written first, so the EIP push that follows must go to frame 0, as on a CPU
    // that writes the pushes one after the other, not to F, the frame the probe translated to;
    // its walk sets the accessed and dirty bits in the new entry.
    const cpu = pagedPmCpu(jit);
    const B = 0x83000, F = 0x84000;
    cpu.write32(PD + 4, B | P | W);
    cpu.write32(B + 4, F | P | W);
    cpu.write32(B + 8, B | P | W);
    loadRing0(cpu, "mov (%esp), %ebx\nhlt");
    expect(runAt(cpu, `${ENABLE}push $3\npopf\nmov $0x402008, %esp\nint $0x40\nnop`)).toBe(EXIT.HLT);
    expect(cpu.read32(B + 4)).toBe(3 | 0x60);
    expect(cpu.read32(B)).toBe(SEL.CODE0);
    const eipAfterInt = cpu.read32(0xffc);
    expect(eipAfterInt).toBeGreaterThan(CODE_BASE);
    expect([cpu.reg("ebx"), cpu.read32(F + 0xffc), cpu.reg("esp")]).toEqual([eipAfterInt, 0, 0x401ffc]);
  });

  it("a push into a frame that a later push's walk made a page table goes through translate() too", () => {
    // A 16-bit stack based at 0x7ff03c with SP = 4: EFLAGS goes to 0x7ff03c (page 0x7ff000: frame
    // Y, through PT X), then SP wraps and CS and EIP go to 0x80f038 and 0x80f034, through PT Y,
    // whose entry for 0x80f000 (Y + 0x3c) is where EFLAGS went. Y is no page table yet when the
    // EFLAGS push is probed; the CS push's walk makes it one. EFLAGS = 3 maps 0x80f000 to frame
    // 0, so CS and EIP must land there, not in F.
    const cpu = pagedPmCpu(jit);
    const X = 0x83000, Y = 0x84000, F = 0x85000;
    cpu.write32(PD + 4, X | P | W);
    cpu.write32(X + 1023 * 4, Y | P | W);
    cpu.write32(PD + 8, Y | P | W);
    cpu.write32(Y + 0xf * 4, F | P | W);
    cpu.setSegment(L.SR_SS, SEL.DATA0, 0x7ff03c, 0xffff, 0x93);
    cpu.setReg("esp", 4);
    loadRing0(cpu, "mov %ss:(%esp), %ebx\nhlt");
    expect(runAt(cpu, `${ENABLE}mov $1, %ah\nsahf\nint $0x40\nnop`)).toBe(EXIT.HLT);
    expect(cpu.read32(Y + 0xf * 4)).toBe(3 | 0x60);
    const eipAfterInt = cpu.read32(0x34);
    expect(eipAfterInt).toBeGreaterThan(CODE_BASE);
    expect([cpu.read32(0x38), cpu.reg("ebx"), cpu.reg("esp")]).toEqual([SEL.CODE0, eipAfterInt, 0xfff8]);
    expect([cpu.read32(F + 0x34), cpu.read32(F + 0x38)]).toEqual([0, 0]);
  });
});
