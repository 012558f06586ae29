import { describe, expect, it } from "vitest";
import * as layout from "../../../assembly/vmcs-layout.js";
import { handleCpuid } from "../../../src/vmm/exits/cpuid.js";
import { handleException } from "../../../src/vmm/exits/exception.js";
import { handleHlt } from "../../../src/vmm/exits/hlt.js";
import { handleIo } from "../../../src/vmm/exits/io.js";
import { handleRdmsr, handleWrmsr } from "../../../src/vmm/exits/msr.js";
import { handlePreemptionTimer } from "../../../src/vmm/exits/preemption-timer.js";
import { exitHandlers, exitReasonName, handleUnhandledExit } from "../../../src/vmm/exits/table.js";
import { handleTripleFault } from "../../../src/vmm/exits/triple-fault.js";
import { FakeContext } from "./fake-context.js";

describe("the exit-handler table", () => {
  it.each([
    [0, "EXIT_EXCEPTION", handleException],
    [2, "EXIT_TRIPLE_FAULT", handleTripleFault],
    [10, "EXIT_CPUID", handleCpuid],
    [12, "EXIT_HLT", handleHlt],
    [30, "EXIT_IO", handleIo],
    [31, "EXIT_RDMSR", handleRdmsr],
    [32, "EXIT_WRMSR", handleWrmsr],
    [52, "EXIT_PREEMPTION_TIMER", handlePreemptionTimer],
  ] as const)("has reason %i (%s) registered under its SDM number", (reason, name, handler) => {
    expect((layout as Record<string, number>)[name]).toBe(reason);
    expect(exitHandlers[reason]).toBe(handler);
  });

  it("has no other entries", () => {
    expect(exitHandlers.filter((h) => h !== undefined)).toHaveLength(8);
  });

  it("names reasons for stats, including ones without a handler", () => {
    expect(exitReasonName(30)).toBe("I/O instruction");
    expect(exitReasonName(18)).toBe("VMCALL");
    expect(exitReasonName(20)).toBe("VMX instruction");
    expect(exitReasonName(99)).toBe("reason 99");
  });

  it("ends the run on a reason without a handler", () => {
    const vm = new FakeContext();
    handleUnhandledExit(vm, 18);
    expect(vm.stops).toEqual([{ kind: "unhandled-exit", reason: 18, name: "VMCALL" }]);
  });
});
