// Binary translation in the core (--if-mode bt, assembly/bt/): the guest kernel's code runs only
// from translations of its blocks, whose sensitive instructions are rewritten to run against the
// virtual CPU; the translations are forgotten when the guest writes to their code. Each test that
// rewrites code makes a stale translation fail loudly: an instruction the old translation took
// for an ordinary one would run deprivileged (CLI and STI raise #GP, the exception exit here).
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE, FLAG, assemble } from "./harness";
import * as L from "../../assembly/vmcs-layout";
import { MODES, cpuIn, vmcs64 as u64 } from "./ifmode-cpu";

const performed = (cpu: TestCpu, kind: number) => u64(cpu, L.STAT_BT_KINDS_LO + 8 * (kind - 1));
const invalidations = (cpu: TestCpu) => u64(cpu, L.STAT_BT_INVALIDATIONS_LO);

describe("the rewrites", () => {
  it("CLI and STI store to the virtual IF with no exit; PUSHF shows it; each is counted", () => {
    const cpu = cpuIn(L.IF_MODE_BT);
    expect(cpu.exec("cli\npushf\npop %eax\nsti\npushf\npop %ebx\nhlt")).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax") & FLAG.IF).toBe(0);
    expect(cpu.reg("ebx") & FLAG.IF).toBe(FLAG.IF);
    expect([L.BT_CLI, L.BT_STI, L.BT_PUSHF, L.BT_POPF].map((k) => performed(cpu, k))).toEqual([1, 1, 2, 0]);
    expect(u64(cpu, L.STAT_BT_BLOCKS_LO)).toBe(1); // one block, up to its HLT
    expect(u64(cpu, L.STAT_BT_BYTES_LO)).toBe(assemble("cli\npushf\npop %eax\nsti\npushf\npop %ebx\nhlt").length);
  });

  it("POPF sets and clears the virtual IF (classic silently keeps the real one)", () => {
    for (const [mode, ifAfter] of [[L.IF_MODE_BT, 0], [L.IF_MODE_CLASSIC, FLAG.IF]] as const) {
      const cpu = cpuIn(mode);
      expect(cpu.exec("push $0x2\npopf\npushf\npop %eax\nhlt")).toBe(L.EXIT_HLT);
      expect(cpu.eflags & FLAG.IF).toBe(ifAfter);
      expect(cpu.reg("eax") & FLAG.IF).toBe(ifAfter);
    }
  });

  // SGDT SIDT SMSW SLDT STR, MOV from CS and SS, PUSH CS, LAR of the kernel's code segment
  const STATE_READS = "sgdt 0x3000\nsidt 0x3010\nsmsw %eax\nmov %cs, %ebx\nmov %ss, %ecx\nlar %ebx, %edx\nsldt %esi\nstr %edi\npush %cs\npop %ebp\nhlt";
  const seen = (mode: keyof typeof MODES) => {
    const cpu = cpuIn(mode);
    expect(cpu.exec(STATE_READS)).toBe(L.EXIT_HLT);
    return { regs: (["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp"] as const).map((r) => cpu.reg(r)), tables: [0x3000, 0x3002, 0x3010, 0x3012].map((a) => cpu.read32(a)), cpu };
  };

  it("SGDT, SIDT, SMSW, SLDT, STR, MOV and PUSH of CS and SS and LAR see the virtual CPU, as under vt", () => {
    const vt = seen(L.IF_MODE_VT);
    const bt = seen(L.IF_MODE_BT);
    expect(bt.regs).toEqual(vt.regs);
    expect(bt.tables).toEqual(vt.tables);
    expect(bt.regs[1] & 3).toBe(0); // CS's RPL
    expect(performed(bt.cpu, L.BT_STATE_READ)).toBe(5);
    expect(performed(bt.cpu, L.BT_SEGMENT_READ)).toBe(3);
    expect(performed(bt.cpu, L.BT_PRIVILEGE_CHECK)).toBe(1);
  });

  it("the same instructions copied as they are would show classic's deprivileged CPU", () => {
    const classic = seen(L.IF_MODE_CLASSIC);
    const vt = seen(L.IF_MODE_VT);
    expect(classic.regs[1] & 3).toBe(1);
    expect(classic.tables).not.toEqual(vt.tables);
  });

  it("IRET is a callout that restores the virtual IF from the frame; LGDT and MOV CR are callouts", () => {
    const cpu = cpuIn(L.IF_MODE_BT, 0x2);
    const source = "sgdt 0x3000\nlgdt 0x3000\nmov %cr0, %eax\npushf\norl $0x200, (%esp)\npush %cs\npush $back\niret\nback:\nhlt";
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect(cpu.eflags & FLAG.IF).toBe(FLAG.IF);
    expect([L.BT_IRET, L.BT_TABLE_LOAD, L.BT_CONTROL_REGISTER].map((k) => performed(cpu, k))).toEqual([1, 1, 1]);
  });

  it("setting the virtual IF while the VMM waits to inject calls out to it (the interrupt-window exit)", () => {
    const cpu = cpuIn(L.IF_MODE_BT, 0x2);
    cpu.setVmcs(L.C_PRIMARY, cpu.vmcs(L.C_PRIMARY) | L.CTL_INTERRUPT_WINDOW);
    expect(cpu.exec("sti\nnop\nnop\nhlt")).toBe(L.EXIT_INTERRUPT_WINDOW);
    expect(cpu.eip).toBe(CODE_BASE + 2); // after STI's shadow
    expect(performed(cpu, L.BT_INTERRUPT_DELIVERY)).toBe(1);
  });

  it("a sensitive instruction with LOCK is #UD under bt as under vt, not rewritten (found by the fuzzer: LOCK STI)", () => {
    for (const source of [".byte 0xf0, 0xfb", ".byte 0xf0, 0xfa", ".byte 0xf0, 0x9c", ".byte 0xf0, 0x0f, 0x01, 0x05, 0, 0x30, 0, 0"]) {
      const ends = ([L.IF_MODE_VT, L.IF_MODE_BT] as const).map((mode) => {
        const cpu = cpuIn(mode, 0x2);
        cpu.setVmcs(L.C_EXCEPTION_BITMAP, cpu.vmcs(L.C_EXCEPTION_BITMAP) | (1 << 6));
        const reason = cpu.exec(`${source}\nhlt`);
        return { reason, vector: cpu.vmcs(L.X_INTR_INFO) & 0xff, eip: cpu.eip, eflags: cpu.eflags };
      });
      expect(ends[0], source).toEqual({ reason: L.EXIT_EXCEPTION, vector: 6, eip: CODE_BASE, eflags: 0x2 });
      expect(ends[1], source).toEqual(ends[0]);
    }
  });

  it("an instruction running past its page is decoded alone, each time it runs", () => {
    const origin = CODE_BASE + 0xffd; // the MOV's 5 bytes cross into the next page
    const cpu = cpuIn(L.IF_MODE_BT);
    cpu.load(origin, assemble("cli\nmov $0x12345678, %eax\nsti\nhlt", origin));
    cpu.eip = origin;
    expect(cpu.run()).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax")).toBe(0x12345678);
    expect(u64(cpu, L.STAT_BT_BLOCKS_LO)).toBe(3); // CLI; the MOV alone; STI HLT
    expect(performed(cpu, L.BT_STI)).toBe(1);
  });
});

describe("code the guest rewrites", () => {
  it("a NOP patched into CLI in a translated block runs as CLI's rewrite", () => {
    const cpu = cpuIn(L.IF_MODE_BT);
    cpu.setReg("ecx", 2); // two rounds of the one block, from its start
    const source = "again:\nsti\nsite:\nnop\npushf\npop %eax\nmovb $0xfa, site\ndec %ecx\njnz again\nhlt";
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax") & FLAG.IF).toBe(0);
    expect(performed(cpu, L.BT_CLI)).toBe(1);
    expect(invalidations(cpu)).toBeGreaterThanOrEqual(1);
  });

  it("a patched jump goes to its new target", () => {
    const cpu = cpuIn(L.IF_MODE_BT);
    const source = [
      "xor %eax, %eax", "mov $2, %ecx",
      "again:", "site:", "jmp first",
      "first:", "add $1, %eax", "jmp join",
      "second:", "add $100, %eax", "cli", "jmp join",
      "join:", "movb $(second - site - 2), site + 1", "dec %ecx", "jnz again", "hlt",
    ].join("\n");
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect(cpu.reg("eax")).toBe(101);
    expect(cpu.eflags & FLAG.IF).toBe(0);
    expect(invalidations(cpu)).toBeGreaterThanOrEqual(1);
  });

  it("a function whose page is overwritten (REP MOVSB) runs its new code", () => {
    const cpu = cpuIn(L.IF_MODE_BT, 0x2);
    const source = [
      "call 0x20000", "mov %eax, %ebx",
      "mov $template, %esi", "mov $0x20000, %edi", "mov $(end - template), %ecx", "cld", "rep movsb",
      "call 0x20000", "hlt",
      "template:", "sti", "mov $2, %eax", "ret", "end:",
    ].join("\n");
    cpu.load(0x20000, assemble("mov $1, %eax\nret", 0x20000));
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect(cpu.reg("ebx")).toBe(1);
    expect(cpu.reg("eax")).toBe(2);
    expect(cpu.eflags & FLAG.IF).toBe(FLAG.IF);
    expect(invalidations(cpu)).toBe(1);
  });

  it("a store into the page tables that maps the block's page elsewhere runs the new page's code (found by the fuzzer)", () => {
    // Identity-mapped 4 MiB; the block's first instruction maps its own page (CODE_BASE) to frame
    // 0x30000, whose NOPs lead to a HLT: the CLI after the store is not the code there, so the
    // stale translation must not run it, as no fetch after the store sees it under vt.
    const ends = ([L.IF_MODE_VT, L.IF_MODE_BT] as const).map((mode) => {
      const cpu = cpuIn(mode);
      cpu.write32(0xc0000, 0xc1000 | 7);
      for (let i = 0; i < 1024; i++) cpu.write32(0xc1000 + i * 4, (i << 12) | 7);
      cpu.setVmcs(L.G_CR3, 0xc0000);
      cpu.setVmcs(L.G_CR0, 0x80000011);
      cpu.load(0x30000, assemble(".fill 32,1,0x90\nhlt", 0x30000));
      const exit = cpu.exec(`movl $0x30007, 0xc1000 + ${(CODE_BASE >>> 12) * 4}\ncli\nhlt`);
      return { exit, eip: cpu.eip, flags: cpu.eflags, cli: performed(cpu, L.BT_CLI) };
    });
    expect(ends[0]).toEqual({ exit: L.EXIT_HLT, eip: CODE_BASE + 32, flags: 0x202, cli: 0 });
    expect(ends[1]).toEqual(ends[0]);
  });

  it("a write the VMM makes into translated code (DMA, the loader) forgets it too", () => {
    const cpu = cpuIn(L.IF_MODE_BT);
    expect(cpu.exec("nop\nhlt")).toBe(L.EXIT_HLT);
    cpu.write8(CODE_BASE, 0xfa); // CLI
    cpu.eip = CODE_BASE;
    expect(cpu.run()).toBe(L.EXIT_HLT);
    expect(cpu.eflags & FLAG.IF).toBe(0);
    expect(invalidations(cpu)).toBe(1);
  });
});
