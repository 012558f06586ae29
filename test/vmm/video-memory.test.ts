// The std-VGA's video memory in the core: guest-physical addresses at PCI BAR 0 reach the host's
// 2 MiB block (and nothing past it), BAR sizing unmaps it as QEMU does, and a saved machine keeps
// the pictures, the palette, the dispi mode and where BAR 0 is.

import { describe, expect, it } from "vitest";
import { DEVICE_MEMORY_BYTES } from "../../assembly/vmcs-layout.js";
import { Reg } from "../../src/core/vmcs.js";
import { STD_VGA_LFB_ADDRESS } from "../../src/devices/pci-functions.js";
import { VirtualMachine } from "../../src/vmm/virtual-machine.js";
import { EXIT_OK, core, runTiny } from "../support/tiny-guest.js";

const LFB = STD_VGA_LFB_ADDRESS;
const selectBar0 = "mov $0xcf8, %dx\nmov $0x80001010, %eax\nout %eax, %dx\nmov $0xcfc, %dx";

describe("video memory at PCI BAR 0", () => {
  it("takes the guest's stores and loads of every width, and reads as all ones just past its end", async () => {
    const { vm, result } = await runTiny(`
      movl $0x11223344, ${LFB}
      movw $0x5566, ${LFB + 4}
      movb $0x77, ${LFB + DEVICE_MEMORY_BYTES - 1}
      movl $0xdeadbeef, ${LFB + DEVICE_MEMORY_BYTES}
      mov ${LFB + DEVICE_MEMORY_BYTES}, %ebx
      mov $${LFB + 0x1000}, %edi
      mov $0xabababab, %eax
      mov $16, %ecx
      rep stosl
      mov ${LFB}, %ebp
      mov ${LFB + DEVICE_MEMORY_BYTES - 2}, %ecx
      ${EXIT_OK}`);
    expect(result.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect([...vm.videoMemory.subarray(0, 6)]).toEqual([0x44, 0x33, 0x22, 0x11, 0x66, 0x55]);
    expect(vm.videoMemory[DEVICE_MEMORY_BYTES - 1]).toBe(0x77);
    expect(vm.videoMemory.subarray(0x1000, 0x1040).every((b) => b === 0xab)).toBe(true);
    expect(vm.videoMemory[0x1040]).toBe(0);
    expect(vm.vmcs.reg(Reg.EBP)).toBe(0x11223344);
    expect(vm.vmcs.reg(Reg.EBX)).toBe(0xffffffff); // unassigned: the store there went nowhere
    expect(vm.vmcs.reg(Reg.ECX)).toBe(0xffff7700); // two bytes inside, two past the end
  });

  it("unmaps while BAR 0 holds all ones (sizing) and follows the BAR when the guest moves it", async () => {
    const { vm, result } = await runTiny(`
      ${selectBar0}
      mov $0xffffffff, %eax
      out %eax, %dx
      movl $1, ${LFB}
      mov ${LFB}, %esi
      mov $0xe0000000, %eax
      out %eax, %dx
      movl $2, 0xe0000010
      mov $${LFB | 8}, %eax
      out %eax, %dx
      mov ${LFB + 0x10}, %edi
      ${EXIT_OK}`);
    expect(result.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(vm.videoMemory[0]).toBe(0);
    expect(vm.vmcs.reg(Reg.ESI)).toBe(0xffffffff);
    expect(vm.vmcs.reg(Reg.EDI)).toBe(2);
  });

  it("is saved and restored with the palette, the dispi mode and BAR 0", async () => {
    const { vm } = await runTiny(`
      ${selectBar0}
      mov $0xe0000000, %eax
      out %eax, %dx
      mov $0x1ce, %dx
      mov $1, %ax
      out %ax, %dx
      mov $640, %ax
      inc %dx
      out %ax, %dx
      dec %dx
      mov $2, %ax
      out %ax, %dx
      inc %dx
      mov $480, %ax
      out %ax, %dx
      dec %dx
      mov $4, %ax
      out %ax, %dx
      inc %dx
      mov $0x41, %ax
      out %ax, %dx
      movb $4, %al
      mov $0x3c8, %dx
      out %al, %dx
      inc %dx
      mov $0x3f, %al
      out %al, %dx
      out %al, %dx
      out %al, %dx
      movl $0x04040404, 0xe0000100
      ${EXIT_OK}`);
    const before = new Uint8Array(640 * 480 * 4);
    vm.pc.display.render(before);
    const restored = await VirtualMachine.restore(vm.saveState(), { core });
    expect(restored.pc.display.mode()).toEqual(vm.pc.display.mode());
    expect(restored.pc.display.mode().frame.base).toBe(0xe0000000);
    const after = new Uint8Array(640 * 480 * 4);
    restored.pc.display.render(after);
    expect(Buffer.compare(after, before)).toBe(0);
    expect([...after.subarray(0x100 * 4, 0x100 * 4 + 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(restored.videoMemory[0x100]).toBe(4);
  });
});
