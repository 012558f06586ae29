// Every run is bounded: whatever the guest does, VirtualMachine.run() with an instruction budget
// and a wall-clock limit returns with a clear stop reason in about the time it was given. Each
// guest runs on a worker thread under a watchdog (in-worker.ts), so a run that does not end fails
// its test instead of hanging the test run.
import { describe, it, expect } from "vitest";
import { guestKernel, runInWorker } from "./in-worker";

const LIMITS = { maxInstructions: 2_000_000, timeoutSeconds: 1 };
const WATCHDOG = 6;
// For runs that must end some other way before the wall clock does: a limit far beyond what they
// need (under a second on an idle machine), so that a machine loaded by other work cannot make the
// wall clock win the race.
const LATE = { timeoutSeconds: 30, watchdog: 50 }; // the watchdog within vitest's 60 s per test

// A guest with its own GDT at 0x20000 (flat code 0x08 and data 0x10, and 0x18: flat data with
// B = 0, a 16-bit stack whose SP wraps within the first 64 KiB) and an IDT at 0x30000 whose gate
// for `vector` leads to `handler`; then `body`. Multiboot promises no GDT, no IDT and no stack.
function withHandler(vector: number, handler: string, body: string, stack16 = false): string {
  const at = 0x30000 + vector * 8;
  return [
    "movl $0x0000ffff, 0x20008\nmovl $0x00cf9b00, 0x2000c\nmovl $0x0000ffff, 0x20010\nmovl $0x00cf9300, 0x20014",
    "movl $0x0000ffff, 0x20018\nmovl $0x008f9300, 0x2001c",
    "lgdt gdtr\nljmp $8, $1f\n1: mov $0x10, %ax\nmov %ax, %ds\nmov %ax, %es",
    stack16 ? "mov $0x18, %ax\nmov %ax, %ss\nmov $0x8000, %esp" : "mov %ax, %ss\nmov $0x90000, %esp",
    `mov $handler, %eax\nmov %ax, ${at}\nmovw $8, ${at + 2}\nmovw $0x8e00, ${at + 4}\nshr $16, %eax\nmov %ax, ${at + 6}`,
    "lidt idtr\njmp 2f",
    "gdtr: .word 0x1f\n.long 0x20000\nidtr: .word 0x7ff\n.long 0x30000",
    `handler: ${handler}`,
    `2: ${body}`,
  ].join("\n");
}

describe("every run ends with a clear reason", () => {
  it("an endless loop with interrupts off stops at the instruction budget", async () => {
    const run = await runInWorker(guestKernel("cli\n1: jmp 1b"), LIMITS, WATCHDOG);
    expect(run.stop).toEqual({ kind: "instruction-limit", limit: LIMITS.maxInstructions });
  });

  it("an endless loop stops at the wall-clock limit when no budget is given", async () => {
    const run = await runInWorker(guestKernel("cli\n1: jmp 1b"), { timeoutSeconds: 0.5 }, WATCHDOG);
    expect(run.stop).toEqual({ kind: "timeout", seconds: 0.5 });
    expect(run.seconds).toBeLessThan(2);
  });

  it("HLT with interrupts off and nothing pending stops as halted", async () => {
    const run = await runInWorker(guestKernel("cli\nhlt"), LIMITS, WATCHDOG);
    expect(run.stop).toEqual({ kind: "halted", interruptsEnabled: false });
  });

  it("HLT with interrupts on but no interrupt source ends within the limits", async () => {
    const run = await runInWorker(guestKernel("sti\nhlt\njmp .-1"), LIMITS, WATCHDOG);
    expect(run.hung).toBe(false);
    expect(["halted", "timeout", "instruction-limit"]).toContain(run.stop?.kind);
    expect(run.seconds).toBeLessThan(3);
  });

  it("an exception storm (every instruction faults, the handler returns to it) stops at the budget", async () => {
    const limits = { maxInstructions: 100_000, timeoutSeconds: LATE.timeoutSeconds };
    const run = await runInWorker(guestKernel(withHandler(6, "iret", "ud2")), limits, LATE.watchdog);
    expect(run.stop).toEqual({ kind: "instruction-limit", limit: limits.maxInstructions });
  });

  // The handler faults itself: each #UD is delivered by pushing a frame on a 16-bit stack that
  // wraps within 64 KiB, forever, and not one instruction retires.
  const storm = withHandler(6, "ud2", "ud2", true);

  it("an exception storm that retires nothing is stopped as making no progress, before the wall-clock limit", async () => {
    const run = await runInWorker(guestKernel(storm), { ...LIMITS, timeoutSeconds: LATE.timeoutSeconds }, LATE.watchdog);
    expect(run.stop?.kind).toBe("no-progress");
  });

  it("an exception storm that retires nothing ends even with an instruction budget alone", async () => {
    // the budget counts retired instructions, and a faulting one never retires: the VMM ends a
    // run that spends a whole slice without retiring anything
    const run = await runInWorker(guestKernel(storm), { maxInstructions: 1_000_000 }, LATE.watchdog);
    expect(run.hung, "the run never ended").toBe(false);
    expect(run.stop?.kind).toBe("no-progress");
  });

  it("a triple fault stops the run", async () => {
    const run = await runInWorker(guestKernel("lidt idtr\nud2\nidtr: .word 0\n.long 0"), LIMITS, WATCHDOG);
    expect(run.stop).toEqual({ kind: "triple-fault" });
  });

  it("one REP STOSB over 4 GiB stops at the wall-clock limit", async () => {
    const run = await runInWorker(guestKernel("cli\nmov $0x1000000, %edi\nmov $-1, %ecx\nrep stosb\nhlt"), LIMITS, WATCHDOG);
    expect(run.hung, "the run never ended").toBe(false);
    expect(run.seconds).toBeLessThan(3);
  });
});
