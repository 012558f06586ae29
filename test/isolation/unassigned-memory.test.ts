// Guest-physical addresses outside RAM reach the unassigned-memory handler: reads return all ones,
// writes are dropped, whether the address comes straight from the guest (paging off) or out of
// its page tables (a PTE naming a frame beyond RAM, a page table beyond RAM), and an access that
// straddles the end of RAM (or wraps around 4 GiB) keeps the part inside RAM. Instruction fetches
// from there read all ones too (FF FF: #UD). The core counts these accesses (unassignedAccesses in
// assembly/memory/physical.ts); the count is checked once the core exports it.
import { describe, it, expect } from "vitest";
import * as L from "../../assembly/vmcs-layout";
import { TestCpu } from "../core/harness";

const RAM = 1 << 20;
const hex = (v: number): string => (v >>> 0).toString(16);

// Identity-map the first 4 MiB through a page table at 0xc1000 (PD at 0xc0000), then `extra`.
function paging(cpu: TestCpu, extra: (pd: number, pt: number) => void = () => {}): void {
  const PD = 0xc0000, PT = 0xc1000;
  cpu.write32(PD, PT | 7);
  for (let i = 0; i < 1024; i++) cpu.write32(PT + i * 4, (i << 12) | 7);
  extra(PD, PT);
  cpu.setVmcs(L.G_CR3, PD);
  cpu.setVmcs(L.G_CR0, 0x80000011);
}

function run(source: string, setup: (cpu: TestCpu) => void = () => {}): TestCpu {
  const cpu = new TestCpu(RAM);
  setup(cpu);
  expect(cpu.exec(`${source}\nhlt`), "exit reason").toBe(L.EXIT_HLT);
  return cpu;
}

describe("unassigned guest-physical memory", () => {
  it.each([
    ["movl 0x200000, %eax", "ffffffff"],
    ["movzwl 0x200000, %eax", "ffff"],
    ["movzbl 0x7fffffff, %eax", "ff"],
    ["movl 0xfffffffc, %eax", "ffffffff"],
  ])("%s reads all ones", (asm, value) => {
    expect(hex(run(asm).reg("eax"))).toBe(value);
  });

  it("drops writes: what was written beyond RAM reads back as all ones", () => {
    const cpu = run("movl $0x12345678, 0x200000\nmovb $0x12, 0x7fffffff\nmovl 0x200000, %eax\nmovzbl 0x7fffffff, %ebx");
    expect([hex(cpu.reg("eax")), hex(cpu.reg("ebx"))]).toEqual(["ffffffff", "ff"]);
  });

  it("keeps the half of a dword that lies in RAM when it straddles the end", () => {
    const cpu = run(`movl $0xaabbccdd, ${RAM - 2}\nmovl ${RAM - 2}, %eax\nmovl ${RAM - 4}, %ebx`);
    expect(hex(cpu.reg("eax"))).toBe("ffffccdd");
    expect(hex(cpu.reg("ebx"))).toBe("ccdd0000");
  });

  it("wraps a dword at 0xfffffffe around to guest-physical 0", () => {
    const cpu = run("movl $0x4321, 0\nmovl 0xfffffffe, %eax");
    expect(hex(cpu.reg("eax"))).toBe("4321ffff");
  });

  it("reads all ones and drops writes through a PTE that names a frame beyond RAM", () => {
    const cpu = run("movl $0x12345678, 0x3ff000\nmovl 0x3ff000, %eax\nmovl 0x3ff004, %ebx", (c) =>
      paging(c, (_, pt) => c.write32(pt + 0x3ff * 4, (RAM + 0x10000) | 7)));
    expect([hex(cpu.reg("eax")), hex(cpu.reg("ebx"))]).toEqual(["ffffffff", "ffffffff"]);
  });

  it("walks a page table beyond RAM as all ones: a present page beyond RAM, no fault", () => {
    const cpu = run("movl $0x12345678, 0x800000\nmovl 0x800010, %eax", (c) =>
      paging(c, (pd) => c.write32(pd + 2 * 4, 0x7ff00000 | 7)));
    expect(hex(cpu.reg("eax"))).toBe("ffffffff");
  });

  it("fetches all ones beyond RAM: FF FF is #UD, at the address jumped to", () => {
    const cpu = new TestCpu(RAM);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 6);
    expect(cpu.exec("mov $0x200000, %eax\njmp *%eax")).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(6);
    expect(hex(cpu.eip)).toBe("200000");
  });

  const exported = "unassignedAccesses" in new TestCpu(RAM).core;
  it.skipIf(!exported)("counts every access outside RAM (export unassignedAccesses)", () => {
    const cpu = run("movl 0x200000, %eax\nmovl %eax, 0x300000\nmovb 0x400000, %al");
    const count = (cpu.core as unknown as Record<string, unknown>).unassignedAccesses;
    const value = typeof count === "function" ? (count as () => number)() : (count as WebAssembly.Global).value;
    expect(value).toBeGreaterThanOrEqual(3);
  });
});
