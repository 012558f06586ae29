// Reading the 8-byte entries of the system tables (GDT, LDT, IDT: assembly/cpu/descriptors.ts
// readSystemEntry), which a segment load, INT and IRET do several times each: one translation for
// both dwords, except for an entry that crosses a page, whose halves are translated each on its
// own. And a data-segment load that leaves its register as flat as it was changes nothing that
// compiled code depends on, while one that does not must stop compiled code assuming flat DS.
import { describe, expect, it } from "vitest";
import { descriptor, gate } from "./harness";
import { pmCpu, runAt, vectorTaken, handlerAddr, SEL, EXIT } from "./pm-fixture";
import * as L from "../../assembly/vmcs-layout";

const PD = 0x40000;
const PT = 0x41000;
const P = 1, W = 2;
const WINDOW = 0x50000; // linear pages WINDOW and WINDOW + 0x1000, mapped to two frames apart:
const LOW_FRAME = 0x44000;
const DECOY_FRAME = 0x45000; // the frame after LOW_FRAME, which a read running past the page would take
const HIGH_FRAME = 0x47000;
const ENABLE_PAGING = "mov %cr0, %eax\nor $0x80000000, %eax\nmov %eax, %cr0\n";

/** The protected-mode fixture with the first MiB identity-mapped but for the two window pages. */
function pagedPmCpu() {
  const cpu = pmCpu();
  cpu.write32(PD, PT | P | W);
  for (let i = 0; i < 256; i++) cpu.write32(PT + i * 4, (i << 12) | P | W);
  cpu.write32(PT + (WINDOW >>> 12) * 4, LOW_FRAME | P | W);
  cpu.write32(PT + ((WINDOW >>> 12) + 1) * 4, HIGH_FRAME | P | W);
  for (let i = 0; i < 1024; i++) cpu.write32(DECOY_FRAME + i * 4, 0xdeadbeef);
  cpu.setVmcs(L.G_CR3, PD);
  return cpu;
}

/** Puts an 8-byte entry at linear WINDOW + 0xffc, its low dword in one frame and its high in the other. */
function straddle(cpu: ReturnType<typeof pmCpu>, [lo, hi]: [number, number]): number {
  cpu.write32(LOW_FRAME + 0xffc, lo);
  cpu.write32(HIGH_FRAME, hi);
  return WINDOW + 0xffc;
}

describe("system-table entries", () => {
  it("a GDT descriptor that crosses a page is read, and marked accessed, through both pages' mappings", () => {
    const cpu = pagedPmCpu();
    const at = straddle(cpu, descriptor(0x123400, 0xfffff, 0x92, 0xc));
    cpu.setVmcs(L.G_GDTR_BASE, at - 8); // selector 0x08's entry straddles
    cpu.setVmcs(L.G_GDTR_LIMIT, 0xf);
    expect(runAt(cpu, `${ENABLE_PAGING}mov $0x08, %ax\nmov %ax, %ds\nhlt`)).toBe(EXIT.HLT);
    expect(cpu.segment(L.SR_DS)).toEqual({ selector: 0x08, base: 0x123400, limit: 0xffffffff, ar: 0xc093 });
    expect(cpu.read32(HIGH_FRAME) >>> 8 & 1).toBe(1); // the accessed bit, in the high dword's frame
    expect(cpu.read32(DECOY_FRAME)).toBe(0xdeadbeef);
  });

  it("an IDT gate that crosses a page is read through both pages' mappings", () => {
    const cpu = pagedPmCpu();
    const at = straddle(cpu, gate(SEL.CODE0, handlerAddr(3), 0xe, 0));
    cpu.setVmcs(L.G_IDTR_BASE, at - 3 * 8); // vector 3's gate straddles
    cpu.setVmcs(L.G_IDTR_LIMIT, 4 * 8 - 1);
    expect(runAt(cpu, `${ENABLE_PAGING}int3\nhlt`)).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(3);
  });

  it("a descriptor read that faults leaves the segment register as it was", () => {
    const cpu = pagedPmCpu();
    cpu.write32(PT + ((WINDOW >>> 12) + 1) * 4, 0); // the high half's page not present
    straddle(cpu, descriptor(0x123400, 0xfffff, 0x92, 0xc));
    cpu.setVmcs(L.G_GDTR_BASE, WINDOW + 0xffc - 8);
    cpu.setVmcs(L.G_GDTR_LIMIT, 0xf);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 14); // the #PF exits (the moved GDT has no code segment to deliver it through)
    const before = cpu.segment(L.SR_DS);
    expect(runAt(cpu, `${ENABLE_PAGING}mov $0x08, %ax\nmov %ax, %ds\nhlt`)).toBe(EXIT.EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(14);
    expect(cpu.vmcs(L.X_QUALIFICATION)).toBe(WINDOW + 0x1000);
    expect(cpu.segment(L.SR_DS)).toEqual(before);
  });
});

describe("data-segment loads and compiled code", () => {
  it("a hot block reloading flat DS stays compiled, and stops assuming DS flat once it loads a DS with a limit", () => {
    const cpu = pmCpu({ jit: true });
    cpu.setReg("ecx", 2000);
    cpu.setReg("edx", SEL.DATA0);
    cpu.write32(0x2000, 0x600d);
    // The loop's block loads DS from DX and reads beyond 4 KiB. Near the end DX becomes
    // SMALLSTACK0 (base 0, limit 0xFFF): the next pass's read of 0x2000 must fault (#GP, vector
    // 13), which compiled code still assuming a flat DS would not.
    const code = `
      loop: mov %dx, %ds
            mov 0x2000, %ebx
            cmp $2, %ecx
            jne next
            mov $${SEL.SMALLSTACK0}, %dx
      next: dec %ecx
            jnz loop
            hlt`;
    expect(runAt(cpu, code)).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(13);
    expect(cpu.reg("ecx")).toBe(1);
    expect(cpu.segment(L.SR_DS).limit).toBe(0xfff);
    expect(cpu.vmcs(L.STAT_COMPILED_INSTRUCTIONS_LO)).toBeGreaterThan(5000); // the loop ran compiled
  });
});
