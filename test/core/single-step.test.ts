// EFLAGS.TF: a #DB trap after each instruction that began with TF set (SDM 17.3.1.4). The trap
// is taken with EIP at the next instruction and DR6.BS set; seen here through the exception
// bitmap, which turns the #DB into an exception exit.
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE, assemble } from "./harness";
import * as L from "../../assembly/vmcs-layout";

describe("single-step traps", () => {
  it("the instruction after the POPF that sets TF completes, then #DB is raised", () => {
    const cpu = new TestCpu(1 << 20, { jit: true });
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 1);
    const source = "push $0x102\npopf\nmov $5, %eax\nmov $6, %ebx\nhlt";
    expect(cpu.exec(source)).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO)).toBe((0x80000000 | 0x300 | 1) >>> 0); // #DB, no error code
    expect(cpu.reg("eax")).toBe(5); // the first instruction under TF ran
    expect(cpu.reg("ebx")).toBe(0); // the second did not
    const movEbx = CODE_BASE + assemble("push $0x102\npopf\nmov $5, %eax").length;
    expect(cpu.eip).toBe(movEbx);
    expect(cpu.vmcs(L.G_DR + 6 * 4) & 0x4000).toBe(0x4000); // DR6.BS
  });

  it("without TF nothing traps", () => {
    const cpu = new TestCpu();
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 1);
    expect(cpu.exec("push $0x2\npopf\nmov $5, %eax\nhlt")).toBe(L.EXIT_HLT);
  });
});
