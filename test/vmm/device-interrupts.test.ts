// Device interrupts end to end inside the VMM: the PIC pair as the injector's interrupt controller
// (acknowledged only when the guest can take the interrupt), the virtual clock the timers run on,
// and a halted guest idling until a device event wakes it.
import { describe, expect, it } from "vitest";
import { ACTIVITY_HLT, C_PRIMARY, CTL_INTERRUPT_WINDOW, E_INTR_INFO, G_ACTIVITY, G_EFLAGS, G_INTERRUPTIBILITY } from "../../assembly/vmcs-layout.js";
import { DualPic } from "../../src/devices/pic-8259.js";
import { handleHlt } from "../../src/vmm/exits/hlt.js";
import { handleInterruptWindow } from "../../src/vmm/exits/interrupt-window.js";
import { handlePreemptionTimer } from "../../src/vmm/exits/preemption-timer.js";
import { VirtualClock } from "../../src/vmm/virtual-clock.js";
import { FakeContext } from "./exits/fake-context.js";

const external = (vector: number) => (0x80000000 | vector) >>> 0;

function withPic(eflags: number): { vm: FakeContext; pic: DualPic } {
  const vm = new FakeContext();
  vm.vmcs.set(G_EFLAGS, eflags);
  const pic = new DualPic(() => vm.interrupts.deliver());
  vm.interrupts.controller = pic;
  for (const [chip, base, cascade] of [[pic.master, 0x20, 4], [pic.slave, 0x28, 2]] as const) {
    chip.write(0, 1, 0x11);
    chip.write(1, 1, base);
    chip.write(1, 1, cascade);
    chip.write(1, 1, 0x01);
    chip.write(1, 1, 0x00);
  }
  return { vm, pic };
}

describe("the PIC as the injector's interrupt controller", () => {
  it("injects the PIC's vector when the guest is interruptible, running INTA then", () => {
    const { vm, pic } = withPic(0x202);
    pic.setIrq(4, true);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(external(0x24));
    expect(pic.master.isr).toBe(0x10);
  });

  it("opens an interrupt window while IF = 0 and acknowledges only when the window comes", () => {
    const { vm, pic } = withPic(0x2);
    pic.setIrq(14, true);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(0);
    expect(vm.vmcs.get(C_PRIMARY) & CTL_INTERRUPT_WINDOW).toBe(CTL_INTERRUPT_WINDOW);
    pic.setIrq(1, true); // a higher-priority request arrives meanwhile ...
    vm.vmcs.set(G_EFLAGS, 0x202);
    handleInterruptWindow(vm);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(external(0x21)); // ... and is the one taken
    vm.vmcs.set(E_INTR_INFO, 0);
    pic.master.write(0, 1, 0x20); // EOI
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(external(0x2e));
  });

  it("counts the PIC's INTR as a pending interrupt", () => {
    const { vm, pic } = withPic(0x2);
    expect(vm.interrupts.pending).toBe(0);
    pic.setIrq(0, true);
    expect(vm.interrupts.pending).toBe(1);
  });
});

describe("a halted guest and vm.idle()", () => {
  it("stays halted (activity state HLT) while idling may still wake it", () => {
    const vm = new FakeContext();
    vm.vmcs.set(G_EFLAGS, 0x202);
    vm.canWake = true;
    handleHlt(vm);
    expect(vm.idled).toBe(1);
    expect(vm.stops).toEqual([]);
    expect(vm.vmcs.get(G_ACTIVITY)).toBe(ACTIVITY_HLT);
  });

  it("wakes a guest halted after `sti; hlt` when a device interrupts: the STI shadow ended with the HLT", () => {
    const { vm, pic } = withPic(0x202);
    vm.vmcs.set(G_ACTIVITY, ACTIVITY_HLT);
    vm.vmcs.set(G_INTERRUPTIBILITY, 1); // what the core still reports: it retired nothing since
    pic.master.write(1, 1, 0xff); // masked while it arrives, so it waits in IRR
    pic.setIrq(4, true);
    pic.master.write(1, 1, 0x00);
    vm.vmcs.set(E_INTR_INFO, 0);
    handlePreemptionTimer(vm);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(external(0x24));
    expect(vm.stops).toEqual([]);
  });

  it("does not idle with interrupts disabled", () => {
    const vm = new FakeContext();
    vm.vmcs.set(G_EFLAGS, 0x2);
    vm.canWake = true;
    handleHlt(vm);
    expect(vm.idled).toBe(0);
    expect(vm.stops).toEqual([{ kind: "halted", interruptsEnabled: false }]);
  });
});

describe("VirtualClock", () => {
  it("is 10 ns per retired instruction and gives the budget to the next event", () => {
    let retired = 1000;
    const clock = new VirtualClock(() => retired);
    expect(clock.now()).toBe(10_000);
    const fired: string[] = [];
    clock.schedule(25_000, () => fired.push("b"));
    clock.schedule(15_005, () => fired.push("a"));
    expect(clock.instructionsUntilNext()).toBe(501);
    retired = 1501;
    clock.runDue();
    expect(fired).toEqual(["a"]);
  });

  it("jumps to the next event while the guest is halted, and reports the instructions skipped", () => {
    const clock = new VirtualClock(() => 0);
    const fired: number[] = [];
    const event = clock.schedule(5000, () => fired.push(1));
    clock.schedule(9000, () => fired.push(2));
    event.cancel();
    expect(clock.skipToNextEvent()).toBe(900);
    expect(fired).toEqual([2]);
    expect(clock.now()).toBe(9000);
    expect(clock.skipToNextEvent()).toBeUndefined();
  });

  it("under the real clock follows the host's time and never skips", () => {
    const clock = new VirtualClock(() => 0, "real");
    clock.schedule(1e12, () => {});
    expect(clock.skipToNextEvent()).toBeUndefined();
    expect(clock.instructionsUntilNext()).toBeGreaterThan(0);
  });
});
