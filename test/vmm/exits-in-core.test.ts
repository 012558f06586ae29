// Exits the core completes itself (assembly/vm/exits-in-core.ts, src/vmm/exits-in-core.ts): CPUID
// from the VM's CPU model and IN/OUT to a latched port (the UARTs' scratch registers). They must
// be the same exits as the VMM's, only cheaper: the same answers, registers, retired count and
// exit counts as with every exit going to the VMM (which a listener forces), and the benchmark's
// figure must still be one real exit per iteration.

import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { EXIT_CPUID, EXIT_IO } from "../../assembly/vmcs-layout.js";
import { Reg } from "../../src/core/vmcs.js";
import { COM1_PORT, SCRATCH_REGISTER } from "../../src/devices/serial-16550.js";
import { VirtualMachine } from "../../src/vmm/virtual-machine.js";
import { assemble } from "../core/harness.js";
import { kernelElf } from "../support/images.js";
import { EXIT_OK, GUEST_CODE, core } from "../support/tiny-guest.js";

const LEAVES = [0, 1, 2, 0x40000000, 0x40000001, 0x40000005, 0x4fffffff, 0x50000000, 0x80000000, 0x80000001, 0xffffffff];
const SCRATCH = COM1_PORT + SCRATCH_REGISTER;

// Each pass: every leaf's answer folded into EDI/EBP, OUT of several sizes to the scratch register
// and IN back, and a CPUID in the shadow of STI (which must take the VMM's path). 300 passes
// compile the loop.
const GUEST = `
mov $300, %esi
xor %edi, %edi
xor %ebp, %ebp
pass:
${LEAVES.map((leaf) => `mov $${leaf}, %eax\ncpuid\nadd %eax, %edi\nadd %ebx, %ebp\nxor %ecx, %edi\nadd %edx, %ebp`).join("\n")}
mov $${SCRATCH}, %edx
mov %esi, %eax
out %al, %dx
mov $0xffffffff, %eax
in %dx, %al
add %eax, %edi
mov $0x1234, %eax
out %ax, %dx
in %dx, %ax
add %eax, %ebp
in %dx, %eax
add %eax, %edi
cli
mov $1, %eax
sti
cpuid
cli
add %ebx, %ebp
dec %esi
jnz pass
mov %esi, %eax
mov %esi, %eax
mov $${SCRATCH}, %edx
mov $0x5a, %al
out %al, %dx
${EXIT_OK}`;

async function run(watched: boolean) {
  const vm = await VirtualMachine.boot(kernelElf(assemble(GUEST, GUEST_CODE)), { core, memoryMiB: 8 });
  const unsubscribe = vm.onExit(() => {});
  if (!watched) unsubscribe(); // exits may go to the core again
  const query = vi.spyOn(vm.cpuid, "query");
  const write = vi.spyOn(vm.pc.com1, "write");
  const result = vm.run({ maxInstructions: 1_000_000 });
  const regs = [Reg.EAX, Reg.EBX, Reg.ECX, Reg.EDX, Reg.ESI, Reg.EDI, Reg.EBP].map((r) => vm.vmcs.reg(r));
  const counts = vm.statistics().exits.map(({ reason, count }) => [reason, count]);
  return { vm, result, regs, counts, queries: query.mock.calls.length, writes: write.mock.calls.length };
}

describe("exits the core completes itself", () => {
  it("give the guest what the VMM gives it, and count as the same exits", async () => {
    const plain = await run(false);
    const watched = await run(true);
    expect(plain.result.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(plain.result.stop).toEqual(watched.result.stop);
    expect(plain.regs).toEqual(watched.regs);
    expect(plain.result.instructions).toBe(watched.result.instructions);
    expect(plain.counts).toEqual(watched.counts);
    expect(plain.vm.saveState().length).toBeGreaterThan(0);
    // Watched, the VMM answered every CPUID (12 a pass) and took every scratch write; plain, only
    // the CPUID in the STI shadow (one a pass) and none of the writes.
    expect(watched.queries).toBe(300 * (LEAVES.length + 1));
    expect(plain.queries).toBe(300);
    expect(watched.writes).toBeGreaterThanOrEqual(601);
    expect(plain.writes).toBe(watched.writes - 601);
    // The UART model sees the register the core kept, and so does a saved machine.
    expect(plain.vm.bus.read(SCRATCH, 1)).toBe(0x5a);
    const restored = await VirtualMachine.restore(plain.vm.saveState(), { core });
    expect(restored.bus.read(SCRATCH, 1)).toBe(0x5a);
    expect(restored.statistics().exits).toEqual(plain.vm.statistics().exits);
  });

  // What `wasmvisor bench` times: the guest's loop of N operations between markers 1 and 2, and
  // the same loop without the operation between 2 and 3, the markers' printing costing the same.
  // Each iteration of the first must be one real exit, counted.
  it("still make one exit per iteration of the benchmark's loops", async () => {
    const n = 5000;
    const marks: Record<string, { cpuid: number; io: number }> = {};
    let line = "";
    let vm: VirtualMachine | undefined = undefined;
    vm = await VirtualMachine.boot(readFileSync(new URL("../../guests/vmexit.elf", import.meta.url)), {
      core,
      cmdline: `vmexit.elf ${n} cpuid ${n} out ${n} in`,
      serialOutput: (byte) => {
        if (byte !== 10) return void (line += String.fromCharCode(byte));
        if (line.startsWith("@")) marks[line] = { cpuid: vm!.stats.count(EXIT_CPUID), io: vm!.stats.count(EXIT_IO) };
        line = "";
      },
    });
    const query = vi.spyOn(vm.cpuid, "query");
    expect(vm.run({ maxInstructions: 50_000_000 }).stop).toEqual({ kind: "guest-exit", code: 0 });
    const loop = (word: string, kind: "cpuid" | "io") => {
      const [one, two, three] = ["1", "2", "3"].map((m) => marks[`@${m} ${word}`][kind]);
      return two - one - (three - two);
    };
    expect(loop("cpuid", "cpuid")).toBe(n);
    expect(loop("out", "io")).toBe(n);
    expect(loop("in", "io")).toBe(n);
    expect(query.mock.calls.length).toBeLessThan(n); // the loops' CPUIDs were the core's
  });
});
