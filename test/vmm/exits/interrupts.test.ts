// External interrupts from the VMM: the injector (inject when interruptible, else interrupt-window
// exiting), the interrupt timer, and the exits that drive them (1, 7, 12).
import { describe, expect, it } from "vitest";
import {
  C_PREEMPTION_TIMER,
  C_PRIMARY,
  CTL_INTERRUPT_WINDOW,
  E_INTR_INFO,
  G_EFLAGS,
  G_INSTRET_LO,
  G_INTERRUPTIBILITY,
  X_INSTRUCTION_LENGTH,
} from "../../../assembly/vmcs-layout.js";
import { handleExternalInterrupt } from "../../../src/vmm/exits/external-interrupt.js";
import { handleHlt } from "../../../src/vmm/exits/hlt.js";
import { handleInterruptWindow } from "../../../src/vmm/exits/interrupt-window.js";
import { FakeContext } from "./fake-context.js";

const external = (vector: number) => (0x80000000 | vector) >>> 0;
const windowExiting = (vm: FakeContext) => (vm.vmcs.get(C_PRIMARY) & CTL_INTERRUPT_WINDOW) !== 0;

function guest(eflags: number, interruptibility = 0): FakeContext {
  const vm = new FakeContext();
  vm.vmcs.set(G_EFLAGS, eflags);
  vm.vmcs.set(G_INTERRUPTIBILITY, interruptibility);
  return vm;
}

describe("InterruptInjector", () => {
  it("injects at once through E_INTR_INFO (external interrupt) when IF = 1 and nothing blocks", () => {
    const vm = guest(0x202);
    vm.interrupts.request(0x30);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(external(0x30));
    expect(windowExiting(vm)).toBe(false);
  });

  it.each([
    ["IF = 0", 0x2, 0],
    ["blocking by STI", 0x202, 1],
    ["blocking by MOV SS", 0x202, 2],
  ])("with %s sets interrupt-window exiting instead, and the window exit injects", (_, eflags, blocking) => {
    const vm = guest(eflags, blocking);
    vm.interrupts.request(0x30);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(0);
    expect(windowExiting(vm)).toBe(true);
    vm.vmcs.set(G_EFLAGS, 0x202);
    vm.vmcs.set(G_INTERRUPTIBILITY, 0);
    handleInterruptWindow(vm);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(external(0x30));
    expect(windowExiting(vm)).toBe(false);
  });

  it("one event per VM entry: a second interrupt keeps the window open until the first is delivered", () => {
    const vm = guest(0x202);
    vm.interrupts.request(0x30);
    vm.interrupts.request(0x31);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(external(0x30));
    expect(windowExiting(vm)).toBe(true);
    vm.vmcs.set(E_INTR_INFO, 0); // the core delivered it
    handleInterruptWindow(vm);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(external(0x31));
    expect(windowExiting(vm)).toBe(false);
  });

  it("refuses a vector outside 0-255", () => {
    expect(() => guest(0x202).interrupts.request(256)).toThrow(RangeError);
  });

  it("a vector raised again while it waits is one interrupt, as a request-register bit is", () => {
    const vm = guest(0); // IF = 0: everything waits
    for (let i = 0; i < 100_000; i++) vm.interrupts.request(0x30 + (i % 3));
    expect(vm.interrupts.pending).toBe(3);
    expect(vm.interrupts.saveState().waiting).toEqual([0x30, 0x31, 0x32]);
  });
});

describe("the interrupt timer and the external-interrupt exit", () => {
  it("keeps deadlines in order and hands over the due ones at the exit", () => {
    const vm = guest(0x202);
    vm.vmcs.set(C_PREEMPTION_TIMER, 1_000_000);
    vm.timer.schedule(0x41, 300);
    vm.timer.schedule(0x40, 100);
    expect(vm.timer.next).toBe(100);
    expect(vm.vmcs.get(C_PREEMPTION_TIMER)).toBe(100);
    vm.vmcs.set(G_INSTRET_LO, 100);
    handleExternalInterrupt(vm);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(external(0x40));
    expect(vm.timer.next).toBe(300);
  });

  it("has one deadline per vector: scheduling it again moves it, so a loop of schedules stays bounded", () => {
    const vm = guest(0x202);
    vm.timer.schedule(0x40, 100);
    vm.timer.schedule(0x41, 200);
    vm.timer.schedule(0x40, 300);
    expect(vm.timer.saveState().deadlines).toEqual([{ at: 200, vector: 0x41 }, { at: 300, vector: 0x40 }]);
    for (let i = 0; i < 200_000; i++) vm.timer.schedule(32 + (i % 224), 0x7fffffff - i);
    expect(vm.timer.saveState().deadlines).toHaveLength(224);
  });

  it("refuses a vector or an instruction count the timer cannot hold", () => {
    const vm = guest(0x202);
    for (const [vector, instructions] of [[256, 1], [-1, 1], [0x40, -1], [0x40, 0.5], [0x40, Number.NaN]]) {
      expect(() => vm.timer.schedule(vector, instructions)).toThrow(RangeError);
    }
  });
});

describe("handleHlt with interrupts to come", () => {
  function halted(eflags: number, setup: (vm: FakeContext) => void): FakeContext {
    const vm = guest(eflags, 1);
    vm.vmcs.set(X_INSTRUCTION_LENGTH, 1);
    setup(vm);
    handleHlt(vm);
    return vm;
  }

  it("skips the idle time to the timer's next deadline: the interrupt arrives at once", () => {
    const vm = halted(0x202, (v) => v.timer.schedule(0x40, 5000));
    expect(vm.stops).toEqual([]);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(external(0x40));
    expect(vm.timer.next).toBe(Infinity);
  });

  it("`sti; hlt`: the STI shadow ends with the HLT, so a waiting interrupt is injected", () => {
    const vm = halted(0x202, (v) => {
      v.interrupts.request(0x40);
      expect(v.vmcs.get(E_INTR_INFO)).toBe(0);
    });
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(external(0x40));
    expect(vm.stops).toEqual([]);
  });

  it("`cli; hlt` with a deadline to come still can never wake", () => {
    const vm = halted(0x2, (v) => v.timer.schedule(0x40, 5000));
    expect(vm.stops).toEqual([{ kind: "halted", interruptsEnabled: false }]);
  });
});
