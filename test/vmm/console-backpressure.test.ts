// The guest's console when the host has no room for more output (VirtualMachineOptions.consoleRoom,
// e.g. a stdout pipe nobody reads): the guest waits as it would for slow hardware or a full pipe,
// and nothing is lost. COM1's transmitter stays busy, so a polling driver spins on LSR and a
// driver on THRE interrupts halts until the host has drained (vm.consoleDrained()); the
// console-write hypercall writes short.

import { describe, expect, it } from "vitest";
import { Reg } from "../../src/core/vmcs.js";
import { VirtualMachine } from "../../src/vmm/virtual-machine.js";
import { bootTiny, core, withTables } from "../support/tiny-guest.js";

/** A host console that takes `room` more bytes; the test gives it more. */
function hostConsole() {
  const host = { room: 0, text: "" };
  const options = {
    serialOutput: (byte: number) => {
      host.text += String.fromCharCode(byte);
      host.room--;
    },
    consoleRoom: () => host.room,
  };
  return { host, options };
}

/**
 * Runs the guest with room for `first` bytes for `budget` instructions (it must still be waiting
 * then), then with room to spare until it exits; returns what it had written while stalled.
 */
function stallThenFree(vm: VirtualMachine, host: { room: number; text: string }, first: number, budget: number): string {
  host.room = first;
  expect(vm.run({ maxInstructions: budget }).stop.kind).toBe("instruction-limit");
  const stalled = host.text;
  host.room = 100;
  expect(vm.run({ maxInstructions: 2 * budget }).stop).toEqual({ kind: "guest-exit", code: 0 });
  return stalled;
}

const EXIT = "movb $0, %al\nout %al, $0xf4";

/** Writes "hello\n" on COM1 a byte per THRE interrupt (the PIC at vectors 0x20-0x2F, IRQ 4 alone unmasked), halting in between. */
const THRE_GUEST = `mov $0x90000, %esp
  ${withTables({ 0x24: "thre" })}
  mov $0x11, %al; out %al, $0x20; mov $0x20, %al; out %al, $0x21
  mov $0x04, %al; out %al, $0x21; mov $0x01, %al; out %al, $0x21
  mov $0xef, %al; out %al, $0x21
  mov $msg, %esi
  mov $0x3fc, %dx; mov $0x08, %al; out %al, %dx
  mov $0x3f9, %dx; mov $0x02, %al; out %al, %dx
  sti
  1: hlt
  jmp 1b
  thre: mov $0x3fa, %dx; in %dx, %al
  lodsb
  test %al, %al
  jz 2f
  mov $0x3f8, %dx; out %al, %dx
  mov $0x20, %al; out %al, $0x20
  iret
  2: ${EXIT}
  msg: .asciz "hello\\n"`;

describe("a guest whose console the host cannot take", () => {
  it("COM1, polled: the guest waits on LSR.THRE and goes on, losing nothing, once there is room", async () => {
    const { host, options } = hostConsole();
    const { vm } = await bootTiny(
      `mov $msg, %esi
      1: mov $0x3fd, %dx
      2: in %dx, %al
      test $0x20, %al
      jz 2b
      lodsb
      test %al, %al
      jz 3f
      mov $0x3f8, %dx
      out %al, %dx
      jmp 1b
      3: ${EXIT}
      msg: .asciz "hello\\n"`,
      options,
    );
    expect(stallThenFree(vm, host, 2, 200_000)).toBe("he");
    expect(host.text).toBe("hello\n");
  });

  it("console-write hypercall: a short write, continued by the guest once there is room", async () => {
    const { host, options } = hostConsole();
    const { vm } = await bootTiny(
      `mov $0x10000, %edi
      mov $msg, %ebx
      mov $6, %ecx
      1: mov $1, %eax
      vmcall
      stosl
      add %eax, %ebx
      sub %eax, %ecx
      jnz 1b
      ${EXIT}
      msg: .ascii "hello\\n"`,
      options,
    );
    expect(stallThenFree(vm, host, 4, 200)).toBe("hell");
    expect(host.text).toBe("hello\n");
    // What each call returned (the guest stored EAX at EDI): 4, then 0 while there was no room, then 2.
    const returned = [...new Int32Array(vm.ram.slice(0x10000, vm.vmcs.reg(Reg.EDI)).buffer)];
    expect(returned.length).toBeGreaterThan(3);
    expect(returned).toEqual([4, ...Array(returned.length - 2).fill(0), 2]);
  });

  it("COM1 on THRE interrupts: the guest halts while the transmitter is busy and is woken once the host has drained", async () => {
    const { host, options } = hostConsole();
    const { vm } = await bootTiny(THRE_GUEST, options);
    host.room = 3;
    let drainedAt = "";
    const onSliceEnd = () => {
      if (host.text !== "hel" || drainedAt !== "") return;
      drainedAt = host.text;
      host.room = 100;
      vm.consoleDrained();
    };
    expect(vm.run({ timeoutSeconds: 10, onSliceEnd }).stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(drainedAt).toBe("hel");
    expect(host.text).toBe("hello\n");
  });

  it("a machine saved while its console had no room runs on where it is restored, which has", async () => {
    const { host, options } = hostConsole();
    const { vm } = await bootTiny(THRE_GUEST, options);
    host.room = 3;
    // Halted with COM1's transmitter busy, it waits for the host to drain until the run's limit.
    expect(vm.run({ timeoutSeconds: 0.2 }).stop).toEqual({ kind: "timeout", seconds: 0.2 });
    expect(host.text).toBe("hel");
    const elsewhere = hostConsole();
    elsewhere.host.room = 100;
    const restored = await VirtualMachine.restore(vm.saveState(), { core, ...elsewhere.options });
    expect(restored.run({ timeoutSeconds: 10 }).stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(elsewhere.host.text).toBe("lo\n");
  });
});
