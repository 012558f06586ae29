import { describe, expect, it } from "vitest";
import { loadMultibootKernel, qemuStyleCmdline } from "../../src/loader/multiboot.js";
import { kernelElf } from "../support/images.js";

describe("loadMultibootKernel", () => {
  it("copies the kernel, writes the boot information after it and reports the entry state", () => {
    const ram = new Uint8Array(4 << 20);
    const loaded = loadMultibootKernel(ram, kernelElf(new Uint8Array([0xf4])), "k");
    expect(loaded.entry).toBe(0x10000c);
    expect(loaded.bootInfoAddr).toBe(0x101000);
    expect(loaded.end).toBeGreaterThan(loaded.bootInfoAddr);
    expect(ram[0x10000c]).toBe(0xf4);
  });
});

describe("qemuStyleCmdline", () => {
  it("is the kernel's path, then the appended text if any, as QEMU's -kernel/-append", () => {
    expect(qemuStyleCmdline("guests/hello.elf")).toBe("guests/hello.elf");
    expect(qemuStyleCmdline("guests/hello.elf", "a b")).toBe("guests/hello.elf a b");
  });
});
