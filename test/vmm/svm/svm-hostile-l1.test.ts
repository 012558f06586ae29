// A guest hypervisor (L1) that points SVM at memory it should not, or hands VMRUN state or events
// that make no sense: issue 19's hostile-L1 list, item by item. Each ends as the APM says or as a
// clean stop of the run, and L0 writes nothing outside L1's RAM.
//  - VMCB and host save area outside RAM or unaligned: #GP(0) (svm-instructions.test.ts: VMRUN,
//    VMLOAD, VMSAVE and the save area; amd-personality.test.ts: WRMSR of an unaligned or too high
//    VM_HSAVE_PA); a save area that is the VMCB itself: below.
//  - I/O and MSR permission maps crossing the end of RAM, or wholly past it: below (a byte of a map
//    past RAM reads as ones, as from an empty bus: intercepted).
//  - Inconsistent VMCB state: each consistency check's VMEXIT_INVALID (svm-l2-run.test.ts); below,
//    state-save areas of random words that pass the checks, which L2 runs as it can.
//  - VMRUN without its intercept: VMEXIT_INVALID (svm-l2-run.test.ts); below, L2's own VMRUN.
//  - EVENTINJ with garbage: below, random words against the APM's rule.
//  - And L2 on physical addresses (paging off) past the end of RAM: nothing reaches the host.
import { describe, expect, it } from "vitest";
import { CR4_UNSUPPORTED } from "../../../src/vmm/control-registers.js";
import * as B from "../../../src/vmm/svm/vmcb.js";
import { record } from "../nested/vmx-guest.js";
import { VMCB, field, or, runSvmL2, set } from "./svm-guest.js";

const IOIO = 0x7b, MSR = 0x7c, SHUTDOWN = 0x7f, VMRUN = 0x80, VMMCALL = 0x81, INVALID = 0xffffffff;
const LAST_PAGE = 0x7ff000; // of the tests' 8 MiB
const RAM_SIZE = 0x800000;
/** Free memory below L1's 4 MiB page where the host leaves random words for L1 to copy. */
const RANDOM_WORDS = 0x40000;
/** How a run may end when L1 or L2 does something that has no defined outcome: any ordinary stop. */
const ORDINARY_STOPS = ["instruction-limit", "guest-exit", "triple-fault", "halted", "exception", "no-progress"];

/** xorshift32: the same words for the same seed. */
function randomWords(seed: number, count: number): number[] {
  let x = seed >>> 0 || 1;
  return Array.from({ length: count }, () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  });
}

describe("hostile L1: permission maps and the host save area", () => {
  it("an I/O permission map crossing the end of RAM: ports whose bits lie past it are intercepted", async () => {
    const run = await runSvmL2({
      setup: [or(B.INTERCEPTS_1, B.INTERCEPT_IOIO), set(B.IOPM_BASE, LAST_PAGE | 0xabc)], // bits 11:0 are ignored
      l2: ["out %al, $0x80", "mov $0x9000, %dx\nin %dx, %al"],
      onExit: [field(B.EXITINFO1)],
    });
    expect(run.results).toEqual([IOIO, 0x90000111, VMMCALL, 0]); // IN, SZ8, A32, port 9000h
  });

  it("permission maps wholly past the end of RAM, above 2 GiB: every port and MSR is intercepted", async () => {
    const run = await runSvmL2({
      setup: [or(B.INTERCEPTS_1, B.INTERCEPT_IOIO | B.INTERCEPT_MSR), set(B.IOPM_BASE, 0xfff00000), set(B.MSRPM_BASE, 0xffffd000)],
      l2: ["out %al, $0x80", "mov $0x174, %ecx\nwrmsr"],
      onExit: [field(B.EXITINFO1)],
    });
    expect(run.results).toEqual([IOIO, 0x00800110, MSR, 1, VMMCALL, 0]);
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
    expect(ORDINARY_STOPS).toContain(run.result.stop.kind);
  });
});

describe("hostile L1: VMRUN", () => {
  it("L2's own VMRUN is always #VMEXIT 80h to L1 (its intercept is required), with nRIP after it", async () => {
    const run = await runSvmL2({
      l2: [`mov $${VMCB}, %eax\nvmrun`],
      onExit: [`mov ${VMCB + B.NRIP}, %ebx\nsub ${VMCB + B.SAVE_RIP}, %ebx\n${record("%ebx")}`],
    });
    expect(run.results).toEqual([VMRUN, 3, VMMCALL, 3]);
    expect(run.result.stop).toEqual({ kind: "guest-exit", code: 0 });
  });

  /**
   * L1 copies the host's random words over the whole state-save area, then mends only what
   * VMRUN's checks refuse (EFER, the high words, CR0.NW, PG without PE, CR4's absent bits, CS.L,
   * RFLAGS.VM): L2 starts in whatever mode, CPL, segments, tables and paging that leaves, and L1
   * stops at its first #VMEXIT.
   */
  const GARBAGE_STATE = [
    `push %edi\nmov $${RANDOM_WORDS}, %esi\nmov $${VMCB + B.SAVE_ES}, %edi\nmov $${(0x700 - B.SAVE_ES) / 4}, %ecx\ncld\nrep movsl\npop %edi`,
    set(B.SAVE_EFER, 0x1000), set(B.SAVE_EFER + 4, 0),
    ...[B.SAVE_CR0, B.SAVE_CR3, B.SAVE_CR4, B.SAVE_DR6, B.SAVE_DR7].map((at) => set(at + 4, 0)),
    `mov ${VMCB + B.SAVE_CR0}, %eax\ntest $0x80000000, %eax\njz 7f\nor $1, %eax\n7: and $0xdfffffff, %eax\nmov %eax, ${VMCB + B.SAVE_CR0}`,
    `andl $${(0x7ff & ~CR4_UNSUPPORTED) >>> 0}, ${VMCB + B.SAVE_CR4}`,
    `andw $0xfdff, ${VMCB + B.SAVE_ES + 0x10 + B.SEGMENT_ATTRIBUTES}`,
    `andl $0xfffdffff, ${VMCB + B.SAVE_RFLAGS}`,
  ];

  it("state-save areas of random words that pass the checks: each run ends as one of the run's ordinary ends, RAM's size unchanged", async () => {
    for (let seed = 1; seed <= 24; seed++) {
      const words = randomWords(seed, (0x700 - B.SAVE_ES) / 4);
      const run = await runSvmL2({
        setup: GARBAGE_STATE,
        l2: [],
        onExit: ["jmp done"],
        setupVm: (vm) => words.forEach((word, i) => new DataView(vm.ram.buffer, vm.ram.byteOffset).setUint32(RANDOM_WORDS + 4 * i, word, true)),
      });
      expect(ORDINARY_STOPS, `seed ${seed}`).toContain(run.result.stop.kind);
      expect(run.vm.ram.length).toBe(RAM_SIZE);
    }
  });
});

describe("hostile L1: EVENTINJ with garbage", () => {
  /** APM 15.20: types 0 (INTR), 2 (NMI), 4 (software interrupt) inject; 3 (exception) unless vector 2 or above 31; 1, 5-7 do not. */
  const injectable = (event: number) => {
    const type = (event >>> 8) & 7, vector = event & 0xff;
    return type === 0 || type === 2 || type === 4 || (type === 3 && vector !== 2 && vector <= 31);
  };

  it("random valid-marked events: VMEXIT_INVALID where the APM refuses them, else delivered into L2's empty IDT and so a shutdown #VMEXIT", async () => {
    const events = randomWords(19, 24).map((word) => (word | B.EVENT_VALID) >>> 0);
    expect(events.some(injectable)).toBe(true);
    expect(events.some((event) => !injectable(event))).toBe(true);
    for (const event of events) {
      const run = await runSvmL2({
        setup: [set(B.EVENTINJ, event), set(B.EVENTINJ + 4, event ^ 0x5a5a5a5a), set(B.SAVE_IDTR + B.SEGMENT_LIMIT, 0), or(B.INTERCEPTS_1, B.INTERCEPT_SHUTDOWN)],
        l2: [],
        onExit: ["jmp done"],
      });
      expect(run.results, `EVENTINJ ${event.toString(16)}`).toEqual([injectable(event) ? SHUTDOWN : INVALID]);
    }
  });

  it("an injected event L2 cannot take and no shutdown intercept: the run ends with a triple fault", async () => {
    const run = await runSvmL2({ setup: [set(B.EVENTINJ, (B.EVENT_VALID | (B.EVENT_TYPE_SOFTWARE_INT << 8) | 0x99) >>> 0), set(B.SAVE_IDTR + B.SEGMENT_LIMIT, 0)], l2: [] });
    expect(run.result.stop).toEqual({ kind: "triple-fault" });
  });
});

describe("L2 on physical addresses past the end of RAM", () => {
  it("with paging off its writes there are dropped and its reads see an empty bus; nothing lands in RAM by wrapping around", async () => {
    const run = await runSvmL2({
      setup: [set(B.SAVE_CR0, 0x11)], // PE and ET: protected mode without paging
      l2: [
        `movl $0x12345678, ${RAM_SIZE + RANDOM_WORDS}\nmov ${RAM_SIZE + RANDOM_WORDS}, %esi`,
        "movl $0x9abcdef0, 0xfffffff0\nmov 0xfffffff0, %edx",
        `movl $0x11223344, ${RAM_SIZE - 2}`, // half in RAM, half past it
        "mov %esi, %eax",
      ],
      onExit: [field(B.SAVE_RAX), `${record("%edx")}`, `mov ${RANDOM_WORDS}, %ebx\n${record("%ebx")}`],
    });
    expect(run.results).toEqual([VMMCALL, 0xffffffff, 0xffffffff, 0]);
    expect(run.vm.ram.length).toBe(RAM_SIZE);
    expect(new DataView(run.vm.ram.buffer, run.vm.ram.byteOffset).getUint16(RAM_SIZE - 2, true)).toBe(0x3344);
  });
});
