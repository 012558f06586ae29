// The write trap (C_WRITE_TRAP_BASE/SIZE): writes into the range exit (EXIT_WRITE_TRAP, reason 48)
// before they happen, with the guest-physical address; reads do not exit; emulate() lets the one
// trapped write through and notes the bytes it wrote. Each page of the range can be released
// (writes go through) and protected again: the dirty log of --display-update dirty-log. This is
// what src/vmm/display-update.ts is built on.
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE } from "./harness";
import * as L from "../../assembly/vmcs-layout";

function trapped(jit = false): TestCpu {
  const cpu = new TestCpu(1 << 20, { jit });
  cpu.setVmcs(L.C_WRITE_TRAP_BASE, 0xb8000);
  cpu.setVmcs(L.C_WRITE_TRAP_SIZE, 0x8000);
  return cpu;
}

describe("write trap", () => {
  it.each([
    ["movl $0x0741, 0xb8000", 0xb8000],
    ["movb $0x41, 0xbffff", 0xbffff],
    ["mov $0xb8010, %edi\nmovw $0x1f41, (%edi)", 0xb8010],
    ["mov $0xb8100, %esp\npush $1", 0xb80fc],
    ["mov $0xb8000, %edi\nmov $4, %ecx\nrep stosl", 0xb8000],
    ["addl $1, 0xb8004", 0xb8004],
  ])("%s exits before writing", (asm, address) => {
    const cpu = trapped();
    cpu.write32(address & ~3, 0x12345678);
    const before = cpu.read32(address & ~3);
    expect(cpu.exec(`${asm}\nhlt`)).toBe(L.EXIT_WRITE_TRAP);
    expect(cpu.qualification & 2).toBe(2);
    expect(cpu.vmcs(L.X_GUEST_PHYSICAL)).toBe(address);
    expect(cpu.read32(address & ~3)).toBe(before);
  });

  it("a write just below the range and any read do not exit", () => {
    const cpu = trapped();
    expect(cpu.exec("movl $1, 0xb7ffc\nmov 0xb8000, %eax\nhlt")).toBe(L.EXIT_HLT);
  });

  it("emulate() completes the trapped write and the guest runs on", () => {
    const cpu = trapped();
    expect(cpu.exec("movw $0x0741, 0xb8000\nmov $1, %eax\nhlt")).toBe(L.EXIT_WRITE_TRAP);
    expect(cpu.eip).toBe(CODE_BASE);
    expect(cpu.core.emulate()).toBe(L.EXIT_PREEMPTION_TIMER);
    expect(cpu.read8(0xb8000)).toBe(0x41);
    expect(cpu.run()).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax")).toBe(1);
  });

  it("compiled blocks leave trapped writes to the interpreter", () => {
    const cpu = trapped(true);
    const loop = "mov $100, %ecx\n1: add $1, %eax\ndec %ecx\njnz 1b\nmov %eax, 0xb8000\nhlt";
    expect(cpu.exec(loop)).toBe(L.EXIT_WRITE_TRAP);
    expect(cpu.reg("eax")).toBe(100);
    expect(cpu.compiler!.compiled).toBeGreaterThan(0);
  });

  describe("page protection (the dirty log)", () => {
    it("a released page takes writes without exiting; its neighbours still exit", () => {
      const cpu = trapped();
      cpu.core.releaseTrappedPage(0xb9004);
      expect(cpu.exec("movl $0x11223344, 0xb9ffc\nhlt")).toBe(L.EXIT_HLT);
      expect(cpu.read32(0xb9ffc)).toBe(0x11223344);
      expect(cpu.exec("movl $1, 0xba000\nhlt")).toBe(L.EXIT_WRITE_TRAP);
      expect(cpu.exec("movl $1, 0xb8ffc\nhlt")).toBe(L.EXIT_WRITE_TRAP);
    });

    it("protectTrappedPages() makes the next write to a released page exit again", () => {
      const cpu = trapped();
      cpu.core.releaseTrappedPage(0xb8000);
      expect(cpu.exec("movl $1, 0xb8000\nhlt")).toBe(L.EXIT_HLT);
      cpu.core.protectTrappedPages();
      expect(cpu.exec("movl $2, 0xb8000\nhlt")).toBe(L.EXIT_WRITE_TRAP);
      expect(cpu.read32(0xb8000)).toBe(1);
    });

    it("a write that ends on a protected page exits though it starts on a released one", () => {
      const cpu = trapped();
      cpu.core.releaseTrappedPage(0xb8000);
      expect(cpu.exec("movl $0x11223344, 0xb8ffe\nhlt")).toBe(L.EXIT_WRITE_TRAP);
      expect(cpu.read32(0xb8ffc)).toBe(0);
      cpu.core.releaseTrappedPage(0xb9000);
      expect(cpu.run()).toBe(L.EXIT_HLT);
      expect(cpu.read32(0xb8ffe)).toBe(0x11223344);
    });

    it.each([false, true])("REP STOS fills released pages at once and stops at the first protected page (jit %s)", (jit) => {
      const cpu = trapped(jit);
      cpu.core.releaseTrappedPage(0xb8000);
      const fill = "mov $0xb8000, %edi\nmov $0x41414141, %eax\nmov $2048, %ecx\ncld\nrep stosl\nhlt";
      expect(cpu.exec(fill)).toBe(L.EXIT_WRITE_TRAP);
      expect(cpu.vmcs(L.X_GUEST_PHYSICAL)).toBe(0xb9000);
      expect(cpu.read32(0xb8ffc)).toBe(0x41414141);
      expect(cpu.read32(0xb9000)).toBe(0);
      cpu.core.releaseTrappedPage(0xb9000);
      expect(cpu.run()).toBe(L.EXIT_HLT);
      expect(cpu.read32(0xb9ffc)).toBe(0x41414141);
      expect(cpu.reg("ecx")).toBe(0);
    });

    it("compiled code writing a released page runs on without exits", () => {
      const cpu = trapped(true);
      cpu.core.releaseTrappedPage(0xb8000);
      expect(cpu.exec("mov $500, %ecx\n1: mov %ecx, 0xb8000(,%ecx,4)\ndec %ecx\njnz 1b\nhlt")).toBe(L.EXIT_HLT);
      expect(cpu.read32(0xb8000 + 4 * 500)).toBe(500);
      expect(cpu.compiler!.compiled).toBeGreaterThan(0);
    });
  });

  describe("what emulate() wrote", () => {
    it.each([
      ["movl $0x0741, 0xb8010", 0xb8010, 0xb8014],
      ["movb $0x41, 0xbffff", 0xbffff, 0xc0000],
      ["movl $1, 0xb7ffe", 0xb8000, 0xb8002],
    ])("%s: the bytes of the range it wrote", (asm, start, end) => {
      const cpu = trapped();
      expect(cpu.exec(`${asm}\nhlt`)).toBe(L.EXIT_WRITE_TRAP);
      expect(cpu.core.emulate()).toBe(L.EXIT_PREEMPTION_TIMER);
      expect([cpu.core.emulatedWriteStart(), cpu.core.emulatedWriteEnd()]).toEqual([start, end]);
    });

    it("REP STOSW: the emulated steps together cover every byte it wrote", () => {
      const cpu = trapped();
      expect(cpu.exec("mov $0xb8020, %edi\nmov $3, %ecx\ncld\nrep stosw\nhlt")).toBe(L.EXIT_WRITE_TRAP);
      let low = Infinity, high = 0;
      while (cpu.exitReason === L.EXIT_WRITE_TRAP) {
        expect(cpu.core.emulate()).toBe(L.EXIT_PREEMPTION_TIMER);
        low = Math.min(low, cpu.core.emulatedWriteStart());
        high = Math.max(high, cpu.core.emulatedWriteEnd());
        cpu.run();
      }
      expect(cpu.exitReason).toBe(L.EXIT_HLT);
      expect([low, high]).toEqual([0xb8020, 0xb8026]);
    });

    it("an instruction that wrote nothing in the range reports an empty span", () => {
      const cpu = trapped();
      expect(cpu.exec("movl $1, 0xb8000\nhlt")).toBe(L.EXIT_WRITE_TRAP);
      cpu.eip = CODE_BASE + 100;
      cpu.load(CODE_BASE + 100, new Uint8Array([0x90])); // NOP
      cpu.core.emulate();
      expect(cpu.core.emulatedWriteEnd() - cpu.core.emulatedWriteStart()).toBe(0);
    });
  });
});
