import { describe, expect, it } from "vitest";
import * as layout from "../../../assembly/vmcs-layout.js";
import { handleCpuid } from "../../../src/vmm/exits/cpuid.js";
import { handleCrAccess } from "../../../src/vmm/exits/cr-access.js";
import { handleWriteTrap } from "../../../src/vmm/exits/write-trap.js";
import { handleException } from "../../../src/vmm/exits/exception.js";
import { handleExternalInterrupt } from "../../../src/vmm/exits/external-interrupt.js";
import { handleHlt } from "../../../src/vmm/exits/hlt.js";
import { handleIfTrap } from "../../../src/vmm/exits/if-trap.js";
import { handleInterruptWindow } from "../../../src/vmm/exits/interrupt-window.js";
import { handleInvlpg } from "../../../src/vmm/exits/invlpg.js";
import { handleIo } from "../../../src/vmm/exits/io.js";
import { handleRdmsr, handleWrmsr } from "../../../src/vmm/exits/msr.js";
import { handlePreemptionTimer } from "../../../src/vmm/exits/preemption-timer.js";
import { handleRdtsc } from "../../../src/vmm/exits/rdtsc.js";
import { EXIT_REASONS, exitHandlers, exitReason, exitReasonName, handleUnhandledExit } from "../../../src/vmm/exits/table.js";
import { handleTripleFault } from "../../../src/vmm/exits/triple-fault.js";
import { handleVmcall } from "../../../src/vmm/exits/vmcall.js";
import {
  handleVmclear,
  handleVmlaunch,
  handleVmptrld,
  handleVmptrst,
  handleVmread,
  handleVmresume,
  handleVmwrite,
  handleVmxoff,
  handleVmxon,
} from "../../../src/vmm/nested/vmx-instructions.js";
import { handleClgi, handleInvlpga, handleStgi, handleVmload, handleVmmcall, handleVmsave } from "../../../src/vmm/svm/svm-instructions.js";
import { handleVmrun } from "../../../src/vmm/svm/svm-run.js";
import { FakeContext } from "./fake-context.js";

describe("the exit-reason table", () => {
  it.each([
    [0, "EXIT_EXCEPTION", handleException],
    [1, "EXIT_EXTERNAL_INTERRUPT", handleExternalInterrupt],
    [2, "EXIT_TRIPLE_FAULT", handleTripleFault],
    [7, "EXIT_INTERRUPT_WINDOW", handleInterruptWindow],
    [10, "EXIT_CPUID", handleCpuid],
    [12, "EXIT_HLT", handleHlt],
    [14, "EXIT_INVLPG", handleInvlpg],
    [16, "EXIT_RDTSC", handleRdtsc],
    [18, "EXIT_VMCALL", handleVmcall],
    [19, "EXIT_VMCLEAR", handleVmclear],
    [20, "EXIT_VMLAUNCH", handleVmlaunch],
    [21, "EXIT_VMPTRLD", handleVmptrld],
    [22, "EXIT_VMPTRST", handleVmptrst],
    [23, "EXIT_VMREAD", handleVmread],
    [24, "EXIT_VMRESUME", handleVmresume],
    [25, "EXIT_VMWRITE", handleVmwrite],
    [26, "EXIT_VMXOFF", handleVmxoff],
    [27, "EXIT_VMXON", handleVmxon],
    [28, "EXIT_CR_ACCESS", handleCrAccess],
    [30, "EXIT_IO", handleIo],
    [31, "EXIT_RDMSR", handleRdmsr],
    [32, "EXIT_WRMSR", handleWrmsr],
    [48, "EXIT_WRITE_TRAP", handleWriteTrap],
    [52, "EXIT_PREEMPTION_TIMER", handlePreemptionTimer],
    [0x100, "EXIT_CLI", handleIfTrap],
    [0x101, "EXIT_STI", handleIfTrap],
    [0x102, "EXIT_PUSHF", handleIfTrap],
    [0x103, "EXIT_POPF", handleIfTrap],
    [0x104, "EXIT_IRET", handleIfTrap],
    // The SVM instructions: 0x100 + the APM's #VMEXIT code of their intercepts (appendix C)
    [0x17a, "EXIT_SVM_INVLPGA", handleInvlpga],
    [0x180, "EXIT_SVM_VMRUN", handleVmrun],
    [0x181, "EXIT_SVM_VMMCALL", handleVmmcall],
    [0x182, "EXIT_SVM_VMLOAD", handleVmload],
    [0x183, "EXIT_SVM_VMSAVE", handleVmsave],
    [0x184, "EXIT_SVM_STGI", handleStgi],
    [0x185, "EXIT_SVM_CLGI", handleClgi],
  ] as const)("has reason %i (%s) registered under its SDM number", (reason, name, handler) => {
    expect((layout as Record<string, number>)[name]).toBe(reason);
    expect(exitHandlers[reason]).toBe(handler);
  });

  it("has no other entries", () => {
    expect(exitHandlers.filter((h) => h !== undefined)).toHaveLength(36);
  });

  it("derives the handler table and the names from one descriptor per reason", () => {
    expect(new Set(EXIT_REASONS.map((d) => d.reason)).size).toBe(EXIT_REASONS.length);
    for (const descriptor of EXIT_REASONS) {
      expect(exitReason(descriptor.reason)).toBe(descriptor);
      expect(exitHandlers[descriptor.reason]).toBe(descriptor.handler);
      expect(exitReasonName(descriptor.reason)).toBe(descriptor.name);
    }
    expect(exitReason(29)).toBeUndefined();
  });

  it("names reasons for stats, including ones without a handler", () => {
    expect(exitReasonName(30)).toBe("I/O instruction");
    expect(exitReasonName(18)).toBe("VMCALL");
    expect(exitReasonName(20)).toBe("VMLAUNCH");
    expect(exitReasonName(29)).toBe("reason 29"); // MOV DR: never intercepted
    expect(exitReasonName(99)).toBe("reason 99");
    expect(exitReasonName(0x103)).toBe("POPF (trap)");
    expect(exitReasonName(48)).toBe("write trap"); // the SDM's EPT-violation number; there is no EPT
  });

  it("ends the run on a reason without a handler", () => {
    const vm = new FakeContext();
    handleUnhandledExit(vm, 29);
    expect(vm.stops).toEqual([{ kind: "unhandled-exit", reason: 29, name: "reason 29" }]);
  });
});
