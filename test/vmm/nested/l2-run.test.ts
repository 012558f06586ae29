// Running L2 on the real core: VM entry from a tiny guest hypervisor (l2-guest.ts), L2's exits
// reflected to L1 when its controls ask for them and handled by L0 otherwise, and entry failures.
import { describe, expect, it } from "vitest";
import { VMCS_FIELD as F } from "../../../src/vmm/nested/vmcs12-fields.js";
import { runL2, read } from "./l2-guest.js";

const CPUID = 10, HLT = 12, VMCALL = 18, CR_ACCESS = 28, IO = 30;

describe("L2 runs under L1's VMCS", () => {
  it("exits L1 asked for come back to its HOST_RIP with reason, qualification and length, and L1 resumes L2", async () => {
    const run = await runL2({
      l2: ["cpuid", "out %al, $0x80", "mov $0x10000, %eax\nmov %eax, %cr3", "mov %cr3, %eax", "hlt"],
      onExit: [read(F.EXIT_QUALIFICATION), read(F.EXIT_INSTRUCTION_LENGTH)],
    });
    expect(run.result.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(run.results).toEqual([
      CPUID, 0, 2,
      IO, 0x00800040, 2, // OUT imm8 to port 0x80, 1 byte
      CR_ACCESS, 0x03, 3, // MOV to CR3 from EAX
      CR_ACCESS, 0x13, 3, // MOV from CR3 to EAX (CR3-store exiting is a default1 control)
      HLT, 0, 1,
      VMCALL, 0, 3,
    ]);
  });
});
