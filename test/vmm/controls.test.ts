// Every VM-execution control the VMM uses, shown on the real core from a guest: the exit appears
// when the control is set and disappears when it is clear.
import { describe, expect, it } from "vitest";
import * as L from "../../assembly/vmcs-layout.js";
import type { VirtualMachine } from "../../src/vmm/virtual-machine.js";
import { coreHasInterruptWindowExits, exitsOf, runTiny, withTables } from "../support/tiny-guest.js";

/** Tiny guests here end with `cli; hlt` so that they need no I/O exit to stop. */
const END = "cli\nhlt";

function primary(vm: VirtualMachine, bits: number, on: boolean): void {
  const controls = vm.vmcs.get(L.C_PRIMARY);
  vm.vmcs.set(L.C_PRIMARY, on ? controls | bits : controls & ~bits);
}

/** Runs `source` with `setup(vm, on)` and returns how many exits with `reason` it took. */
async function exitCount(source: string, reason: number, on: boolean, setup: (vm: VirtualMachine, on: boolean) => void): Promise<number> {
  const run = await runTiny(source, {}, (vm) => setup(vm, on));
  return exitsOf(run, reason).length;
}

async function expectControl(source: string, reason: number, setup: (vm: VirtualMachine, on: boolean) => void, times = 1): Promise<void> {
  expect(await exitCount(source, reason, true, setup)).toBe(times);
  expect(await exitCount(source, reason, false, setup)).toBe(0);
}

const windowExits = await coreHasInterruptWindowExits();

describe("VM-execution controls: the exit appears when set and disappears when clear", () => {
  it("HLT exiting (without it the core halts the guest and the VMM learns of it at the end of the entry)", async () => {
    await expectControl(END, L.EXIT_HLT, (vm, on) => primary(vm, L.CTL_HLT_EXITING, on));
    const run = await runTiny(END, {}, (vm) => primary(vm, L.CTL_HLT_EXITING, false));
    expect(run.result.stop).toEqual({ kind: "halted", interruptsEnabled: false });
  });

  it("INVLPG exiting", async () => {
    await expectControl(`invlpg 0x4000\n${END}`, L.EXIT_INVLPG, (vm, on) => primary(vm, L.CTL_INVLPG_EXITING, on));
  });

  it("RDTSC exiting", async () => {
    await expectControl(`rdtsc\n${END}`, L.EXIT_RDTSC, (vm, on) => primary(vm, L.CTL_RDTSC_EXITING, on));
  });

  it("CR3-load exiting (a value outside the target list)", async () => {
    await expectControl(`mov $0x7000, %eax\nmov %eax, %cr3\n${END}`, L.EXIT_CR_ACCESS, (vm, on) => primary(vm, L.CTL_CR3_LOAD_EXITING, on));
  });

  it.skipIf(!windowExits)("interrupt-window exiting (guest interruptible)", async () => {
    await expectControl(`sti\nnop\nnop\n${END}`, L.EXIT_INTERRUPT_WINDOW, (vm, on) => primary(vm, L.CTL_INTERRUPT_WINDOW, on));
  });

  it("unconditional I/O exiting (I/O bitmaps off)", async () => {
    await expectControl(`out %al, $0x80\n${END}`, L.EXIT_IO, (vm, on) => primary(vm, L.CTL_UNCONDITIONAL_IO, on));
  });

  it("use I/O bitmaps: an access exits when its port's bit is set in bitmap A or B", async () => {
    const source = `out %al, $0x80\nout %al, $0x81\nmov $0x8001, %dx\nout %al, %dx\n${END}`;
    const bitmaps = (vm: VirtualMachine, on: boolean) => {
      primary(vm, L.CTL_UNCONDITIONAL_IO, false);
      primary(vm, L.CTL_USE_IO_BITMAPS, on);
      const memory = new Uint8Array(vm.core.memory.buffer);
      memory[L.IO_BITMAP_A + (0x80 >> 3)] |= 1 << (0x80 & 7);
      memory[L.IO_BITMAP_B + (0x0001 >> 3)] |= 1 << (0x0001 & 7);
    };
    const run = await runTiny(source, {}, (vm) => bitmaps(vm, true));
    expect(exitsOf(run, L.EXIT_IO).map((e) => e.qualification >>> 16)).toEqual([0x80, 0x8001]);
    expect(await exitCount(source, L.EXIT_IO, false, bitmaps)).toBe(0);
  });

  it("the exception bitmap (clear: the guest's own #UD handler runs)", async () => {
    const source = `mov $0x90000, %esp\n${withTables({ 6: "ud_handler" })}\nud2\nud_handler:\n${END}`;
    await expectControl(source, L.EXIT_EXCEPTION, (vm, on) => vm.vmcs.set(L.C_EXCEPTION_BITMAP, on ? 1 << 6 : 0));
  });

  it("the CR0 guest/host mask (CR0.WP owned)", async () => {
    const source = `mov %cr0, %eax\nor $0x10000, %eax\nmov %eax, %cr0\n${END}`;
    await expectControl(source, L.EXIT_CR_ACCESS, (vm, on) => vm.vmcs.set(L.C_CR0_MASK, on ? 0x10000 : 0));
  });

  it("the CR4 guest/host mask (CR4.PSE owned)", async () => {
    const source = `mov $0x10, %eax\nmov %eax, %cr4\n${END}`;
    await expectControl(source, L.EXIT_CR_ACCESS, (vm, on) => vm.vmcs.set(L.C_CR4_MASK, on ? 0x10 : 0));
  });
});
