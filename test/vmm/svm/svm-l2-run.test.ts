// Running L2 under SVM on the real core: VMRUN from a tiny guest hypervisor (svm-guest.ts), each
// #VMEXIT L1 intercepts with the APM's exit code (Vol. 2 appendix C), EXITINFO1/2 and nRIP, and
// what L1 does not intercept handled by L0 while L2 goes on.
import { describe, expect, it } from "vitest";
import * as B from "../../../src/vmm/svm/vmcb.js";
import { record } from "../nested/vmx-guest.js";
import { GP } from "../nested/vmx-guest.js";
import { field, mapBit, or, runSvmL2, set, IOPM, L2_STACK, MSRPM, VMCB } from "./svm-guest.js";

const GP_RECORD = GP;
const EXCEPTION = 0x40;

const CPUID = 0x72, HLT = 0x78, IOIO = 0x7b, MSR = 0x7c, VMMCALL = 0x81, CR0_READ = 0x00, CR3_WRITE = 0x13;

/** Records EXITINFO1, nRIP - RIP (the instruction's length) and whether EXITINFO2 is nRIP (IOIO's). */
const INFO = [
  field(B.EXITINFO1),
  `mov ${VMCB + B.NRIP}, %ebx\nsub ${VMCB + B.SAVE_RIP}, %ebx\n${record("%ebx")}`,
  `mov ${VMCB + B.EXITINFO2}, %ebx\ncmp ${VMCB + B.NRIP}, %ebx\nsete %bl\nmovzbl %bl, %ebx\n${record("%ebx")}`,
];

describe("L2 under SVM", () => {
  it("intercepted CPUID, IOIO, MSR, CR accesses and HLT exit to L1 with the APM's codes, EXITINFO1/2 and nRIP", async () => {
    const run = await runSvmL2({
      setup: [
        or(B.INTERCEPTS_1, B.INTERCEPT_CPUID | B.INTERCEPT_HLT | B.INTERCEPT_IOIO | B.INTERCEPT_MSR),
        set(B.CR_INTERCEPTS, (1 << 0) | (1 << 19)), // CR0 reads, CR3 writes
        mapBit(IOPM, 0x80), mapBit(IOPM, 0x71), mapBit(MSRPM, 0x174 * 2 + 1),
      ],
      l2: [
        "cpuid", "out %al, $0x80", "mov $0x70, %dx\nout %ax, %dx", "in $0x81, %al", "mov $0x174, %ecx\nrdmsr", "mov $0x174, %ecx\nwrmsr",
        "mov %cr0, %ecx", "mov %cr3, %ecx\nmov %ecx, %cr3", "hlt",
      ],
      onExit: INFO,
    });
    expect(run.result.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(run.results).toEqual([
      CPUID, 0, 2, 0,
      IOIO, 0x00800110, 2, 1, // OUT imm8 to port 80h: SZ8, A32; EXITINFO2 = nRIP
      IOIO, 0x00700120, 2, 1, // OUT DX (70h), 16 bits: port 71h's bit decides
      MSR, 1, 2, 0, // WRMSR 174h (its read is L0's: the read bit is clear)
      CR0_READ, 0, 3, 0, // no decode assists: EXITINFO1 0
      CR3_WRITE, 0, 3, 0, // the CR3 read was not intercepted
      HLT, 0, 1, 0,
      VMMCALL, 0, 3, 0,
    ]);
  });
});

const PF_VECTOR = 14, UD_VECTOR = 6, INTR = 0x60, INVALID = 0xffffffff;

describe("L2 under SVM: exceptions, events and interrupts", () => {
  it("exceptions by L1's exception intercepts: #UD and #PF with its error code and address; others are L2's own", async () => {
    const run = await runSvmL2({
      setup: [set(B.EXCEPTION_INTERCEPTS, (1 << UD_VECTOR) | (1 << PF_VECTOR))],
      l2: ["mov $1f, %esi\nud2\n1:", "mov $2f, %esi\nmov 0x800000, %eax\n2:", "movl $3f, 0x4ff0\nmov $0x12345, %ecx\nwrmsr\n3:"],
      onExit: [field(B.EXITINFO1), field(B.EXITINFO2), `mov ${VMCB + B.NRIP}, %ebx\ntest %ebx, %ebx\nsetz %bl\nmovzbl %bl, %ebx\n${record("%ebx")}`],
    });
    expect(run.results).toEqual([
      EXCEPTION + UD_VECTOR, 0, 0, 1, // no nRIP for an exception
      EXCEPTION + PF_VECTOR, 0, 0x800000, 1, // error code 0: a read of a page not present; EXITINFO2 its address
      GP_RECORD, // WRMSR to no MSR: L0's #GP, through L2's IDT (L1's handler, as L2 shares its IDT)
      VMMCALL, 0, 0, 0,
    ]);
  });

  it("a #PF L1 intercepts leaves L2's CR2 alone (APM 15.12); one L2 takes sets it", async () => {
    const run = await runSvmL2({
      setup: [set(B.EXCEPTION_INTERCEPTS, 1 << PF_VECTOR), set(B.SAVE_CR2, 0x5678)],
      l2: ["mov $1f, %esi\nmovl $1, 0x900004\n1:", "mov %cr2, %eax"],
      onExit: [field(B.EXITINFO1), field(B.EXITINFO2), field(B.SAVE_CR2)],
      after: [field(B.SAVE_RAX)],
    });
    expect(run.results).toEqual([EXCEPTION + PF_VECTOR, 2, 0x900004, 0x5678, VMMCALL, 0, 0, 0x5678, 0x5678]);
  });

  it("EVENTINJ: a software interrupt goes through L2's IDT at the VMCB's RIP, and the valid bit is clear after the #VMEXIT", async () => {
    const run = await runSvmL2({
      setup: [
        // Vector 0x40's gate points at l2int, which calls L1 with EAX = 0x77.
        "mov $l2int, %eax\nmov %ax, 0x3200\nmovw $8, 0x3202\nmovw $0x8e00, 0x3204\nshr $16, %eax\nmov %ax, 0x3206",
        set(B.EVENTINJ, (B.EVENT_VALID | (B.EVENT_TYPE_SOFTWARE_INT << 8) | 0x40) >>> 0),
      ],
      l2: [],
      extra: ["l2int:", "mov $0x77, %eax\nvmmcall"],
      onExit: [field(B.SAVE_RAX), field(B.EVENTINJ), `mov ${L2_STACK - 12}, %ebx\ncmp $l2, %ebx\nsete %bl\nmovzbl %bl, %ebx\n${record("%ebx")}`],
    });
    // The interrupt pushed the VMCB's RIP (label l2, whose VMMCALL never ran), not the RIP after an INT n.
    expect(run.results).toEqual([VMMCALL, 0x77, 0x40 | (B.EVENT_TYPE_SOFTWARE_INT << 8), 1]);
  });

  it("an injected #GP pushes its error code", async () => {
    const run = await runSvmL2({
      setup: [
        "mov $l2gp, %eax\nmov %ax, 0x3068\nmovw $8, 0x306a\nmovw $0x8e00, 0x306c\nshr $16, %eax\nmov %ax, 0x306e",
        set(B.EVENTINJ, (B.EVENT_VALID | B.EVENT_ERROR_VALID | (B.EVENT_TYPE_EXCEPTION << 8) | 13) >>> 0), set(B.EVENTINJ + 4, 0xabcd),
      ],
      l2: [],
      extra: ["l2gp:", "pop %eax\nvmmcall"],
      onExit: [field(B.SAVE_RAX)],
    });
    expect(run.results).toEqual([VMMCALL, 0xabcd]);
  });

  it("EVENTINJ's EV decides the error code, not the vector (APM 15.20, as Bochs' SvmInjectEvents): #UD or an interrupt with EV pushes it, #GP without pushes none", async () => {
    // Gates 6 and 13 point at l2ev, which calls L1 with the word on top of the stack and ESP.
    const gate = (vector: number) => `mov $l2ev, %eax\nmov %ax, ${0x3000 + vector * 8}\nmovw $8, ${0x3002 + vector * 8}\nmovw $0x8e00, ${0x3004 + vector * 8}\nshr $16, %eax\nmov %ax, ${0x3006 + vector * 8}`;
    const inject = (vector: number, ev: boolean, type = B.EVENT_TYPE_EXCEPTION) => runSvmL2({
      setup: [gate(vector), set(B.EVENTINJ, (B.EVENT_VALID | (ev ? B.EVENT_ERROR_VALID : 0) | (type << 8) | vector) >>> 0), set(B.EVENTINJ + 4, 0x5a5a)],
      l2: [],
      extra: ["l2ev:", "mov (%esp), %eax\nmov %esp, %ecx\nvmmcall"],
      onExit: [field(B.SAVE_RAX), record("%ecx")],
    });
    // A frame of EIP, CS, EFLAGS (12 bytes) below L2's stack, and the error code below that.
    expect((await inject(6, true)).results).toEqual([VMMCALL, 0x5a5a, L2_STACK - 16]);
    expect((await inject(0x40, true, B.EVENT_TYPE_INTR)).results).toEqual([VMMCALL, 0x5a5a, L2_STACK - 16]);
    const gp = (await inject(13, false)).results;
    expect([gp[0], gp[2]]).toEqual([VMMCALL, L2_STACK - 12]);
  });

  it("EXITINTINFO: an intercepted exception raised while an event is delivered names that event; one an instruction raised does not", async () => {
    const GP_VECTOR = 13;
    // Vector 0x41's gate is empty (an invalid gate type): delivering it raises #GP((0x41 << 3) | 2 | EXT).
    const inject = (event: number, error = 0) => [set(B.EVENTINJ, event >>> 0), set(B.EVENTINJ + 4, error)];
    const run = await runSvmL2({
      setup: ["mov $l2, %esi", set(B.EXCEPTION_INTERCEPTS, (1 << GP_VECTOR) | (1 << UD_VECTOR)), ...inject(B.EVENT_VALID | (B.EVENT_TYPE_SOFTWARE_INT << 8) | 0x41)],
      l2: ["mov $1f, %esi\nud2\n1:"],
      // After the first exit L1 injects an external interrupt 0x41, then #AC (17, benign: no #DF) with its error code into an empty gate.
      onExit: [
        field(B.EXITINFO1), field(B.EXITINTINFO), field(B.EXITINTINFO + 4),
        "cmpl $1, 0x4fd0\nje 7f\nja 8f", "movl $1, 0x4fd0", ...inject(B.EVENT_VALID | (B.EVENT_TYPE_INTR << 8) | 0x41), "jmp 9f",
        "7: movl $2, 0x4fd0", ...inject(B.EVENT_VALID | B.EVENT_ERROR_VALID | (B.EVENT_TYPE_EXCEPTION << 8) | 17, 0x1234), "jmp 9f",
        "8:", "9:",
      ],
    });
    const INFO = (type: number, vector: number, error = false) => (B.EVENT_VALID | (error ? B.EVENT_ERROR_VALID : 0) | (type << 8) | vector) >>> 0;
    expect(run.results).toEqual([
      EXCEPTION + GP_VECTOR, 0x20a, INFO(B.EVENT_TYPE_SOFTWARE_INT, 0x41), 0, // INT 0x41 injected: EXT clear
      EXCEPTION + GP_VECTOR, 0x20b, INFO(B.EVENT_TYPE_INTR, 0x41), 0, // an external interrupt: EXT set
      EXCEPTION + GP_VECTOR, 0x8b, INFO(B.EVENT_TYPE_EXCEPTION, 17, true), 0x1234, // #AC, with its error code
      EXCEPTION + UD_VECTOR, 0, 0, 0, // L2's own UD2: no event was being delivered
      VMMCALL, 0, 0, 0,
    ]);
  });

  it("L1's INTR intercept under V_INTR_MASKING with L1's IF set: L0's interrupt is #VMEXIT 60h, even with L2's IF clear and L2 halted, and waits for L1", async () => {
    const run = await runSvmL2({
      setup: [or(B.INTERCEPTS_1, B.INTERCEPT_INTR), or(B.V_INTR, B.V_INTR_MASKING), "sti"],
      l2: ["hlt"],
      onExit: [field(B.EXITINFO1), field(B.NRIP)],
      endOn: [INTR],
      setupVm: (vm) => vm.scheduleInterrupt(0x40, 300_000),
    });
    expect(run.results).toEqual([INTR, 0, 0]);
    expect(run.vm.interrupts.pending).toBe(1); // L1's, once it sets GIF and IF
    expect(run.vm.interrupts.globalInterruptFlag).toBe(false); // #VMEXIT cleared it
  });

  it("L1's INTR intercept without V_INTR_MASKING: L2's IF masks L0's interrupt, and the #VMEXIT comes once L2 sets it", async () => {
    const run = await runSvmL2({
      setup: [or(B.INTERCEPTS_1, B.INTERCEPT_INTR), "sti"],
      l2: ["mov $400000, %ecx\n1: loop 1b", "sti\nnop\nnop"],
      onExit: [record("%ecx")], // 0: the loop (800,000 instructions, the interrupt at 300,000) had ended
      endOn: [INTR],
      setupVm: (vm) => vm.scheduleInterrupt(0x40, 300_000),
    });
    expect(run.results).toEqual([INTR, 0]);
  });

  it("L1's INTR intercept under V_INTR_MASKING with L1's IF clear: L0's interrupt stays masked whatever L2's IF", async () => {
    const run = await runSvmL2({
      setup: [or(B.INTERCEPTS_1, B.INTERCEPT_INTR), or(B.V_INTR, B.V_INTR_MASKING), "cli"],
      l2: ["sti", "mov $400000, %ecx\n1: loop 1b"],
      endOn: [INTR],
      setupVm: (vm) => vm.scheduleInterrupt(0x40, 300_000),
    });
    expect(run.results).toEqual([VMMCALL]);
    expect(run.vm.interrupts.pending).toBe(1);
  });

  // L0's interrupt L1 does not intercept goes through L2's IDT: vector 0x40's gate points at l2int,
  // which calls L1 with EAX = 0x77 and the loop's ECX.
  const L2_GATE_40 = "mov $l2int, %eax\nmov %ax, 0x3200\nmovw $8, 0x3202\nmovw $0x8e00, 0x3204\nshr $16, %eax\nmov %ax, 0x3206";
  const notIntercepted = (setup: string[], l2: string[]) => runSvmL2({
    setup: [L2_GATE_40, ...setup],
    l2: ["mov $0x66, %eax", ...l2],
    extra: ["l2int:", "mov $0x77, %eax\nvmmcall"],
    onExit: [field(B.SAVE_RAX), record("%ecx")],
    setupVm: (vm) => vm.scheduleInterrupt(0x40, 300_000),
  });
  const LOOP = "mov $400000, %ecx\n1: loop 1b";

  it("V_INTR_MASKING, INTR not intercepted, L1's IF set: L0's interrupt goes into L2 through its IDT though L2's IF is clear (APM 15.21.1)", async () => {
    const run = await notIntercepted([or(B.V_INTR, B.V_INTR_MASKING), "sti"], [LOOP]);
    expect(run.results[0]).toBe(VMMCALL);
    expect(run.results[1]).toBe(0x77);
    expect(run.results[2]).toBeGreaterThan(0); // during the loop
    expect(run.vm.interrupts.pending).toBe(0);
  });

  it("V_INTR_MASKING, INTR not intercepted, L1's IF set: the interrupt wakes L2 halted with its IF clear", async () => {
    const run = await notIntercepted([or(B.V_INTR, B.V_INTR_MASKING), "sti"], ["xor %ecx, %ecx\nhlt"]);
    expect(run.results).toEqual([VMMCALL, 0x77, 0]);
  });

  it("V_INTR_MASKING, INTR not intercepted, L1's IF clear: the interrupt stays masked though L2's IF is set, and waits for L1", async () => {
    const run = await notIntercepted([or(B.V_INTR, B.V_INTR_MASKING), "cli"], ["sti", LOOP]);
    expect(run.results).toEqual([VMMCALL, 0x66, 0]);
    expect(run.vm.interrupts.pending).toBe(1);
  });

  it("no V_INTR_MASKING, INTR not intercepted: L2's IF masks the interrupt, whatever L1's, until L2 sets it", async () => {
    const run = await notIntercepted(["sti"], [LOOP, "sti\nnop\nnop"]);
    expect(run.results).toEqual([VMMCALL, 0x77, 0]);
  });

  it("GIF: after CLGI an interrupt waits, whatever IF says, and STGI lets it in", async () => {
    const run = await runSvmL2({
      setup: [
        "mov $l1int, %eax\nmov %ax, 0x3200\nmovw $8, 0x3202\nmovw $0x8e00, 0x3204\nshr $16, %eax\nmov %ax, 0x3206",
        "movl $0, 0x4fd0\nclgi\nsti", "mov $20000, %ecx\n5: loop 5b", `mov 0x4fd0, %ebx\n${record("%ebx")}`,
        "stgi\nnop\nnop\ncli", `mov 0x4fd0, %ebx\n${record("%ebx")}`, "jmp done",
      ],
      l2: [],
      extra: ["l1int:", "incl 0x4fd0\niret"],
      setupVm: (vm) => vm.scheduleInterrupt(0x40, 1_000),
    });
    expect(run.results).toEqual([0, 1]);
  });
});

describe("VMRUN's consistency checks: VMEXIT_INVALID, and L1 goes on after its VMRUN", () => {
  const invalid = (name: string, setup: string[]) =>
    it(name, async () => {
      const run = await runSvmL2({ setup, l2: ["cpuid"], onExit: [field(B.EXITCODE + 4)], after: ["mov $0x99, %ebx", record("%ebx")] });
      expect(run.results).toEqual([INVALID, INVALID, 0x99]);
      expect(run.vm.svm.l2).toBeUndefined();
    });
  invalid("the VMRUN intercept clear", [set(B.INTERCEPTS_2, B.INTERCEPT_VMMCALL)]);
  invalid("guest ASID 0", [set(B.GUEST_ASID, 0)]);
  invalid("EFER.SVME clear", [set(B.SAVE_EFER, 0)]);
  invalid("EFER with a reserved bit (LME: no long mode)", [set(B.SAVE_EFER, 0x1100)]);
  invalid("CR0.NW without CR0.CD", [or(B.SAVE_CR0, 1 << 29)]);
  invalid("CR0 bits 63:32", [set(B.SAVE_CR0 + 4, 1)]);
  invalid("CR4.PAE (this CPU has none)", [or(B.SAVE_CR4, 1 << 5)]);
  invalid("DR7 bits 63:32", [set(B.SAVE_DR7 + 4, 1)]);
  invalid("CS.L and CS.D", [set(B.SAVE_ES + 0x10, 8 | (0xe9b << 16))]);
  invalid("the I/O permission map reaching past 4 GiB", [set(B.IOPM_BASE, 0xffffe000)]);
  invalid("the MSR permission map reaching past 4 GiB", [set(B.MSRPM_BASE + 4, 1)]);
  invalid("EVENTINJ of type 1", [set(B.EVENTINJ, (B.EVENT_VALID | (1 << 8) | 0x20) >>> 0)]);
  invalid("EVENTINJ of an exception with vector 2", [set(B.EVENTINJ, (B.EVENT_VALID | (3 << 8) | 2) >>> 0)]);
  invalid("EVENTINJ of an exception above 31", [set(B.EVENTINJ, (B.EVENT_VALID | (3 << 8) | 32) >>> 0)]);
  invalid("EVENTINJ of type 7", [set(B.EVENTINJ, (B.EVENT_VALID | (7 << 8)) >>> 0)]);
  invalid("RFLAGS.VM (no virtual-8086 mode)", [set(B.SAVE_RFLAGS, 0x20002)]);
});

describe("a guest VT-x refuses", () => {
  it("a real-mode L2 (CR0.PE clear) runs under SVM: its OUT reports a 16-bit address size, its VMMCALL exits", async () => {
    const realSegment = (at: number, selector: number, attributes: number, base: number | string) =>
      [set(at, selector | (attributes << 16)), set(at + 4, 0xffff), set(at + 8, base)].join("\n");
    const run = await runSvmL2({
      setup: [
        or(B.INTERCEPTS_1, B.INTERCEPT_IOIO), mapBit(IOPM, 0x80),
        set(B.SAVE_CR0, 0x10), set(B.SAVE_CR4, 0), set(B.SAVE_RIP, 0), set(B.SAVE_RSP, 0xfff0), set(B.SAVE_IDTR + 4, 0x3ff), set(B.SAVE_IDTR + 8, 0),
        realSegment(B.SAVE_ES, 0, 0x93, 0), realSegment(B.SAVE_ES + 0x10, 0x1000, 0x9b, "l2real"), realSegment(B.SAVE_ES + 0x20, 0x6000, 0x93, 0x60000), realSegment(B.SAVE_ES + 0x30, 0, 0x93, 0),
      ],
      l2: [],
      extra: [".code16", "l2real:", "mov $0x1234, %ax\nout %al, $0x80", "mov %cr0, %ebx\nmov %ebx, %eax\nvmmcall", ".code32"],
      onExit: [field(B.EXITINFO1), field(B.SAVE_RAX), field(B.SAVE_RIP)],
    });
    expect(run.results).toEqual([
      IOIO, 0x00800090, 0x1234, 3, // SZ8, A16 (CS.D is clear); RIP 3, after the 16-bit MOV
      VMMCALL, 0, 0x10, 11, // CR0 as L2 reads it: PE and PG clear; RIP the VMMCALL's offset in CS
    ]);
  });
});
