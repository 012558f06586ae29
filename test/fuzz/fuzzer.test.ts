// The fuzzer's own parts: its instructions decode the way it meant them (checked with GNU
// objdump), its checks catch what they are for (memory the guest must not change, exits the
// controls did not ask for), the differential mode's flag masks follow the SDM, and the command
// runs end to end.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it, expect } from "vitest";
import * as L from "../../assembly/vmcs-layout";
import { hostCostProblem } from "../../src/fuzz/case-runner";
import { BareCore, loadCoreModule } from "../../src/fuzz/core-module";
import { TestCpu } from "../core/harness";
import { randomInstruction } from "../../src/fuzz/encodings";
import { checkExit } from "../../src/fuzz/exit-checks";
import { checkCase } from "../../src/fuzz/check-case";
import { execute } from "../../src/fuzz/execute";
import { randomCase } from "../../src/fuzz/random-case";
import { LS_SVM_L2, LS_SVM_RUN_HSAVE, LS_SVM_RUN_VMCB, LS_SVM_VMRUNS_LO, SVM_L2_PLAIN } from "../../assembly/level-switch-layout";
import { ProtectedMemory } from "../../src/fuzz/protected-memory";
import { undefinedAtEnd, userSequence } from "../../src/fuzz/qemu/user-sequence";
import { AF, CF, OF } from "../../src/x86/eflags";
import { Rng } from "../../src/fuzz/rng";

const source = loadCoreModule(new URL("../../build/core.wasm", import.meta.url));

// Offsets at which objdump starts an instruction in `bytes`.
function decodedStarts(bytes: Uint8Array, bits32: boolean): Set<number> {
  const dir = mkdtempSync(join(tmpdir(), "wasmvisor-objdump-"));
  try {
    writeFileSync(join(dir, "code.bin"), bytes);
    const out = execFileSync("objdump", ["-D", "-b", "binary", "-mi386", ...(bits32 ? [] : ["-Maddr16,data16"]), join(dir, "code.bin")], { encoding: "utf8" });
    return new Set([...out.matchAll(/^\s+([0-9a-f]+):\t/gm)].map((m) => parseInt(m[1], 16)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("fuzzer", () => {
  it.each([true, false])("generates instructions that decode to the intended lengths (32-bit code: %s)", (bits32) => {
    const rng = new Rng(42, bits32 ? 1 : 2);
    const starts: number[] = [];
    const bytes: number[] = [];
    for (let i = 0; i < 400; i++) {
      starts.push(bytes.length);
      bytes.push(...randomInstruction(rng, { bits32 }));
    }
    const decoded = decodedStarts(Uint8Array.from(bytes), bits32);
    const agreed = starts.filter((s) => decoded.has(s)).length;
    expect(agreed / starts.length).toBeGreaterThan(0.95);
  });

  describe("the protected-memory check", () => {
    const fresh = (): BareCore => new BareCore(source, 0x20000);
    it.each([
      ["an I/O bitmap byte", (c: BareCore) => { c.bytes[L.IO_BITMAP_B + 5] = 1; }, /I\/O bitmap byte/],
      ["a VMCS control", (c: BareCore) => c.setVmcs(L.C_EXCEPTION_BITMAP, 1), /VMCS field 0x208/],
      ["the core's read-only data", (c: BareCore) => { c.bytes[source.dataSegments[0][0]] ^= 0xff; }, /read-only data/],
      ["the block cache while the compiling tier is off", (c: BareCore) => { c.bytes[c.exports.blockCacheBase() + 100] = 1; }, /block cache/],
      // (a tracked page table's mask is all ones: 3d438dc; no frame is tracked in a fresh core)
      ["a code-page mask watched whole for a frame that is no page table", (c: BareCore) => { c.bytes.fill(0xff, c.exports.codePageMasks() + 8 * 3, c.exports.codePageMasks() + 8 * 4); }, /page 0x3 is all ones, and its frame is no page table/],
      ["a code-page mask partly set", (c: BareCore) => { c.bytes[c.exports.codePageMasks() + 8 * 5 + 2] = 0x10; }, /page 0x5 is neither 0/],
      ["the shadow tables before any shadow was built", (c: BareCore) => { c.bytes[c.exports.ramBase() + c.exports.ramSize() + 64] = 1; }, /shadow tables/],
    ])("notices a change to %s", (_, change, message) => {
      const core = fresh();
      const guard = ProtectedMemory.capture(core);
      change(core);
      expect(guard.violations(false).join("\n")).toMatch(message);
    });

    it("lets a level switch the core made (and only one) write the controls, the TSC offset and EFER", () => {
      const core = fresh();
      const guard = ProtectedMemory.capture(core);
      for (const field of [L.C_EXCEPTION_BITMAP, L.C_CR_INTERCEPTS, L.G_TSC_LO, L.G_EFER]) core.setVmcs(field, 0x1234);
      expect(guard.violations(false).join("\n")).toMatch(/VMCS field/);
      new DataView(core.bytes.buffer, core.exports.levelSwitchArea()).setUint32(LS_SVM_VMRUNS_LO, 1, true);
      expect(guard.violations(false)).toEqual([]);
    });

    it("lets the core write guest state, exit information and statistics", () => {
      const core = fresh();
      const guard = ProtectedMemory.capture(core);
      for (const field of [L.G_EIP, L.G_CR3, L.G_SEG + 12, L.X_REASON, L.X_GUEST_PHYSICAL, L.STAT_TLB_MISSES, L.C_PREEMPTION_TIMER]) core.setVmcs(field, 0x1234);
      expect(guard.violations(false)).toEqual([]);
    });
  });

  describe("the exit checks", () => {
    const exitWith = (reason: number, qualification: number, controls: number): string[] => {
      const core = new BareCore(source, 0x20000);
      core.setVmcs(L.X_REASON, reason);
      core.setVmcs(L.X_QUALIFICATION, qualification);
      core.setVmcs(L.X_INSTRUCTION_LENGTH, 1);
      core.setVmcs(L.C_PRIMARY, controls);
      return checkExit(core, reason);
    };
    it("accepts a HLT exit with HLT exiting and an I/O exit with unconditional I/O exiting", () => {
      expect(exitWith(L.EXIT_HLT, 0, L.CTL_HLT_EXITING)).toEqual([]);
      expect(exitWith(L.EXIT_IO, (0x3f8 << 16) | L.IOQ_IN, L.CTL_UNCONDITIONAL_IO)).toEqual([]);
    });
    it("flags exits the controls did not ask for, bad qualifications and unknown reasons", () => {
      expect(exitWith(L.EXIT_HLT, 0, 0).join()).toMatch(/without HLT exiting/);
      expect(exitWith(L.EXIT_IO, 0x80 << 16, L.CTL_USE_IO_BITMAPS).join()).toMatch(/not in the I\/O bitmaps/);
      expect(exitWith(L.EXIT_IO, 2, L.CTL_UNCONDITIONAL_IO).join()).toMatch(/access size 3/);
      expect(exitWith(L.EXIT_CR_ACCESS, 0x13, 0).join()).toMatch(/MOV from CR/);
      expect(exitWith(99, 0, 0).join()).toMatch(/not one the core produces/);
    });
    it("accepts a VMX instruction's exit only with CR4.VMXE in protected mode and well-formed instruction information", () => {
      const vmxExit = (reason: number, info: number, cr4: number): string[] => {
        const core = new BareCore(source, 0x20000);
        for (const [field, value] of [[L.X_REASON, reason], [L.X_INSTRUCTION_LENGTH, 3], [L.X_INSTRUCTION_INFO, info], [L.G_CR0, 0x80000031], [L.G_CR4, cr4], [L.G_EFLAGS, 2]]) core.setVmcs(field, value);
        return checkExit(core, reason);
      };
      const memory = (1 << 7) | (3 << 15) | L.VMX_INFO_NO_INDEX | L.VMX_INFO_NO_BASE; // [disp32] through DS
      expect(vmxExit(L.EXIT_VMPTRLD, memory, 0x2000)).toEqual([]);
      expect(vmxExit(L.EXIT_VMREAD, L.VMX_INFO_REGISTER | (2 << 3) | (1 << 28), 0x2000)).toEqual([]);
      expect(vmxExit(L.EXIT_VMXOFF, 0, 0x2000)).toEqual([]);
      expect(vmxExit(L.EXIT_VMPTRLD, memory, 0).join()).toMatch(/CR4.VMXE clear/);
      expect(vmxExit(L.EXIT_VMPTRLD, L.VMX_INFO_REGISTER, 0x2000).join()).toMatch(/register-operand/);
      expect(vmxExit(L.EXIT_VMCLEAR, memory | (7 << 15), 0x2000).join()).toMatch(/memory-operand/);
      expect(vmxExit(L.EXIT_VMLAUNCH, memory, 0x2000).join()).toMatch(/without operands/);
    });
    it("accepts an SVM instruction's exit only with EFER.SVME, and but for VMMCALL only in protected mode at CPL 0", () => {
      const svmExit = (reason: number, efer: number, cr0: number, cpl: number): string[] => {
        const core = new BareCore(source, 0x20000);
        for (const [field, value] of [[L.X_REASON, reason], [L.X_INSTRUCTION_LENGTH, 3], [L.G_EFER, efer], [L.G_CR0, cr0], [L.G_CPL, cpl], [L.G_EFLAGS, 2]]) core.setVmcs(field, value);
        return checkExit(core, reason);
      };
      expect(svmExit(L.EXIT_SVM_VMRUN, L.EFER_SVME, 0x11, 0)).toEqual([]);
      expect(svmExit(L.EXIT_SVM_VMMCALL, L.EFER_SVME, 0x10, 3)).toEqual([]);
      expect(svmExit(L.EXIT_SVM_STGI, 0, 0x11, 0).join()).toMatch(/EFER.SVME clear/);
      expect(svmExit(L.EXIT_SVM_VMLOAD, L.EFER_SVME, 0x10, 0).join()).toMatch(/outside protected mode/);
      expect(svmExit(L.EXIT_SVM_INVLPGA, L.EFER_SVME, 0x11, 3).join()).toMatch(/at CPL 3/);
    });
  });

  describe("the level switches the core makes itself", () => {
    it("flags an SVM L2 running with its VMCB or host save area outside RAM, unaligned or one page", () => {
      const runWith = (vmcb: number, hsave: number): string[] => {
        const core = new BareCore(source, 0x20000);
        for (const [field, value] of [[L.X_REASON, L.EXIT_HLT], [L.X_INSTRUCTION_LENGTH, 1], [L.C_PRIMARY, L.CTL_HLT_EXITING], [L.G_EFLAGS, 2]]) core.setVmcs(field, value);
        const area = new DataView(core.bytes.buffer, core.exports.levelSwitchArea());
        for (const [at, value] of [[LS_SVM_L2, SVM_L2_PLAIN], [LS_SVM_RUN_VMCB, vmcb], [LS_SVM_RUN_HSAVE, hsave]]) area.setUint32(at, value, true);
        return checkExit(core, L.EXIT_HLT);
      };
      expect(runWith(0x6000, 0x7000)).toEqual([]);
      for (const [vmcb, hsave] of [[0x20000, 0x7000], [0x6000, 0x7004], [0x6000, 0x6000], [0x6000, 0xfffff000]]) {
        expect(runWith(vmcb, hsave).join()).toMatch(/an SVM L2 runs with its VMCB/);
      }
    });

    it("random cases with them open make SVM L1s' VMRUNs and L2s' CPUID #VMEXITs in the core, which check clean (the compiling tier on and off alike)", () => {
      let switched = 0;
      for (let i = 0; i < 1500 && switched < 8; i++) {
        const c = randomCase(new Rng(5, i));
        if (c.setup.levelSwitch === undefined || execute(source, c, { jit: false }).levelSwitches === 0) continue;
        switched++;
        expect(checkCase(source, c, true).problems).toEqual([]);
      }
      expect(switched).toBe(8);
    }, 60_000);
  });

  describe("the differential mode's undefined flags", () => {
    const seq = (...parts: [string, number, number, number][]) => parts.map(([asm, defines, undefines, reads]) => ({ asm, defines, undefines, reads }));
    it("follows each instruction's defined and undefined flags to the end", () => {
      expect(undefinedAtEnd(seq(["shll $5, %eax", 0xc5, OF | AF, 0]))).toBe(OF | AF);
      expect(undefinedAtEnd(seq(["shll $5, %eax", 0xc5, OF | AF, 0], ["addl %eax, %ebx", 0x8d5, 0, 0]))).toBe(0);
      expect(undefinedAtEnd(seq(["mull %ecx", CF | OF, 0xd4, 0], ["incl %eax", 0x8d4, 0, 0]))).toBe(0);
    });
    it("defines the flags an instruction reads before it reads them", () => {
      for (let i = 0; i < 50; i++) {
        let undefinedFlags = 0;
        for (const instruction of userSequence(new Rng(9, i), 30)) {
          expect(instruction.reads & undefinedFlags, instruction.asm).toBe(0);
          undefinedFlags = (undefinedFlags & ~instruction.defines) | instruction.undefines;
        }
      }
    });
  });

  it("refuses to replay a case it cannot read, in one line with status 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmvisor-fuzz-"));
    try {
      const fuzz = fileURLToPath(new URL("../../dist/fuzz.js", import.meta.url));
      writeFileSync(join(dir, "lone.json"), JSON.stringify({ problem: "x", found: "y", setup: {} })); // no lone.bin
      writeFileSync(join(dir, "broken.json"), "{");
      for (const path of [join(dir, "lone.json"), join(dir, "broken.json"), join(dir, "absent.json")]) {
        const r = spawnSync(process.execPath, [fuzz, "--replay", path], { encoding: "utf8", timeout: 60_000 });
        expect(r.status, path).toBe(2);
        expect(r.stderr, path).toMatch(/^fuzz: cannot replay: .+\n$/);
        expect(r.stdout).toBe("");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs a short campaign from the command line and reports what it did", () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmvisor-fuzz-"));
    try {
      const fuzz = fileURLToPath(new URL("../../dist/fuzz.js", import.meta.url));
      const r = spawnSync(process.execPath, [fuzz, "--seconds", "2", "--seed", "3", "--corpus", dir], { encoding: "utf8", timeout: 60_000 });
      expect([0, 1]).toContain(r.status);
      expect(r.stdout).toMatch(/^\d+ cases, \d+ executions in [\d.]+ s/);
      expect(r.stdout).toMatch(/^exits: .*budget \d+/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The host-cost check (src/fuzz/case-runner.ts): a case may take host time in proportion to the work
// it was allowed, its instruction budgets plus the host work the core charged; the core must
// charge what it does for the guest beyond instructions, or a case that makes it work overruns.
describe("the host-cost check", () => {
  it("allows a base and ~2 us per unit of work, and names an overrun", () => {
    expect(hostCostProblem(40, 0)).toBeUndefined();
    expect(hostCostProblem(2_000, 1_000_000)).toBeUndefined();
    expect(hostCostProblem(5_000, 1_000_000)).toMatch(/^host cost: the guest took 5000 ms .* for 1000000 units of work \(allowed: 2050 ms\)$/);
  });

  it("counts the host work the core does for the guest: compiling a block and building shadows", () => {
    const hostWork = (cpu: TestCpu) => cpu.vmcs(L.STAT_HOST_WORK_LO);
    const compiling = new TestCpu(1 << 20, { jit: true });
    expect(compiling.exec("mov $100, %ecx\n1: add %ecx, %eax\ndec %ecx\njnz 1b\nhlt")).toBe(L.EXIT_HLT);
    expect(compiling.compiler!.compiled).toBe(1);
    expect(hostWork(compiling)).toBe(100_000);

    const paging = new TestCpu(1 << 22);
    const PD = 0x200000, PT = 0x201000;
    paging.write32(PD, PT | 7);
    for (let i = 0; i < 1024; i++) paging.write32(PT + i * 4, (i << 12) | 7);
    paging.setVmcs(L.G_CR3, PD);
    paging.setVmcs(L.G_CR0, 0x80000011);
    expect(paging.exec("mov (0x300000), %eax\nhlt")).toBe(L.EXIT_HLT);
    expect(hostWork(paging)).toBeGreaterThan(0);
  });
});
