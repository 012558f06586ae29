// Several VMs in one process, and on worker threads, share nothing: two different guests run side
// by side, each filling 1 MiB of its RAM with its own pattern and then searching all of its RAM
// for the other's (computed at run time, so its code does not contain it), and exit 0 only when
// they did not find it. Their RAM, registers, console output and statistics stay their own.
import { describe, it, expect } from "vitest";
import { VirtualMachine } from "../../src/index";
import { guestKernel, runInWorker } from "./in-worker";

const A = 0xaaaaaaaa, B = 0xbbbbbbbb, FLIP = 0x11111111; // A ^ FLIP == B
const MIB = 8;

// Search guest RAM (from 0) for the value in %edx; exit 1 if found, else 0.
const SEARCH = `xor %esi, %esi\nmov $${(MIB << 20) / 4}, %ecx\ncld\n1: lodsl\ncmp %edx, %eax\nje 2f\nloop 1b
movb $0, %al\noutb %al, $0xf4\n2: movb $1, %al\noutb %al, $0xf4`;
const PRINT = (c: string) => `mov $0x3f8, %dx\nmovb $'${c}', %al\noutb %al, %dx`;

// Guest A fills with REP STOSD, guest B with a loop of its own; both say who they are on COM1.
const guestA = guestKernel([PRINT("A"), "cli\nmov $0x200000, %edi\nmov $0x40000, %ecx\nmov $" + A + ", %eax\ncld\nrep stosl",
  "mov $" + A + ", %edx\nxor $" + FLIP + ", %edx", SEARCH].join("\n"));
const guestB = guestKernel([PRINT("B"), "mov $0x300000, %ebx\nmov $0x40000, %ecx\n3: movl $" + B + ", (%ebx)\nadd $4, %ebx\ndec %ecx\njnz 3b",
  "mov $" + B + ", %edx\nxor $" + FLIP + ", %edx", SEARCH].join("\n"));

function count(vm: VirtualMachine, value: number): number {
  const words = new Uint32Array(vm.ram.buffer, vm.ram.byteOffset, vm.ram.byteLength >>> 2);
  return words.reduce((n, w) => (w === value ? n + 1 : n), 0);
}

describe("VMs side by side", () => {
  it("two VMs in one process, run in alternating slices, see only their own memory", async () => {
    const output = { a: "", b: "" };
    const vmA = await VirtualMachine.boot(guestA, { memoryMiB: MIB, serialOutput: (c) => { output.a += String.fromCharCode(c); } });
    const vmB = await VirtualMachine.boot(guestB, { memoryMiB: MIB, serialOutput: (c) => { output.b += String.fromCharCode(c); } });
    const stops = new Map<VirtualMachine, string>();
    for (let limit = 50_000; stops.size < 2 && limit < 100_000_000; limit += 50_000) {
      for (const vm of [vmA, vmB]) {
        if (stops.has(vm)) continue;
        const { stop } = vm.run({ maxInstructions: limit, timeoutSeconds: 30 });
        if (stop.kind !== "instruction-limit") stops.set(vm, JSON.stringify(stop));
      }
    }
    expect(stops.get(vmA)).toBe(JSON.stringify({ kind: "guest-exit", code: 0 }));
    expect(stops.get(vmB)).toBe(JSON.stringify({ kind: "guest-exit", code: 0 }));
    expect(count(vmA, A)).toBeGreaterThanOrEqual(0x40000); // and its code's immediates, if aligned
    expect(count(vmB, B)).toBeGreaterThanOrEqual(0x40000);
    expect([count(vmA, B), count(vmB, A)]).toEqual([0, 0]);
    expect(output).toEqual({ a: "A", b: "B" });
    expect(vmA.core.memory).not.toBe(vmB.core.memory);
    expect(vmA.registerDump()).not.toEqual(vmB.registerDump());
    expect(vmA.instructionsRetired()).not.toBe(vmB.instructionsRetired());
  });

  it("two VMs on worker threads, running at the same time, see only their own memory", async () => {
    const limits = { maxInstructions: 100_000_000, timeoutSeconds: 30 };
    const [a, b] = await Promise.all([
      runInWorker(guestA, limits, 60, { memoryMiB: MIB, patterns: [A, B] }),
      runInWorker(guestB, limits, 60, { memoryMiB: MIB, patterns: [A, B] }),
    ]);
    expect(a.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(b.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(a.counts![0]).toBeGreaterThanOrEqual(0x40000);
    expect(b.counts![1]).toBeGreaterThanOrEqual(0x40000);
    expect([a.counts![1], b.counts![0]]).toEqual([0, 0]);
  });
});
