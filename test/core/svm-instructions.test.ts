// The SVM instructions' checks in the core (assembly/cpu/svm-instructions.ts) against the APM's
// exception tables (Vol. 3: VMRUN, VMLOAD, VMSAVE, VMMCALL, STGI, CLGI, SKINIT, INVLPGA; Vol. 2
// 15.9: intercepts come after these checks): #UD with EFER.SVME clear, in real mode (not VMMCALL)
// and for SKINIT, which is not offered; #GP(0) at CPL > 0 (not VMMCALL); otherwise an exit to the
// VMM numbered 0x100 + the APM's exit code, with EIP on the instruction and its length, 3.
import { describe, expect, it } from "vitest";
import * as L from "../../assembly/vmcs-layout";
import { LS_INTERRUPTS_WAIT, LS_SVM_GIF_CLEAR } from "../../assembly/level-switch-layout";
import { CODE_BASE, assemble } from "./harness";
import { EXIT, RING3_STACK, SEL, enterRing3, pmCpu, runAt, stack, vectorTaken } from "./pm-fixture";

const INSTRUCTIONS = [
  ["VMRUN", 0xd8, L.EXIT_SVM_VMRUN],
  ["VMMCALL", 0xd9, L.EXIT_SVM_VMMCALL],
  ["VMLOAD", 0xda, L.EXIT_SVM_VMLOAD],
  ["VMSAVE", 0xdb, L.EXIT_SVM_VMSAVE],
  ["STGI", 0xdc, L.EXIT_SVM_STGI],
  ["CLGI", 0xdd, L.EXIT_SVM_CLGI],
  ["INVLPGA", 0xdf, L.EXIT_SVM_INVLPGA],
] as const;

const bytes = (last: number) => `.byte 0x0f, 0x01, ${last}`;

/** `interruptsWait`: the VMM has an interrupt waiting, so that STGI and CLGI exit (else they complete in the core). */
function svmCpu(svme: boolean, interruptsWait = true) {
  const cpu = pmCpu();
  cpu.setVmcs(L.G_EFER, svme ? L.EFER_SVME : 0);
  cpu.u32[(cpu.core.levelSwitchArea() + LS_INTERRUPTS_WAIT) >> 2] = interruptsWait ? 1 : 0;
  return cpu;
}

describe("the SVM instructions in the core", () => {
  it.each(INSTRUCTIONS)("%s exits with the APM's code + 0x100 once EFER.SVME is set, at CPL 0", (_name, last, reason) => {
    const cpu = svmCpu(true);
    expect(runAt(cpu, bytes(last))).toBe(reason);
    expect(cpu.eip).toBe(CODE_BASE);
    expect(cpu.vmcs(L.X_INSTRUCTION_LENGTH)).toBe(3);
    expect(cpu.vmcs(L.X_QUALIFICATION)).toBe(0);
  });

  it("STGI and CLGI with no interrupt waiting set and clear GIF in the core, with no exit (a virtual GIF)", () => {
    const cpu = svmCpu(true, false);
    const gifClear = () => cpu.u32[(cpu.core.levelSwitchArea() + LS_SVM_GIF_CLEAR) >> 2];
    expect(runAt(cpu, `${bytes(0xdd)}\nhlt`)).toBe(L.EXIT_HLT);
    expect(gifClear()).toBe(1);
    expect(runAt(cpu, `${bytes(0xdc)}\nhlt`)).toBe(L.EXIT_HLT);
    expect(gifClear()).toBe(0);
  });

  it("numbers the exits as the APM's #VMEXIT codes: VMRUN 80h ... CLGI 85h, INVLPGA 7Ah", () => {
    expect(INSTRUCTIONS.map(([, , reason]) => reason - 0x100)).toEqual([0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x7a]);
  });

  it.each([...INSTRUCTIONS, ["SKINIT", 0xde, 0]] as const)("%s is #UD with EFER.SVME clear, as on a CPU without SVM", (_name, last) => {
    const cpu = svmCpu(false);
    expect(runAt(cpu, bytes(last))).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(6);
    expect(stack(cpu, 2)).toEqual([CODE_BASE, SEL.CODE0]);
  });

  it("SKINIT is #UD with SVME set too: it is not offered", () => {
    const cpu = svmCpu(true);
    expect(runAt(cpu, bytes(0xde))).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(6);
  });

  it.each(INSTRUCTIONS)("%s at CPL 3: #GP(0), but VMMCALL exits (any level may call its hypervisor)", (name, last, reason) => {
    const cpu = svmCpu(true);
    enterRing3(cpu);
    if (name === "VMMCALL") {
      expect(runAt(cpu, bytes(last))).toBe(reason);
      expect(cpu.eip).toBe(CODE_BASE);
      return;
    }
    expect(runAt(cpu, bytes(last))).toBe(EXIT.HLT);
    expect(vectorTaken(cpu)).toBe(13);
    expect(stack(cpu, 6)).toEqual([0, CODE_BASE, SEL.CODE3, 0x2, RING3_STACK, SEL.DATA3]);
  });

  it.each(INSTRUCTIONS)("%s in real mode: #UD, but VMMCALL exits", (name, last, reason) => {
    const cpu = svmCpu(true);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 6);
    cpu.setVmcs(L.G_CR0, 0x10);
    cpu.setSegment(L.SR_CS, CODE_BASE >> 4, CODE_BASE, 0xffff, 0x9b);
    cpu.setSegment(L.SR_SS, 0, 0, 0xffff, 0x93);
    cpu.setReg("esp", 0x8000);
    cpu.load(CODE_BASE, assemble(bytes(last)));
    cpu.eip = 0;
    const exit = cpu.run(100);
    expect(cpu.eip).toBe(0);
    if (name === "VMMCALL") return expect(exit).toBe(reason);
    expect(exit).toBe(EXIT.EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO) & 0xff).toBe(6);
  });
});
