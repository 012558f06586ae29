// Running L2 on the real core: VM entry from a tiny guest hypervisor (l2-guest.ts), L2's exits
// reflected to L1 when its controls ask for them and handled by L0 otherwise, events, entry
// failures, and an L1 that points L2 at garbage. (guests/vmxentry.elf checks the same kind of
// run against Bochs: test/guests/bochs-vmx.test.ts.)
import { describe, expect, it } from "vitest";
import { UnsaveableStateError } from "../../../src/devices/saved-values.js";
import { VMCS_FIELD as F } from "../../../src/vmm/nested/vmcs12-fields.js";
import { FAIL_VALID, PF, record, recordError, step } from "./vmx-guest.js";
import { runL2, read, write, L2_EAX, PIN_DEFAULT1, PRIMARY_DEFAULT1, HLT_EXITING, UNCONDITIONAL_IO, USE_IO_BITMAPS, USE_MSR_BITMAPS } from "./l2-guest.js";

const EXCEPTION = 0, EXTERNAL_INTERRUPT = 1, TRIPLE_FAULT = 2, CPUID = 10, HLT = 12, VMCALL = 18, CR_ACCESS = 28, IO = 30, RDMSR = 31, WRMSR = 32;
const ENTRY_FAILURE = 0x80000000;
/** What runL2 records when VMLAUNCH itself fails: the flags, marked. */
const LAUNCH_FAILED = 0x10000;
const IO_BITMAPS = 0x30000; // A at 0x30000, B at 0x31000 (L1's RAM, zeroed)
const MSR_BITMAP = 0x32000;
const MSR_AREA = 0x33000;

/** L1 sets bit `bit` of the byte array at `base` (a bitmap in its memory). */
const setBit = (base: number, bit: number) => `orb $${1 << (bit & 7)}, ${base + (bit >>> 3)}`;

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

  it("exits L1 did not ask for are L0's and L2 goes on: HLT and ports without L1's controls", async () => {
    // Without HLT exiting or I/O exiting, L0 handles L2's OUT (port 0x80: nothing there) and its HLT
    // (an interrupt scheduled by the VM wakes it: injected into L2, whose IF is set, through its IDT).
    const run = await runL2({
      setup: [write(F.PRIMARY_CONTROLS, PRIMARY_DEFAULT1), write(F.GUEST_RFLAGS, 0x202), "movl $l2int, %eax\nmov %ax, 0x3200\nmovw $8, 0x3202\nmovw $0x8e00, 0x3204\nshr $16, %eax\nmov %ax, 0x3206"],
      l2: ["out %al, $0x80", "hlt", "cpuid", "jmp l2end", "l2int:", "mov $0x40, %eax", "cpuid", "iret", "l2end:"],
      onExit: [`mov ${L2_EAX}, %ebx\n${record("%ebx")}`],
      setupVm: (vm) => vm.scheduleInterrupt(0x40, 200_000),
    });
    // Only the CPUIDs and the VMCALL reach L1: the interrupt handler's (leaf 0x40), then the one
    // after HLT, whose EAX is what L1's handler left in it (0x681E): general registers pass between the levels.
    expect(run.results).toEqual([CPUID, 0x40, CPUID, 0x681e, VMCALL, 0x681e]);
  });

  it("I/O through L1's bitmaps: a port whose bit is set exits to L1, others are L0's, an access exits if any of its ports does", async () => {
    const run = await runL2({
      setup: [
        write(F.PRIMARY_CONTROLS, PRIMARY_DEFAULT1 | HLT_EXITING | USE_IO_BITMAPS),
        write(F.IO_BITMAP_A, IO_BITMAPS), write(F.IO_BITMAP_A + 1, 0), write(F.IO_BITMAP_B, IO_BITMAPS + 0x1000), write(F.IO_BITMAP_B + 1, 0),
        setBit(IO_BITMAPS, 0xe9), setBit(IO_BITMAPS, 0x71), setBit(IO_BITMAPS + 0x1000, 0x8900 & 0x7fff),
      ],
      l2: ["out %al, $0x80", "out %al, $0xe9", "mov $0x70, %dx\nout %ax, %dx", "mov $0x8900, %dx\nin %dx, %al", "mov $0xffff, %dx\nout %ax, %dx"],
      onExit: [read(F.EXIT_QUALIFICATION)],
    });
    expect(run.results).toEqual([IO, 0x00e90040, IO, 0x00700001, IO, 0x89000008 >>> 0, IO, 0xffff0001 >>> 0, VMCALL, 0]);
  });

  it("CR0 through L1's mask and read shadow: L2 reads the shadow, a write that keeps the owned bits does not exit and leaves them", async () => {
    // L1 owns TS with shadow 0 while L2's CR0 has TS set. L2 reads TS = 0, sets MP (no exit), then
    // sets TS (exits: it differs from the shadow). L1 records L2's real CR0 at each exit.
    const run = await runL2({
      setup: [write(F.CR0_GUEST_HOST_MASK, 8), write(F.CR0_READ_SHADOW, 0), "mov %cr0, %ecx\nor $8, %ecx", `mov $${F.GUEST_CR0}, %eax\nvmwrite %ecx, %eax`],
      l2: ["mov %cr0, %ebx\nand $0xa, %ebx\nmov %ebx, %eax\ncpuid", "mov %cr0, %eax\nor $2, %eax\nmov %eax, %cr0", "mov %cr0, %eax\nor $8, %eax\nmov %eax, %cr0"],
      onExit: [`mov ${L2_EAX}, %ebx\nand $0xa, %ebx\n${record("%ebx")}`, `mov $${F.GUEST_CR0}, %eax\nvmread %eax, %ebx\nand $0xa, %ebx\n${record("%ebx")}`],
    });
    expect(run.results).toEqual([
      CPUID, 0, 8, // L2 read TS = 0 (the shadow); its real CR0 has TS
      CR_ACCESS, 0xa, 0xa, // the write with TS: MP set by the earlier write, TS kept all along
      VMCALL, 0xa, 0xa,
    ]);
  });

  it("a #PF through L1's error-code mask and match: a read fault exits to L1, a write fault is delivered to L2", async () => {
    // Bit 14 clear, mask and match W (SDM 25.2): a #PF whose error code has W matches and is not an
    // exit; one without W does not match and exits.
    const run = await runL2({
      setup: [write(F.PAGE_FAULT_ERROR_MASK, 2), write(F.PAGE_FAULT_ERROR_MATCH, 2)],
      l2: ["mov $l2a, %esi\nmov 0x800000, %eax", "l2a:", "movl $l2b, 0x4ff0\nmovl $1, 0x800000", "l2b:"],
      onExit: [read(F.EXIT_QUALIFICATION), read(F.EXIT_INTERRUPTION_INFO)],
    });
    expect(run.results).toEqual([
      EXCEPTION, 0x800000, 0x80000b0e, // #PF, error code 0 (read, not present): L1's
      PF, // the write's #PF went to L2's own handler
      VMCALL, 0, 0,
    ]);
  });

  it("L1's external-interrupt exiting: L0's interrupt becomes exit 1 to L1, even with L2's IF clear and while L2 is halted", async () => {
    const run = await runL2({
      setup: [write(F.PIN_CONTROLS, PIN_DEFAULT1 | 1), write(F.PRIMARY_CONTROLS, PRIMARY_DEFAULT1 | UNCONDITIONAL_IO)],
      l2: ["hlt"],
      onExit: [read(F.EXIT_INTERRUPTION_INFO), read(F.GUEST_ACTIVITY_STATE)],
      endOn: [EXTERNAL_INTERRUPT],
      setupVm: (vm) => vm.scheduleInterrupt(0x40, 300_000),
    });
    // No valid interruption information ("acknowledge interrupt on exit" is not offered); L2 saved halted.
    expect(run.results).toEqual([EXTERNAL_INTERRUPT, 0, 1]);
    expect(run.vm.interrupts.pending).toBe(1); // still L1's to take once it sets IF
  });

  it("MSRs: every access exits without MSR bitmaps; with them only those whose bit is set, others are L0's", async () => {
    const run = await runL2({
      setup: [
        write(F.PRIMARY_CONTROLS, PRIMARY_DEFAULT1 | HLT_EXITING | USE_MSR_BITMAPS), write(F.MSR_BITMAP, MSR_BITMAP), write(F.MSR_BITMAP + 1, 0),
        setBit(MSR_BITMAP + 0x800, 0x175), write(F.GUEST_SYSENTER_CS, 0x1234),
      ],
      l2: ["mov $0x174, %ecx\nrdmsr\nmov %eax, %ebx\ncpuid", "mov $0x175, %ecx\nwrmsr", "mov $0x176, %ecx\nwrmsr", "mov $0x3a, %ecx\nrdmsr"],
      onExit: [`mov ${L2_EAX}, %ebx\n${record("%ebx")}`],
    });
    // RDMSR 0x174 is L0's (L2's SYSENTER_CS from the VMCS); WRMSR 0x175 exits; 0x176's write and
    // 0x3A's read are L0's; IA32_FEATURE_CONTROL (0x3A, L0's answer under --nested vmx) came back.
    expect(run.results).toEqual([CPUID, 0x1234, WRMSR, 0x681e, VMCALL, 5]);
    const all = await runL2({ l2: ["mov $0x174, %ecx\nrdmsr", "wrmsr"] });
    expect(all.results).toEqual([RDMSR, WRMSR, VMCALL]);
  });
});

describe("VM entry: the guest-state checks and the MSR areas", () => {
  it("a guest state that fails a check is exit 33 to HOST_RIP (bit 31 set); the VMCS stays clear, so VMRESUME fails with 5", async () => {
    const run = await runL2({ setup: [write(F.GUEST_RFLAGS, 0)], onExit: [read(F.EXIT_QUALIFICATION)], l2: [], after: [step("vmresume"), recordError] });
    expect(run.results).toEqual([(ENTRY_FAILURE | 33) >>> 0, 0, FAIL_VALID, 5]);
  });

  it("a VMCS link pointer other than all ones that is no VMCS region is exit 33 with qualification 4", async () => {
    const run = await runL2({ setup: [write(F.VMCS_LINK_POINTER, 0x7000)], onExit: [read(F.EXIT_QUALIFICATION)], l2: [] });
    expect(run.results).toEqual([(ENTRY_FAILURE | 33) >>> 0, 4]);
  });

  it("segments are checked: CS with a 4 GiB limit and byte granularity, SS.RPL unlike CS.RPL, TR not a busy TSS", async () => {
    for (const bad of [write(F.GUEST_CS_ACCESS_RIGHTS, 0x409b), write(F.GUEST_SS_SELECTOR, 0x13), write(F.GUEST_TR_ACCESS_RIGHTS, 0x89)]) {
      const run = await runL2({ setup: [bad], l2: [] });
      expect(run.results).toEqual([(ENTRY_FAILURE | 33) >>> 0]);
    }
  });

  it("the VM-entry MSR-load area loads L2's MSRs, the VM-exit MSR-store area saves them; a failing entry is exit 34 with its number", async () => {
    const entry = (at: number, msr: number, value: number) => `movl $${msr}, ${at}\nmovl $0, ${at + 4}\nmovl $${value}, ${at + 8}\nmovl $0, ${at + 12}`;
    const ok = await runL2({
      setup: [entry(MSR_AREA, 0x174, 0x42), write(F.ENTRY_MSR_LOAD_ADDRESS, MSR_AREA), write(F.ENTRY_MSR_LOAD_COUNT, 1),
        entry(MSR_AREA + 0x100, 0x174, 0), write(F.EXIT_MSR_STORE_ADDRESS, MSR_AREA + 0x100), write(F.EXIT_MSR_STORE_COUNT, 1)],
      l2: ["mov $0x43, %eax\nmov $0x174, %ecx\nxor %edx, %edx\nwrmsr"],
      onExit: [read(F.GUEST_SYSENTER_CS), `mov ${MSR_AREA + 0x108}, %ebx\n${record("%ebx")}`],
    });
    // At the WRMSR's exit L2's SYSENTER_CS is 0x42, from the load area; L1 completes nothing of it, so it stays.
    expect(ok.results).toEqual([WRMSR, 0x42, 0x42, VMCALL, 0x42, 0x42]);
    const failing = await runL2({
      setup: [entry(MSR_AREA, 0x174, 0x42), entry(MSR_AREA + 16, 0x999, 0), write(F.ENTRY_MSR_LOAD_ADDRESS, MSR_AREA), write(F.ENTRY_MSR_LOAD_COUNT, 2)],
      l2: [], onExit: [read(F.EXIT_QUALIFICATION)],
    });
    expect(failing.results).toEqual([(ENTRY_FAILURE | 34) >>> 0, 2]);
  });

  it("controls: an invalid event to inject, or an MSR area that is not 16-byte aligned, is VMfailValid 7", async () => {
    for (const bad of [write(F.ENTRY_INTERRUPTION_INFO, 0x80000120), [write(F.EXIT_MSR_STORE_ADDRESS, MSR_AREA + 8), write(F.EXIT_MSR_STORE_COUNT, 1)].join("\n")]) {
      const run = await runL2({ setup: [bad], l2: [], after: [recordError] });
      expect(run.results).toEqual([LAUNCH_FAILED | FAIL_VALID, 7]);
    }
  });
});

describe("an L1 that points L2 at garbage", () => {
  it("L2's code outside what its page tables map: the #PF is L1's exit when it asks, as the SDM says", async () => {
    const run = await runL2({ setup: [write(F.GUEST_RIP, 0x7ff000), write(F.EXCEPTION_BITMAP, 1 << 14)], l2: [], onExit: [read(F.EXIT_QUALIFICATION)], endOn: [EXCEPTION] });
    expect(run.results).toEqual([EXCEPTION, 0x7ff000]);
  });

  it("L2's page directory outside RAM reads as all ones: its faults end in a triple fault, an exit to L1", async () => {
    const run = await runL2({ setup: [write(F.GUEST_CR3, 0xfffff000)], l2: [], endOn: [TRIPLE_FAULT] });
    expect(run.result.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(run.results).toEqual([TRIPLE_FAULT]);
  });

  it("bitmaps and MSR areas outside RAM: every port exits; an entry outside RAM fails with exit 34", async () => {
    const io = await runL2({
      setup: [write(F.PRIMARY_CONTROLS, PRIMARY_DEFAULT1 | USE_IO_BITMAPS), write(F.IO_BITMAP_A, 0xfffff000), write(F.IO_BITMAP_A + 1, 0), write(F.IO_BITMAP_B, 0xffffe000), write(F.IO_BITMAP_B + 1, 0)],
      l2: ["out %al, $0x80"],
    });
    expect(io.results).toEqual([IO, VMCALL]);
    const msr = await runL2({ setup: [write(F.ENTRY_MSR_LOAD_ADDRESS, 0xfffffff0), write(F.ENTRY_MSR_LOAD_COUNT, 1)], l2: [], onExit: [read(F.EXIT_QUALIFICATION)] });
    expect(msr.results).toEqual([(ENTRY_FAILURE | 34) >>> 0, 1]);
  });

  it("a machine whose L2 runs is not saved: saveState says why", async () => {
    const run = await runL2({ l2: ["1: jmp 1b"] });
    expect(run.result.stop.kind).toBe("instruction-limit");
    expect(() => run.vm.saveState()).toThrow(UnsaveableStateError);
    expect(() => run.vm.saveState()).toThrow(/while its guest hypervisor.s guest \(L2\) runs/);
  });
});

describe("an L1 that enters L2 with garbage state", () => {
  /** A small deterministic generator (xorshift32), so each case is the same on every run. */
  function random(seed: number): () => number {
    let x = seed;
    return () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
  }
  const guestFields = Object.entries(F).filter(([name]) => name.startsWith("GUEST_")).map(([, encoding]) => encoding);
  const endings = ["guest-exit", "triple-fault", "instruction-limit", "halted", "exception", "no-progress"];

  it("random values in its guest-state fields end as an entry failure, an exit to L1 or a clean stop, never a throw", async () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 12; seed++) {
      const next = random(seed * 2654435761);
      const garbage = Array.from({ length: 1 + (next() % 6) }, () => write(guestFields[next() % guestFields.length], next() & (next() % 2 ? 0xffffffff : 0xffff)));
      const run = await runL2({ setup: garbage, l2: ["cpuid"], endOn: [EXCEPTION, TRIPLE_FAULT, CPUID] });
      expect(endings).toContain(run.result.stop.kind);
      if (run.results.length > 0) seen.add(run.results[0]);
    }
    expect(seen.size).toBeGreaterThan(1); // the cases reach different ends (entry failures and exits)
  });
});
