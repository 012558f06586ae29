// A guest hypervisor (L1) that points SVM at memory it should not: permission maps that run past
// the end of RAM, a host save area that is the VMCB itself. Each ends as the APM says (a byte of
// a map past RAM reads as ones, as from an empty bus: intercepted) or as a clean stop of the run,
// and L0 writes nothing outside L1's RAM. (VMCB and host save area outside RAM or unaligned:
// svm-instructions.test.ts; inconsistent VMCBs, VMRUN without its intercept and EVENTINJ of no
// event: the VMEXIT_INVALID cases of svm-l2-run.test.ts.)
import { describe, expect, it } from "vitest";
import * as B from "../../../src/vmm/svm/vmcb.js";
import { VMCB, field, or, runSvmL2, set } from "./svm-guest.js";

const IOIO = 0x7b, MSR = 0x7c, VMMCALL = 0x81;
const LAST_PAGE = 0x7ff000; // of the tests' 8 MiB

describe("hostile L1", () => {
  it("an I/O permission map crossing the end of RAM: ports whose bits lie past it are intercepted", async () => {
    const run = await runSvmL2({
      setup: [or(B.INTERCEPTS_1, B.INTERCEPT_IOIO), set(B.IOPM_BASE, LAST_PAGE | 0xabc)], // bits 11:0 are ignored
      l2: ["out %al, $0x80", "mov $0x9000, %dx\nin %dx, %al"],
      onExit: [field(B.EXITINFO1)],
    });
    expect(run.results).toEqual([IOIO, 0x90000111, VMMCALL, 0]); // IN, SZ8, A32, port 9000h
  });

  it("an MSR permission map crossing the end of RAM: MSRs whose bits lie past it are intercepted", async () => {
    const run = await runSvmL2({
      setup: [or(B.INTERCEPTS_1, B.INTERCEPT_MSR), set(B.MSRPM_BASE, LAST_PAGE)],
      l2: ["mov $0x174, %ecx\nrdmsr", "mov $0xc0010117, %ecx\nrdmsr"],
      onExit: [field(B.EXITINFO1)],
    });
    expect(run.results).toEqual([MSR, 0, VMMCALL, 0]);
  });

  it("a host save area that is the VMCB: L1's host state lands in L2's, and the run ends cleanly", async () => {
    const run = await runSvmL2({ setup: [`mov $0xc0010117, %ecx\nmov $${VMCB}, %eax\nxor %edx, %edx\nwrmsr`], l2: ["cpuid"] });
    // L2 starts with L1's state (after its VMRUN), runs L1's loop, and its VMRUN exits to "L1",
    // whose host state is L2's: no defined outcome, but one of the run's ordinary ends.
    expect(["instruction-limit", "guest-exit", "triple-fault", "halted", "exception", "no-progress"]).toContain(run.result.stop.kind);
    expect(run.result.stop.kind).not.toBe("unhandled-exit");
  });
});
