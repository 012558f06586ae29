// REP MOVS and REP STOS forward through flat segments move whole runs at once (assembly/cpu/
// string.ts bulk()). The result must be exactly the element-by-element one: across pages, with the
// destination overlapping the source, into a guest page table (whose writes the shadow MMU must
// see), into the write trap, and when a page faults part-way (ECX, ESI, EDI show the progress).
import { describe, it, expect } from "vitest";
import { TestCpu } from "./harness";
import * as L from "../../assembly/vmcs-layout";

const SRC = 0x40000 + 0x234; // not page-aligned: runs end at page boundaries
const DST = 0x60000 + 0x9c0;
const P = 1, W = 2, U = 4;

function pattern(cpu: TestCpu, at: number, dwords: number): void {
  for (let i = 0; i < dwords; i++) cpu.write32(at + 4 * i, (0x9e3779b1 * (i + 1)) >>> 0);
}

describe("REP MOVS / STOS in runs", () => {
  it("REP MOVSD copies 3000 dwords across pages exactly, leaving the byte after alone", () => {
    const cpu = new TestCpu(1 << 20);
    pattern(cpu, SRC, 3001);
    cpu.write32(DST + 3000 * 4, 0x5a5a5a5a);
    cpu.setReg("esi", SRC); cpu.setReg("edi", DST); cpu.setReg("ecx", 3000);
    expect(cpu.exec("cld\nrep movsl\nhlt")).toBe(L.EXIT_HLT);
    for (let i = 0; i < 3000; i++) expect(cpu.read32(DST + 4 * i)).toBe(cpu.read32(SRC + 4 * i));
    expect(cpu.read32(DST + 3000 * 4)).toBe(0x5a5a5a5a);
    expect([cpu.reg("esi"), cpu.reg("edi"), cpu.reg("ecx")]).toEqual([SRC + 12000, DST + 12000, 0]);
  });

  it.each([
    ["rep stosb", 1, 0x5a, 0x5a5a5a5a], ["rep stosw", 2, 0xbeef, 0xbeefbeef], ["rep stosl", 4, 0xdeadbeef, 0xdeadbeef],
  ])("%s fills across pages exactly", (asm, bytes, eax, filled) => {
    const cpu = new TestCpu(1 << 20);
    cpu.write32(DST + 5000, 0x11111111);
    cpu.setReg("eax", eax); cpu.setReg("edi", DST); cpu.setReg("ecx", 5000 / bytes);
    expect(cpu.exec(`cld\n${asm}\nhlt`)).toBe(L.EXIT_HLT);
    for (let i = 0; i < 5000; i += 4) expect(cpu.read32(DST + i)).toBe(filled);
    expect(cpu.read32(DST + 5000)).toBe(0x11111111);
    expect([cpu.reg("edi"), cpu.reg("ecx")]).toEqual([DST + 5000, 0]);
  });

  it("a copy to 8 bytes above its source repeats the first 8 bytes (element by element)", () => {
    const cpu = new TestCpu(1 << 20);
    pattern(cpu, SRC, 64);
    const first = [cpu.read32(SRC), cpu.read32(SRC + 4)];
    cpu.setReg("esi", SRC); cpu.setReg("edi", SRC + 8); cpu.setReg("ecx", 60);
    expect(cpu.exec("cld\nrep movsl\nhlt")).toBe(L.EXIT_HLT);
    for (let i = 0; i < 62; i++) expect(cpu.read32(SRC + 4 * i)).toBe(first[i % 2]);
  });

  it("a copy to 8 bytes below its source moves the data down", () => {
    const cpu = new TestCpu(1 << 20);
    pattern(cpu, SRC, 64);
    const expected = Array.from({ length: 60 }, (_, i) => cpu.read32(SRC + 8 + 4 * i));
    cpu.setReg("esi", SRC + 8); cpu.setReg("edi", SRC); cpu.setReg("ecx", 60);
    expect(cpu.exec("cld\nrep movsl\nhlt")).toBe(L.EXIT_HLT);
    expect(Array.from({ length: 60 }, (_, i) => cpu.read32(SRC + 4 * i))).toEqual(expected);
  });

  it("REP STOSD running into the write trap exits at the first trapped dword, with the progress made", () => {
    const cpu = new TestCpu(1 << 20);
    cpu.setVmcs(L.C_WRITE_TRAP_BASE, 0xb8000);
    cpu.setVmcs(L.C_WRITE_TRAP_SIZE, 0x1000);
    cpu.setReg("eax", 0x07410741); cpu.setReg("edi", 0xb7000); cpu.setReg("ecx", 0x800);
    expect(cpu.exec("cld\nrep stosl\nhlt")).toBe(L.EXIT_WRITE_TRAP);
    expect(cpu.vmcs(L.X_GUEST_PHYSICAL)).toBe(0xb8000);
    expect([cpu.reg("edi"), cpu.reg("ecx")]).toEqual([0xb8000, 0x400]);
    expect(cpu.read32(0xb7ffc)).toBe(0x07410741);
    expect(cpu.read32(0xb8000)).toBe(0);
  });
});

describe("REP MOVS / STOS in runs, with paging", () => {
  const PD = 0x80000, PT = 0x81000;
  const ENABLE = "mov %cr0, %eax\nor $0x80000000, %eax\nmov %eax, %cr0\n";
  function paged(): TestCpu {
    const cpu = new TestCpu(1 << 20);
    cpu.write32(PD, PT | P | W | U);
    for (let i = 0; i < 256; i++) cpu.write32(PT + i * 4, (i << 12) | P | W | U);
    cpu.setVmcs(L.G_CR3, PD);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 14);
    return cpu;
  }

  it("a page fault part-way leaves the first page written and ECX/ESI/EDI at the faulting dword", () => {
    const cpu = paged();
    cpu.write32(PT + 0x61 * 4, 0); // 0x61000 not present
    pattern(cpu, SRC, 1024);
    cpu.setReg("esi", SRC); cpu.setReg("edi", DST); cpu.setReg("ecx", 1000);
    expect(cpu.exec(`${ENABLE}cld\nmov ${SRC}, %eax\nrep movsl\nhlt`)).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.G_CR2)).toBe(0x61000);
    const done = (0x61000 - DST) / 4;
    expect([cpu.reg("esi"), cpu.reg("edi"), cpu.reg("ecx")]).toEqual([SRC + 4 * done, 0x61000, 1000 - done]);
    expect(cpu.read32(0x60ffc)).toBe(cpu.read32(SRC + 4 * (done - 1)));
  });

  it("copying new entries into a page table in use: the guest sees the new mappings", () => {
    const cpu = paged();
    const NEW = 0x70000; // new PTEs for linear 0x50000-0x53fff: frames 0x90000-0x93fff
    for (let i = 0; i < 4; i++) cpu.write32(NEW + 4 * i, ((0x90 + i) << 12) | P | W);
    for (let i = 0; i < 4; i++) { cpu.write32(0x50000 + i * 0x1000, 0x100 + i); cpu.write32(0x90000 + i * 0x1000, 0x200 + i); }
    const read = "mov 0x50000, %ebx\nmov 0x51000, %ebx\nmov 0x52000, %ebx\nmov 0x53000, %edx\n";
    const source = `${ENABLE}${read}mov $${NEW}, %esi\nmov $${PT + 0x50 * 4}, %edi\nmov $4, %ecx\ncld\nrep movsl\n${read}hlt`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect(cpu.reg("edx")).toBe(0x203);
    expect(cpu.vmcs(L.STAT_PT_WRITE_TRAPS)).toBe(4);
  });
});
