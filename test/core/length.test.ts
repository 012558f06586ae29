// The 15-byte instruction limit (SDM 2.3.11) needs the length of a prefixed instruction before it
// executes (assembly/cpu/length.ts). For a spread of encodings, GNU as gives the true length; the
// instruction padded with DS prefixes to exactly 15 bytes must run normally, to 16 must #GP(0).
import { describe, it, expect } from "vitest";
import { TestCpu, assemble, CODE_BASE } from "./harness";
import * as L from "../../assembly/vmcs-layout";

const FORMS = [
  "addl $0x12345678, 0x1000(%ebx,%esi,4)", "addw $0x1234, 0x10(%ebx)", "addb $1, (%ebx)", "addl $1, %eax",
  "add $0x12345678, %eax", "add $0x12, %al", "imul $0x1234, %ecx, %edx", "imul $3, %ecx, %edx",
  "movl $0x11223344, 0x20(%ebp)", "movb $7, 0x20(%ebp)", "movw $7, %ax", "mov 0x12345678, %eax",
  "mov %eax, 0x12345678", "shll $3, 0x100(%ebx)", "shldl $4, %ebx, 0x100(%ebx)", "btl $5, 0x100(%ebx)",
  "testl $0x100, 0x8(%ebx)", "testb $1, %al", "notl 0x100(%ebx)", "cmpxchgl %ecx, 0x100(%ebx)",
  "movzbl 0x100(%ebx,%ecx,2), %eax", "nopw 0x0(%eax,%eax,1)", "lea 0x4(%esp), %eax", "push $0x12345678",
  "push $1", "enter $0x10, $0", "movl %eax, %cr0", "movl 4(%esi), %eax", "movl (%ebp), %eax",
  "movl (,%ecx,4), %eax", "movl 0x11223344(,%ecx,4), %eax",
];

// Execute the instruction with `pad` DS prefixes in front; returns the exit reason.
function runPadded(form: string, pad: number): number {
  const cpu = new TestCpu();
  cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13);
  for (const r of ["eax", "ebx", "ecx", "edx", "esi", "ebp"] as const) cpu.setReg(r, 0x4000);
  cpu.setReg("esp", 0x8000);
  cpu.setReg("ebp", 0x4000);
  return cpu.exec(`${".byte 0x3e\n".repeat(pad)}${form}\nhlt`);
}

describe("the 15-byte limit on prefixed instructions", () => {
  it.each(FORMS)("%s", (form) => {
    const length = assemble(form, CODE_BASE).length;
    // mov to CR0 is ring-0-legal; every form runs to the HLT when it fits in 15 bytes
    expect(runPadded(form, 15 - length)).toBe(L.EXIT_HLT);
    expect(runPadded(form, 16 - length)).toBe(L.EXIT_EXCEPTION);
  });
});
