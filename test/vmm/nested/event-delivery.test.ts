// Exits during an event's delivery under nesting: what L1 is told of the event (SDM 27.2.4's
// IDT-vectoring information under VMX, the APM's EXITINTINFO under SVM: svm-l2-run.test.ts), and
// the event delivered again when L0 handles such an exit itself (inject.ts requeueVectoredEvent,
// as KVM's __vmx_complete_interrupts and svm_complete_interrupts do), under either backend, and
// for a guest without nesting too.
import { describe, expect, it } from "vitest";
import { EXIT_WRITE_TRAP } from "../../../assembly/vmcs-layout.js";
import type { DisplayUpdate } from "../../../src/vmm/display-update.js";
import { VMCS_FIELD as F } from "../../../src/vmm/nested/vmcs12-fields.js";
import * as B from "../../../src/vmm/svm/vmcb.js";
import type { VirtualMachine } from "../../../src/vmm/virtual-machine.js";
import { field, runSvmL2, set, SVM_OPTIONS } from "../svm/svm-guest.js";
import { L2_EAX, read, runL2, write } from "./l2-guest.js";
import { EXIT_OK, exitsOf, runTiny, withTables } from "../../support/tiny-guest.js";
import { PF, record } from "./vmx-guest.js";

const EXCEPTION = 0, TRIPLE_FAULT = 2, VMCALL = 18;
const VALID = 0x80000000, HAS_ERROR = 1 << 11;
const EXTERNAL = 0 << 8, HARDWARE_EXCEPTION = 3 << 8, SOFTWARE_INTERRUPT = 4 << 8;
const event = (type: number, vector: number, error = false) => (VALID | type | (error ? HAS_ERROR : 0) | vector) >>> 0;
const GP = event(HARDWARE_EXCEPTION, 13, true);
/** RFLAGS with IF set: an entry injects an external interrupt only then (SDM 26.3.1.5). */
const IF = 0x202;

/** The VM-entry interruption information, its error code and instruction length, for L1's next VMRESUME. */
const inject = (info: number, error = 0, length = 0) =>
  [write(F.ENTRY_INTERRUPTION_INFO, info), write(F.ENTRY_EXCEPTION_ERROR_CODE, error), write(F.ENTRY_INSTRUCTION_LENGTH, length)].join("\n");
/** The exit's interruption information and error code, IDT-vectoring information and error code, and instruction length. */
const EXIT_EVENTS = [
  read(F.EXIT_INTERRUPTION_INFO), read(F.EXIT_INTERRUPTION_ERROR_CODE), read(F.IDT_VECTORING_INFO), read(F.IDT_VECTORING_ERROR_CODE),
  read(F.EXIT_INSTRUCTION_LENGTH),
];

describe("VMX: an exception that exited only for L1's #PF mask and match, which L0 delivers to L2 itself", () => {
  it("a #PF: CR2 holds its address in L2's handler, as if it had not exited", async () => {
    // Mask and match W with bit 14 clear: the core exits for every #PF (the union), but a write fault matches and is L2's.
    const run = await runL2({
      setup: [write(F.PAGE_FAULT_ERROR_MASK, 2), write(F.PAGE_FAULT_ERROR_MATCH, 2)],
      l2: ["movl $l2b, 0x4ff0\nmovl $1, 0x900004", "l2b:", "mov %cr2, %eax"],
      onExit: [`mov ${L2_EAX}, %ebx\n${record("%ebx")}`],
    });
    expect(run.results).toEqual([PF, VMCALL, 0x900004]); // L2's handler (L1's code, the shared IDT) ran, then the VMCALL
  });
});

/** Vector 0x40's gate points at l2int, L2's code at label l2int. */
const GATE_0X40 = "mov $l2int, %eax\nmov %ax, 0x3200\nmovw $8, 0x3202\nmovw $0x8e00, 0x3204\nshr $16, %eax\nmov %ax, 0x3206";

describe("SVM: EXITINTINFO of an exit during an INT n instruction's delivery", () => {
  it("names the INT n, type 4 (APM 15.7.2; Bochs 2.7 reports the last event injected instead: guests/svmentry.c)", async () => {
    const run = await runSvmL2({
      setup: [set(B.EXCEPTION_INTERCEPTS, 1 << 13)],
      l2: ["mov $1f, %esi\nint $0x33\n1:"], // vector 0x33's gate is empty: #GP((0x33 << 3) | 2)
      onExit: [field(B.EXITINFO1), field(B.EXITINTINFO), field(B.EXITINTINFO + 4)],
    });
    expect(run.results).toEqual([0x4d, 0x19a, (B.EVENT_VALID | (B.EVENT_TYPE_SOFTWARE_INT << 8) | 0x33) >>> 0, 0, 0x81, 0, 0, 0]);
  });
});

describe("VMX: the IDT-vectoring information of an exit L1 asked for", () => {
  it("names the event being delivered when an exception arose, with its error code and INT n's length; a #DF, an instruction's own exception and other exits name none", async () => {
    // Gates 0x41, 0x11 (#AC) and 0x0a (#TS) are empty: delivering through one raises #GP((vector << 3) | 2 | EXT).
    // L1 injects INT 0x41 (length 2) first, then at each exit the next event of the list; L2's own UD2 comes last.
    const run = await runL2({
      setup: ["mov $l2, %esi", write(F.GUEST_RFLAGS, IF), write(F.EXCEPTION_BITMAP, (1 << 13) | (1 << 6) | (1 << 8)), inject(event(SOFTWARE_INTERRUPT, 0x41), 0, 2)],
      l2: ["mov $1f, %esi\nud2\n1:"],
      onExit: [
        ...EXIT_EVENTS,
        "incl 0x4fd0\nmov 0x4fd0, %ecx",
        "cmp $1, %ecx\njne 1f", inject(event(EXTERNAL, 0x41)), "jmp 9f\n1:",
        "cmp $2, %ecx\njne 1f", inject(event(HARDWARE_EXCEPTION, 17, true), 0x1234), "jmp 9f\n1:",
        "cmp $3, %ecx\njne 9f", inject(event(HARDWARE_EXCEPTION, 10, true), 0x55),
        "9:",
      ],
    });
    expect(run.results).toEqual([
      EXCEPTION, GP, 0x20a, event(SOFTWARE_INTERRUPT, 0x41), 0, 2, // INT 0x41: EXT clear; the exit has INT's length (SDM 27.2.5)
      EXCEPTION, GP, 0x20b, event(EXTERNAL, 0x41), 0, 0, // an external interrupt: EXT set
      EXCEPTION, GP, 0x8b, event(HARDWARE_EXCEPTION, 17, true), 0x1234, 0, // #AC with its error code (benign: #GP follows)
      EXCEPTION, event(HARDWARE_EXCEPTION, 8, true), 0, 0, 0, 0, // #TS then #GP: a #DF, which exits on its own (SDM 27.2.4)
      EXCEPTION, event(HARDWARE_EXCEPTION, 6), 0, 0, 0, 0, // L2's UD2: no event was being delivered
      VMCALL, 0, 0, 0, 0, 3,
    ]);
  });

  it("a #PF on L2's stack while an injected interrupt is delivered: the #PF exit names the interrupt", async () => {
    const run = await runL2({
      setup: [GATE_0X40, write(F.GUEST_RFLAGS, IF), write(F.EXCEPTION_BITMAP, 1 << 14), write(F.GUEST_RSP, 0x800010), inject(event(EXTERNAL, 0x40))],
      l2: ["l2int:"],
      onExit: [read(F.EXIT_QUALIFICATION), ...EXIT_EVENTS],
      endOn: [EXCEPTION],
    });
    // The first push (EFLAGS, at ESP - 4) faults: a supervisor write to a page not present.
    expect(run.results).toEqual([EXCEPTION, 0x80000c, event(HARDWARE_EXCEPTION, 14, true), 2, event(EXTERNAL, 0x40), 0, 0]);
  });

  it("a triple fault is no exit during delivery: none is named though it ends a #DF's", async () => {
    const run = await runL2({ setup: [write(F.GUEST_CR3, 0xfffff000)], l2: [], onExit: [read(F.IDT_VECTORING_INFO)], endOn: [TRIPLE_FAULT] });
    expect(run.results).toEqual([TRIPLE_FAULT, 0]);
  });
});

/** L2's stack in the text frame buffer (0xB8000), whose writes exit to L0 under the trap and the dirty log. */
const FRAME_BUFFER_STACK = 0xb8800;
/** Whether the interrupt's frame holds L2's first instruction as its return address. */
const RETURNS_TO_L2 = `mov ${FRAME_BUFFER_STACK - 12}, %ebx\ncmp $l2, %ebx\nsete %bl\nmovzbl %bl, %ebx\n${record("%ebx")}`;

/** L0's write-trap exits at L2's level (exit-level.ts), the ones it handled while L2 went on. */
function l2WriteTraps(vm: VirtualMachine): number {
  return vm.statistics().levels?.l2.find((e) => e.reason === EXIT_WRITE_TRAP)?.count ?? 0;
}

describe.each<DisplayUpdate>(["dirty-log", "trap"])("L0 handles an exit during delivery (a write trap on the frame, display update %s): the event is delivered again", (displayUpdate) => {
  it("VMX: L1's injected interrupt reaches L2's handler", async () => {
    const run = await runL2({
      setup: [GATE_0X40, write(F.GUEST_RFLAGS, IF), write(F.GUEST_RSP, FRAME_BUFFER_STACK), inject(event(EXTERNAL, 0x40))],
      l2: ["jmp l2end", "l2int:", "mov $0x77, %eax", "l2end:"],
      onExit: [`mov ${L2_EAX}, %ebx\n${record("%ebx")}`, RETURNS_TO_L2],
      options: { nested: "vmx", displayUpdate },
    });
    expect(run.results).toEqual([VMCALL, 0x77, 1]);
    expect(l2WriteTraps(run.vm)).toBeGreaterThan(0);
  });

  it("no nesting: the VMM's own interrupt reaches the guest's handler", async () => {
    const run = await runTiny(
      [withTables({ 0x40: "handler" }), `mov $${FRAME_BUFFER_STACK}, %esp\nsti\n1: jmp 1b`, "handler:", "mov $0x77, %esi", EXIT_OK].join("\n"),
      { displayUpdate },
      (vm) => vm.scheduleInterrupt(0x40, 20_000),
    );
    expect(run.result.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(run.vm.vmcs.reg(6)).toBe(0x77); // ESI
    expect(exitsOf(run, EXIT_WRITE_TRAP).length).toBeGreaterThan(0);
  });

  it("SVM: EVENTINJ's interrupt reaches L2's handler", async () => {
    const run = await runSvmL2({
      setup: [GATE_0X40, set(B.SAVE_RSP, FRAME_BUFFER_STACK), set(B.EVENTINJ, B.EVENT_VALID | (B.EVENT_TYPE_INTR << 8) | 0x40)],
      l2: ["jmp l2end"],
      extra: ["l2int:", "mov $0x77, %eax\nvmmcall", "l2end:", "vmmcall"],
      onExit: [field(B.SAVE_RAX), RETURNS_TO_L2],
      options: { ...SVM_OPTIONS, displayUpdate },
    });
    expect(run.results).toEqual([0x81, 0x77, 1]);
    expect(l2WriteTraps(run.vm)).toBeGreaterThan(0);
  });
});
