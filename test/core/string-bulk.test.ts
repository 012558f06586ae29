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
    expect(cpu.vmcs(L.X_QUALIFICATION)).toBe(0x61000);
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

// REPE/REPNE SCAS and CMPS forward through flat segments compare whole runs of a page at once
// (bulkCompare()). Each case runs forward (in runs) and, on the same elements laid out in reverse,
// backward (DF = 1: element by element), in slices of a few hundred instructions: ECX, the flags
// and the distance EDI (and ESI) moved must be the same at the end of every slice, and the
// instructions retired, so the runs stop where the one-by-one compare stops and count the same.
describe("REPE/REPNE SCAS and CMPS in runs", () => {
  const FORWARD = 0x40000 + 0xf37, BACKWARD = 0x58000 + 0x1c9; // runs cross pages at odd places
  const OTHER = 0x30000; // CMPS's source runs: forward here + 0x0a5 (another page offset), backward + 0x7000
  const SIZES: Record<string, number> = { b: 1, w: 2, l: 4 };

  const swapped = (page: number) => page >= 0x30 && page < 0x60;
  // the elements at linear `at`, `at` + `step`..., byte by byte through the mapping slices() sets up
  function lay(cpu: TestCpu, at: number, step: number, elements: number[], size: number, paged: boolean): void {
    const physical = (linear: number) => (paged && swapped(linear >> 12) ? linear ^ 0x1000 : linear);
    elements.forEach((v, i) => {
      for (let k = 0; k < size; k++) cpu.ram[physical(at + i * step + k)] = (v >>> (8 * k)) & 0xff;
    });
  }

  // `elements` at [EDI] (and `source` at [ESI] for CMPS); the state after each slice of `slice` instructions
  // With `paged`, pages 0x30000-0x5ffff are mapped to their neighbours (0x40000 to 0x41000, ...):
  // a run that goes on past a page's end in linear memory must not go on in the frame.
  function slices(asm: string, accumulator: number, elements: number[], source: number[] | undefined, backward: boolean, slice: number, paged: boolean) {
    const size = SIZES[asm.slice(-1)], step = backward ? -size : size;
    const cpu = new TestCpu(1 << 20);
    let enable = "";
    if (paged) {
      const PD = 0x80000, PT = 0x81000;
      cpu.write32(PD, PT | P | W | U);
      for (let i = 0; i < 256; i++) cpu.write32(PT + i * 4, ((swapped(i) ? i ^ 1 : i) << 12) | P | W | U);
      cpu.setVmcs(L.G_CR3, PD);
      enable = "mov %cr0, %ebx\nor $0x80000000, %ebx\nmov %ebx, %cr0\n";
    }
    const edi = backward ? BACKWARD : FORWARD, esi = OTHER + (backward ? 0x7000 : 0x0a5);
    lay(cpu, edi, step, elements, size, paged);
    if (source) lay(cpu, esi, step, source, size, paged);
    cpu.setReg("eax", accumulator); cpu.setReg("ecx", elements.length); cpu.setReg("edi", edi); cpu.setReg("esi", esi);
    const states: number[][] = [];
    let reason = cpu.exec(`${enable}${backward ? "std" : "cld"}\n${asm}\nhlt`, slice);
    for (;;) {
      const moved = ((cpu.reg("edi") - edi) * (backward ? -1 : 1)) | 0;
      states.push([cpu.reg("ecx"), cpu.eflags & 0x8d5, moved, source ? ((cpu.reg("esi") - esi) * (backward ? -1 : 1)) | 0 : 0, cpu.core.instructionsRetired()]);
      if (reason !== L.EXIT_PREEMPTION_TIMER) break;
      reason = cpu.run(slice);
    }
    expect(reason).toBe(L.EXIT_HLT);
    return states;
  }

  const filler = (n: number, v: number) => Array.from({ length: n }, () => v);
  const noise = (n: number, mask: number) => Array.from({ length: n }, (_, i) => (Math.imul(i + 7, 0x9e3779b1) >>> 13) & mask);
  it.each([
    ["repne scasb", 0x41, [...filler(5000, 0x20), 0x41, 0x42], undefined], // found in the second page
    ["repne scasb", 0x41, filler(3000, 0x7f), undefined], // ECX runs out
    ["repne scasw", 0x8001, [...noise(2500, 0x7fff), 0x8001], undefined],
    ["repe scasl", 0, [...filler(1500, 0), 5], undefined],
    ["repe scasb", 0x33, filler(4100, 0x33), undefined], // equal to the end
    ["repe cmpsb", 0, [...noise(6000, 0xff), 0x10], [...noise(6000, 0xff), 0x90]], // differ at the end
    ["repe cmpsl", 0, noise(1500, 0xffffffff), noise(1500, 0xffffffff)],
    ["repne cmpsw", 0, [...filler(2000, 1), 7], [...filler(2000, 2), 7]],
    ["repe cmpsw", 0, [0x8000, 1], [0x7fff, 1]], // differ at once
  ])("%s, accumulator %i", (asm, accumulator, elements, source) => {
    for (const [slice, paged] of [[100_000, false], [333, false], [100_000, true], [333, true]] as const) {
      const forward = slices(asm, accumulator, elements, source, false, slice, paged);
      expect(forward).toEqual(slices(asm, accumulator, elements, source, true, slice, paged));
    }
  });

  it("REPNE SCASW into a page that is not present faults there, with ECX and EDI at the progress made", () => {
    const PD = 0x80000, PT = 0x81000;
    const cpu = new TestCpu(1 << 20);
    cpu.write32(PD, PT | P | W | U);
    for (let i = 0; i < 256; i++) cpu.write32(PT + i * 4, i === 0x42 ? 0 : (i << 12) | P | W | U);
    cpu.setVmcs(L.G_CR3, PD);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 14);
    const start = 0x40ffe; // a word in the first page, the whole second page, then 0x42000
    cpu.setReg("eax", 0xabcd); cpu.setReg("ecx", 5000); cpu.setReg("edi", start);
    expect(cpu.exec("mov %cr0, %ebx\nor $0x80000000, %ebx\nmov %ebx, %cr0\ncld\nrepne scasw\nhlt")).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_QUALIFICATION)).toBe(0x42000);
    const done = (0x42000 - start) / 2;
    expect([cpu.reg("edi"), cpu.reg("ecx")]).toEqual([0x42000, 5000 - done]);
  });
});
