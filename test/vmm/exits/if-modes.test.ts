// The VMM's half of the interrupt-flag modes: trap mode's exits completed by emulate(), and
// classic mode's #GP from CLI/STI emulated on the virtual IF (or reflected into the guest).
import { describe, expect, it } from "vitest";
import {
  C_PRIMARY,
  CTL_INTERRUPT_WINDOW,
  E_INTR_ERROR,
  E_INTR_INFO,
  EXIT_EXCEPTION,
  EXIT_TRIPLE_FAULT,
  G_CPL,
  G_EFLAGS,
  G_EIP,
  G_IDTR_BASE,
  G_IDTR_LIMIT,
  G_INTERRUPTIBILITY,
  X_INTR_ERROR,
  X_INTR_INFO,
  X_VECTORING_INFO,
} from "../../../assembly/vmcs-layout.js";
import { handleException } from "../../../src/vmm/exits/exception.js";
import { handleIfTrap } from "../../../src/vmm/exits/if-trap.js";
import { FakeContext } from "./fake-context.js";

describe("trap mode: CLI/STI/PUSHF/POPF/IRET exits", () => {
  it("completes the instruction with the core's emulate()", () => {
    const vm = new FakeContext({ ifMode: "trap" });
    handleIfTrap(vm);
    expect(vm.emulated).toBe(1);
    expect(vm.dispatched).toEqual([]);
  });

  it.each([
    ["an intercepted exception (reason 0)", EXIT_EXCEPTION],
    ["a triple fault", EXIT_TRIPLE_FAULT],
  ])("handles the exit emulate() ran into next: %s", (_, reason) => {
    const vm = new FakeContext({ ifMode: "trap" });
    vm.emulateExit = reason;
    handleIfTrap(vm);
    expect(vm.dispatched).toEqual([reason]);
  });

  it("offers a waiting interrupt once the emulated STI/POPF has set IF", () => {
    const vm = new FakeContext({ ifMode: "trap" });
    vm.interrupts.request(0x40); // IF = 0: waits
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(0);
    vm.vmcs.set(G_EFLAGS, 0x202); // what emulate() of POPF did
    handleIfTrap(vm);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(0x80000040);
  });
});

/** A classic-mode #GP exit with the bytes `code` at EIP 0x3000. */
function classicGp(code: number[], setup: (vm: FakeContext) => void = () => {}): FakeContext {
  const vm = new FakeContext({ ifMode: "classic" });
  vm.interrupts.flag.reset();
  vm.ram.set(code, 0x3000);
  vm.vmcs.set(G_EIP, 0x3000);
  vm.vmcs.set(X_INTR_INFO, 0x80000b0d);
  vm.vmcs.set(X_INTR_ERROR, 0);
  setup(vm);
  handleException(vm);
  return vm;
}

describe("classic mode: #GP from a deprivileged guest kernel", () => {
  it("the real IF is set at boot, the virtual IF is the guest's (clear)", () => {
    const vm = new FakeContext({ ifMode: "classic" });
    vm.vmcs.set(G_EFLAGS, 0x2);
    vm.interrupts.flag.reset();
    expect(vm.vmcs.get(G_EFLAGS) & 0x200).toBe(0x200);
    expect(vm.interrupts.flag.enabled()).toBe(false);
  });

  it("STI: virtual IF set, EIP past it, an STI shadow for the next instruction", () => {
    const vm = classicGp([0xfb]);
    expect(vm.interrupts.flag.enabled()).toBe(true);
    expect(vm.vmcs.get(G_EIP)).toBe(0x3001);
    expect(vm.vmcs.get(G_INTERRUPTIBILITY)).toBe(1);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(0);
  });

  it("CLI with prefixes: virtual IF clear, EIP past the prefixes too", () => {
    const vm = classicGp([0x66, 0x2e, 0xfa], (v) => v.interrupts.flag.setVirtual(true));
    expect(vm.interrupts.flag.enabled()).toBe(false);
    expect(vm.vmcs.get(G_EIP)).toBe(0x3003);
  });

  it("a waiting interrupt is injected after the STI shadow: interrupt-window exiting is set", () => {
    const vm = classicGp([0xfb], (v) => v.interrupts.request(0x40));
    expect(vm.vmcs.get(C_PRIMARY) & CTL_INTERRUPT_WINDOW).toBe(CTL_INTERRUPT_WINDOW);
  });

  it("while the virtual IF is clear no window is opened: the VMM waits for the guest's STI", () => {
    const vm = classicGp([0xfa], (v) => v.interrupts.request(0x40));
    expect(vm.vmcs.get(C_PRIMARY) & CTL_INTERRUPT_WINDOW).toBe(0);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(0);
  });

  it("any other #GP is reflected into the guest with its error code", () => {
    const vm = classicGp([0x0f, 0x22, 0xd8], (v) => v.vmcs.set(X_INTR_INFO, 0x80000b0d));
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(0x80000b0d);
    expect(vm.vmcs.get(E_INTR_ERROR)).toBe(0);
    expect(vm.vmcs.get(G_EIP)).toBe(0x3000);
  });

  it("a #GP raised while an interrupt was delivered is reflected, though EIP points at a CLI", () => {
    const vm = classicGp([0xfa], (v) => {
      v.vmcs.set(X_INTR_INFO, 0x80000b0d);
      v.vmcs.set(X_VECTORING_INFO, 0x80000040);
      v.interrupts.flag.setVirtual(true);
    });
    expect(vm.interrupts.flag.enabled()).toBe(true);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(0x80000b0d);
    expect(vm.vmcs.get(G_EIP)).toBe(0x3000);
  });

  it("CLI at CPL 3 with IOPL 0 is the guest's own #GP: reflected, not emulated", () => {
    const vm = classicGp([0xfa], (v) => {
      v.vmcs.set(G_CPL, 3);
      v.interrupts.flag.setVirtual(true);
    });
    expect(vm.interrupts.flag.enabled()).toBe(true);
    expect(vm.vmcs.get(E_INTR_INFO)).toBe(0x80000b0d);
  });

  it("an interrupt injected through an interrupt gate clears the virtual IF; through a trap gate it does not", () => {
    for (const [type, after] of [[0xe, false], [0xf, true]] as const) {
      const vm = new FakeContext({ ifMode: "classic" });
      vm.vmcs.set(G_IDTR_BASE, 0x8000);
      vm.vmcs.set(G_IDTR_LIMIT, 0x7ff);
      vm.ram[0x8000 + 0x40 * 8 + 5] = 0x80 | type;
      vm.interrupts.flag.setVirtual(true);
      vm.interrupts.request(0x40);
      expect(vm.vmcs.get(E_INTR_INFO)).toBe(0x80000040);
      expect(vm.interrupts.flag.enabled()).toBe(after);
    }
  });

  it("#GP is not special outside classic mode: an intercepted #GP ends the run", () => {
    const vm = new FakeContext({ ifMode: "vt" });
    vm.vmcs.set(X_INTR_INFO, 0x80000b0d);
    handleException(vm);
    expect(vm.stops).toEqual([{ kind: "exception", vector: 13, errorCode: 0 }]);
  });
});
