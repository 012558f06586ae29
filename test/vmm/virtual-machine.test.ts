// End-to-end: the real core (build/core.wasm) under the VMM, with tiny kernels built in the test
// and with guests/hello.elf.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { G_CR0, G_EFLAGS, G_EIP, SR_CS, SR_DS, SR_SS, EXIT_IO, EXIT_CPUID, EXIT_HLT, EXIT_INTERRUPT_WINDOW, C_PRIMARY, CTL_INTERRUPT_WINDOW } from "../../assembly/vmcs-layout.js";
import { CoreLoadError, compileCore, instantiateCore } from "../../src/core/core.js";
import { Reg } from "../../src/core/vmcs.js";
import { VirtualMachine } from "../../src/vmm/virtual-machine.js";
import { KERNEL_BASE, concat, exitWith, kernelElf, u32s, x86 } from "../support/images.js";

const core = readFileSync(new URL("../../build/core.wasm", import.meta.url));

async function boot(code: Uint8Array, cmdline = "", memoryMiB = 8) {
  const output: number[] = [];
  const vm = await VirtualMachine.create({ core, memoryMiB, serialOutput: (b) => output.push(b) });
  const loaded = vm.loadKernel(kernelElf(code), cmdline);
  return { vm, loaded, output: () => String.fromCharCode(...output) };
}

/** Where `code` starts in guest memory (after the 12-byte Multiboot header). */
const CODE = KERNEL_BASE + 12;

describe("VirtualMachine", () => {
  // An exit handler that throws (here a device model's bug) ends run() with the error, and leaves
  // the VM between runs: no exit handler left set, and saveState() allowed.
  it("a handler that throws ends run() and leaves the VM between runs", async () => {
    const { vm } = await boot(concat(x86.movAl(1), x86.outImmAl(0x80), x86.hlt()));
    vm.bus.register(0x80, 1, { name: "faulty", read: () => 0, write: () => { throw new Error("device bug"); } });
    expect(() => vm.run()).toThrow("device bug");
    expect(vm.saveState().length).toBeGreaterThan(0);
    expect(() => vm.core.run()).not.toThrow(); // the core returns at its first exit: no handler set
  });

  it("enters the kernel in the state the Multiboot spec promises", async () => {
    const { vm, loaded } = await boot(concat(x86.cli(), x86.hlt()));
    const result = vm.run();
    expect(result.stop).toEqual({ kind: "halted", interruptsEnabled: false });
    expect(vm.vmcs.reg(Reg.EAX)).toBe(0x2badb002);
    expect(vm.vmcs.reg(Reg.EBX)).toBe(loaded.bootInfoAddr);
    expect(vm.vmcs.get(G_EIP)).toBe(CODE + 2);
    expect(vm.vmcs.get(G_CR0)).toBe(0x11);
    expect(vm.vmcs.get(G_EFLAGS)).toBe(0x2);
    expect(vm.vmcs.segment(SR_CS)).toEqual({ selector: 8, base: 0, limit: 0xffffffff, ar: 0xc09b });
    expect(vm.vmcs.segment(SR_DS)).toEqual({ selector: 0x10, base: 0, limit: 0xffffffff, ar: 0xc093 });
    expect(vm.vmcs.segment(SR_SS).ar).toBe(0xc093);
    // CLI retired in the core; the HLT exited and was completed by the VMM, so it is not counted.
    expect(result.instructions).toBe(1);
  });

  it("ends the run with the value the guest writes to isa-debug-exit", async () => {
    const { vm } = await boot(concat(x86.movEax(0x1234), x86.outImmEax(0xf4)));
    expect(vm.run().stop).toEqual({ kind: "guest-exit", code: 0x1234 });
  });

  it("sends COM1 output to the serial sink, also through REP OUTSB", async () => {
    const message = new TextEncoder().encode("hi there\n");
    const head = concat(x86.movDx(0x3f8), x86.movAl(0x3e), x86.outDxAl(), x86.movEsi(0), x86.movEcx(message.length), x86.repOutsb(), exitWith(0));
    const code = concat(head.subarray(0, 7), x86.movEsi(CODE + head.length), head.subarray(12), message);
    const { vm, output } = await boot(code);
    expect(vm.run().stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(output()).toBe(">hi there\n");
    expect(vm.stats.count(EXIT_IO)).toBe(3);
  });

  it("answers CPUID as the VMM's CPU model", async () => {
    const { vm } = await boot(concat(x86.movEax(0x40000000), x86.cpuid(), x86.cli(), x86.hlt()));
    vm.run();
    expect(vm.vmcs.reg(Reg.EBX)).toBe(0x6d736177); // "wasm"
    expect(vm.stats.count(EXIT_CPUID)).toBe(1);
    expect(vm.stats.count(EXIT_HLT)).toBe(1);
  });

  it("stops at a triple fault (an exception with no IDT)", async () => {
    const { vm } = await boot(x86.int3());
    expect(vm.run().stop).toEqual({ kind: "triple-fault" });
  });

  it("stops after exactly the instruction budget", async () => {
    const { vm } = await boot(x86.jmpSelf());
    const result = vm.run({ maxInstructions: 12_345, sliceInstructions: 1000 });
    expect(result.stop).toEqual({ kind: "instruction-limit", limit: 12_345 });
    expect(vm.instructionsRetired()).toBe(12_345);
  });

  it("stops at the wall-clock timeout and calls onSliceEnd on the way", async () => {
    const { vm } = await boot(x86.jmpSelf());
    let slices = 0;
    const result = vm.run({ timeoutSeconds: 0.2, sliceInstructions: 100_000, onSliceEnd: () => slices++ });
    expect(result.stop).toEqual({ kind: "timeout", seconds: 0.2 });
    expect(result.seconds).toBeGreaterThanOrEqual(0.2);
    expect(result.seconds).toBeLessThan(2);
    expect(slices).toBeGreaterThan(1);
  });

  it("rejects a memory size outside 1-2048 MiB", async () => {
    await expect(VirtualMachine.create({ core, memoryMiB: 0 })).rejects.toThrow(RangeError);
    await expect(VirtualMachine.create({ core, memoryMiB: 1.5 })).rejects.toThrow(RangeError);
    await expect(VirtualMachine.create({ core, memoryMiB: 2049 })).rejects.toThrow(RangeError);
  });

  // 2048 MiB is 2^31 bytes: one past the largest signed 32-bit number, which a size passed from the
  // core as an i32 would turn negative.
  it("gives a 2048 MiB guest all of it: it writes the last word of RAM, and past it reads all ones", async () => {
    const last = 0x7ffffffc;
    const { vm } = await boot(concat(x86.movEax(0x5a5a1234), new Uint8Array([0xa3]), u32s([last]), new Uint8Array([0x8b, 0x1d]), u32s([last]), new Uint8Array([0x8b, 0x0d]), u32s([last + 4]), exitWith(0)), "", 2048);
    expect(vm.ram.length).toBe(2 ** 31);
    expect(vm.run().stop).toEqual({ kind: "guest-exit", code: 0 });
    expect([vm.vmcs.reg(Reg.EBX), vm.vmcs.reg(Reg.ECX)]).toEqual([0x5a5a1234, 0xffffffff]);
    expect(new DataView(vm.ram.buffer, vm.ram.byteOffset).getUint32(last, true)).toBe(0x5a5a1234);
  });

  it("dumps registers in QEMU's layout", async () => {
    const { vm } = await boot(concat(x86.cli(), x86.hlt()));
    vm.run();
    const dump = vm.registerDump();
    expect(dump).toContain("EAX=2badb002");
    expect(dump).toContain(`EIP=${(CODE + 2).toString(16).padStart(8, "0")} EFL=00000002 [] CPL=0`);
    expect(dump).toContain("CS =0008 00000000 ffffffff 0000c09b");
    expect(dump).toContain("CR0=00000011");
  });

  // Exits that come before any instruction is attempted are no attempts, so the budget's no-progress
  // check never sees them (184f834 was such a storm: interrupt-window exits at every entry). Here a
  // broken injector keeps the window watched, and injects nothing, while the guest is interruptible.
  it("ends an exit storm that retires nothing as no progress, long before the wall-clock limit", async () => {
    const { vm } = await boot(concat(x86.sti(), x86.jmpSelf()));
    vm.run({ maxInstructions: 1000 }); // past STI's shadow, spinning with IF set
    vm.interrupts.deliver = () => vm.vmcs.set(C_PRIMARY, vm.vmcs.get(C_PRIMARY) | CTL_INTERRUPT_WINDOW);
    vm.interrupts.deliver();
    const result = vm.run({ timeoutSeconds: 60 });
    expect(result.stop).toEqual({ kind: "no-progress", attempts: 0, exits: expect.any(Number) });
    expect(result.instructions).toBe(0);
    expect(vm.stats.count(EXIT_INTERRUPT_WINDOW)).toBeGreaterThanOrEqual(1_000_000);
    expect(result.seconds).toBeLessThan(30);
  });
});

describe("guests/hello.elf", () => {
  it("boots, prints its greeting with the Multiboot information, and exits 0", async () => {
    const output: number[] = [];
    const vm = await VirtualMachine.create({ core, serialOutput: (b) => output.push(b) });
    vm.loadKernel(readFileSync(new URL("../../guests/hello.elf", import.meta.url)), "guests/hello.elf one two");
    const result = vm.run({ timeoutSeconds: 30 });
    expect(result.stop).toEqual({ kind: "guest-exit", code: 0 });
    const text = String.fromCharCode(...output);
    expect(text).toContain("Hello from a wasmvisor guest!\n");
    expect(text).toContain("multiboot magic: 2badb002 (ok)\n");
    expect(text).toContain("memory: lower 640 KiB, total 32 MiB (rounded up)\n");
    expect(text).toContain("command line arguments: one two\n");
    expect(text.endsWith("goodbye\n")).toBe(true);
  });
});

describe("instantiateCore", () => {
  it("says where it looked when the core is missing", async () => {
    await expect(instantiateCore(new URL("file:///nonexistent/core.wasm"))).rejects.toThrow(
      new CoreLoadError("guest CPU core /nonexistent/core.wasm: not found (run `npm run build:core`)"),
    );
  });

  it("refuses bytes that are not WebAssembly", async () => {
    await expect(instantiateCore(new Uint8Array([1, 2, 3, 4]))).rejects.toThrow(CoreLoadError);
    await expect(compileCore(new Uint8Array([1, 2, 3, 4]))).rejects.toThrow(CoreLoadError);
  });

  // The browser demo compiles the core once and makes every VM from the module: each is a new
  // instance with memory of its own, so one guest's writes are not another's.
  it("makes independent VMs from one compiled core", async () => {
    const compiled = await compileCore(core);
    const code = concat(x86.movAl(0x41), x86.outImmAl(0x80), x86.hlt());
    const [a, b] = await Promise.all([0, 1].map(() => VirtualMachine.create({ core: compiled, memoryMiB: 4 })));
    for (const vm of [a, b]) vm.loadKernel(kernelElf(code));
    expect(a.core.memory).not.toBe(b.core.memory);
    a.ram[0x5000] = 0xaa;
    expect(b.ram[0x5000]).toBe(0);
    expect(a.run().stop).toEqual(b.run().stop);
  });
});
