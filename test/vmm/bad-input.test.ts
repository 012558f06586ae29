// The embedding API refuses bad input with an error whose message is one line: a kernel that
// cannot be booted (LoadError), options out of range (RangeError), run limits that would make a
// run never end or never start (RangeError), and a kernel that is not bytes at all (TypeError).

import { describe, expect, it } from "vitest";
import { instantiateCore } from "../../src/core/core.js";
import { LoadError } from "../../src/loader/load-error.js";
import { VirtualMachine, type VirtualMachineOptions } from "../../src/vmm/virtual-machine.js";
import { elf32, exitWith, kernelElf, multibootHeader } from "../support/images.js";
import { core } from "../support/tiny-guest.js";

async function refusal(action: () => Promise<unknown> | unknown): Promise<Error> {
  try {
    await action();
  } catch (error) {
    expect((error as Error).message).not.toContain("\n");
    return error as Error;
  }
  throw new Error("expected an error");
}

const good = kernelElf(exitWith(0));

describe("VirtualMachine.boot refuses", () => {
  it.each([
    ["no Multiboot header", new Uint8Array(64), "not a Multiboot kernel: no Multiboot header (magic 0x1badb002) in the first 8 KiB"],
    ["an ELF for another machine", elf32({ entry: 0x100000, machine: 40, segments: [{ paddr: 0x100000, data: multibootHeader(0) }] }), "ELF machine 40 is not i386 (EM_386 = 3)"],
    ["a kernel beyond guest memory", elf32({ entry: 0x900000, segments: [{ paddr: 0x900000, data: multibootHeader(0) }] }), /^kernel loaded beyond the end of guest memory/],
  ])("a kernel with %s (LoadError)", async (_what, kernel, message) => {
    const error = await refusal(() => VirtualMachine.boot(kernel, { core, memoryMiB: 8 }));
    expect(error).toBeInstanceOf(LoadError);
    expect(error.message).toMatch(message);
  });

  it.each<[Partial<VirtualMachineOptions>, string]>([
    [{ memoryMiB: 0 }, "guest memory must be a whole number of MiB from 1 to 2048, not 0"],
    [{ memoryMiB: 100_000 }, "guest memory must be a whole number of MiB from 1 to 2048, not 100000"],
    [{ memoryMiB: 1.5 }, "guest memory must be a whole number of MiB from 1 to 2048, not 1.5"],
    [{ cr3Targets: 7 }, "cr3Targets must be a whole number from 0 to 4, not 7"],
    [{ ifMode: "fast" as never }, 'ifMode must be one of vt, trap, classic, bt, not "fast"'],
    [{ cpuidVendor: "xen" as never }, 'cpuidVendor must be one of wasmvisor, kvm, hyperv, vmware, none, not "xen"'],
    [{ cr3Policy: "random" as never }, 'cr3Policy must be one of lru, fifo, not "random"'],
  ])("options %j (RangeError)", async (options, message) => {
    const error = await refusal(() => VirtualMachine.boot(good, { core, ...options }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe(message);
  });

  it("guest RAM the host will not give (RangeError), as a browser tab may refuse 2 GiB", async () => {
    const instance = await instantiateCore(core);
    // Leave the core's memory less than 2 GiB short of WebAssembly's 4 GiB: its memory.grow fails.
    instance.memory.grow(65536 - instance.memory.buffer.byteLength / 65536 - 16384);
    const error = await refusal(() => VirtualMachine.boot(good, { core: instance, memoryMiB: 2048 }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe("cannot allocate 2048 MiB of guest RAM: the host refused the memory (try less)");
  });

  it("a kernel that is not bytes (TypeError)", async () => {
    const error = await refusal(() => VirtualMachine.boot("guests/hello.elf" as never, { core }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("the kernel must be the file's bytes as a Uint8Array, not string");
  });
});

describe("vm.run refuses limits that would never end or never start a run", () => {
  it.each([
    [{ maxInstructions: -5 }, "maxInstructions must be a whole number of instructions, 0 or more, not -5"],
    [{ maxInstructions: NaN }, "maxInstructions must be a whole number of instructions, 0 or more, not NaN"],
    [{ maxInstructions: 2.5 }, "maxInstructions must be a whole number of instructions, 0 or more, not 2.5"],
    [{ timeoutSeconds: 0 }, "timeoutSeconds must be a positive number of seconds, not 0"],
    [{ timeoutSeconds: NaN }, "timeoutSeconds must be a positive number of seconds, not NaN"],
    [{ sliceInstructions: 0 }, "sliceInstructions must be a whole number of instructions, 1 or more, not 0"],
  ])("%j", async (limits, message) => {
    const vm = await VirtualMachine.boot(good, { core, memoryMiB: 4 });
    const error = await refusal(() => vm.run(limits));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe(message);
    expect(vm.run({ maxInstructions: Infinity, timeoutSeconds: 5 }).stop).toEqual({ kind: "guest-exit", code: 0 });
  });
});
