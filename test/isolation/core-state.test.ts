// The core's own state cannot be reached from the guest: whatever a guest writes, and wherever,
// the VMCS controls, the I/O bitmaps, the core's tables, and (while unused) the block cache and
// the shadow-paging state stay as they were (the fuzzer's ProtectedMemory check), and nothing
// outside guest RAM depends on the values the guest wrote: each attack runs twice, writing
// 0x00000000 and then 0xDEADBEEF, and every byte of the core's memory outside RAM must come out
// the same. The attacks: writes to every page beyond RAM, the same through page tables (PTEs and
// page tables beyond RAM, CR3 beyond RAM), REP STOSD and MOVSD running off the end of RAM and
// wrapping below 0, pushes wrapping the stack around, compiled loops writing across the end of
// RAM, and writes to guest-physical 0x1000-0x3FFF (where the VMCS and bitmaps sit in the core's
// own memory: for the guest it is just RAM).
import { describe, it, expect } from "vitest";
import * as L from "../../assembly/vmcs-layout";
import { loadCoreModule, type BareCore } from "../../src/fuzz/core-module";
import { coreFor, prepareEntry } from "../../src/fuzz/execute";
import type { FuzzCase } from "../../src/fuzz/fuzz-case";
import { ProtectedMemory } from "../../src/fuzz/protected-memory";
import { flatCase } from "../fuzz/replay";

const source = loadCoreModule(new URL("../../build/core.wasm", import.meta.url));
const RAM = 1 << 20;
const VALUE = 0x8000; // the guest loads the value it writes from here (EAX)
const [ESP, EDI, ESI, ECX] = [4, 7, 6, 1];
const PD = 0xc0000, PT = 0xc1000;

interface Attack {
  code: string;
  regs?: Partial<Record<number, number>>;
  /** Page tables, CR3 and other state on top of the flat ring-0 machine. */
  machine?: (c: FuzzCase) => void;
  jit?: boolean;
  /** How the attack ends (default: at its HLT). */
  exit?: number;
}

// Identity-map the first 4 MiB with PTEs of `flags`.
function pagingOn(c: FuzzCase, flags = 7, cr4 = 0): void {
  c.setup.memory.push([PD, "07100c00"]); // PDE 0 -> PT | 7
  c.setup.runs.push([PT, 1024, flags, 0x1000]);
  c.setup.vmcs.push([L.G_CR3, PD], [L.G_CR4, cr4], [L.G_CR0, 0x80000011]);
}

// Runs the attack writing `value`; returns the core and the problems the protected-memory check found.
function attack(a: Attack, value: number): { core: BareCore; problems: string[] } {
  const c = flatCase(`mov ${VALUE}, %eax\n${a.code}\nhlt`, a.regs, [{ budget: 20_000_000 }]);
  c.setup.memory.push([VALUE, Buffer.from(Uint32Array.of(value).buffer).toString("hex")]);
  a.machine?.(c);
  const jit = a.jit ?? false;
  const core = coreFor(source, c, jit);
  prepareEntry(core, -1, c.setup.entries[0]);
  const guard = ProtectedMemory.capture(core);
  const reason = core.exports.run();
  expect(reason, "the attack ended as planned").toBe(a.exit ?? L.EXIT_HLT);
  return { core, problems: guard.violations(jit) };
}

// Everything outside guest RAM, without the VMCS areas that hold guest registers and exit state.
function outsideRam(core: BareCore): Uint8Array {
  const bytes = core.bytes.slice();
  bytes.fill(0, L.VMCS_BASE, L.VMCS_BASE + 0x400);
  bytes.fill(0, core.exports.ramBase(), core.exports.ramBase() + core.exports.ramSize());
  return bytes;
}

const ATTACKS: [string, Attack][] = [
  ["a write to every page beyond RAM", { code: `mov $${RAM}, %edi\n1: mov %eax, (%edi)\nmov %eax, -4(%edi)\nadd $0x1000, %edi\njnz 1b` }],
  ["writes through PTEs that name frames beyond RAM", {
    code: "mov $0x300000, %edi\n1: mov %eax, (%edi)\nadd $0x1000, %edi\ncmp $0x400000, %edi\njne 1b",
    machine: (c) => { pagingOn(c); c.setup.runs.push([PT + 0x300 * 4, 0x100, RAM | 7, 0x1000]); },
  }],
  ["writes through page tables beyond RAM", {
    code: "mov $0x400000, %edi\n1: mov %eax, (%edi)\nadd $0x1000, %edi\ncmp $0x1000000, %edi\njne 1b",
    machine: (c) => { pagingOn(c); c.setup.runs.push([PD + 4, 3, 0x7ff00007, 0x1000]); },
  }],
  ["walks after loading CR3 with an address beyond RAM (every PDE reads as a 4 MiB page there)", {
    // The next fetch walks the directory beyond RAM (its accessed-bit write must go nowhere) and
    // finds unassigned memory (0xFF bytes): #UD, and with no IDT a triple fault. Global
    // translations are not shared between address spaces (each has its own TLB bank:
    // assembly/mmu/tlb.ts), so the code cannot run on from the old space's global entry.
    code: "mov $0x7ff00000, %ebx\nmov %ebx, %cr3\nxor %edi, %edi\n1: mov %eax, (%edi)\nadd $0x400000, %edi\njnz 1b",
    machine: (c) => pagingOn(c, 0x107, 0x90),
    exit: L.EXIT_TRIPLE_FAULT,
  }],
  ["REP STOSD running 1 MiB past the end of RAM", { code: "cld\nrep stosl", regs: { [EDI]: RAM - 0x1000, [ECX]: 0x40400 } }],
  ["REP MOVSD copying beyond RAM", { code: "cld\nrep movsl", regs: { [ESI]: RAM - 0x800, [EDI]: RAM - 0x400, [ECX]: 0x40000 } }],
  ["REP STOSD descending through 0 and wrapping around 4 GiB", { code: "std\nrep stosl\ncld", regs: { [EDI]: 0x400, [ECX]: 0x10000 } }],
  ["pushes wrapping the stack around 4 GiB", { code: "push %eax\npush %eax\npusha\npushw %ax", regs: { [ESP]: 4 } }],
  ["compiled loops writing across the end of RAM", {
    code: `mov $${RAM - 0x2000}, %edi\nmov $0x1000, %ecx\n1: mov %eax, (%edi)\nadd $4, %edi\ndec %ecx\njnz 1b`, jit: true,
  }],
  ["writes to guest-physical 0x1000-0x3fff (the VMCS and bitmaps' offsets in the core)", {
    code: "mov $0x1000, %edi\nmov $0xc00, %ecx\ncld\nrep stosl",
  }],
];

describe("the core's own state is out of the guest's reach", () => {
  it.each(ATTACKS)("%s", (_, a) => {
    const zero = attack(a, 0);
    const dead = attack(a, 0xdeadbeef);
    expect(zero.problems).toEqual([]);
    expect(dead.problems).toEqual([]);
    if (a.jit) expect(dead.core.exports.compiledBlocks(), "blocks compiled").toBeGreaterThan(0);
    if (a.machine) expect(dead.core.vmcs(L.STAT_SHADOW_ROOTS_BUILT), "shadow page tables built").toBeGreaterThan(0);
    const x = outsideRam(zero.core);
    const y = outsideRam(dead.core);
    const at = x.findIndex((b, i) => b !== y[i]);
    expect(at < 0 ? "nothing" : `byte 0x${at.toString(16)}`, "outside RAM, a byte depends on the value written").toBe("nothing");
  });

  it("guest-physical 0x1000 is guest RAM: the guest's writes land there and the VMCS keeps its controls", () => {
    const { core } = attack(ATTACKS[ATTACKS.length - 1][1], 0xdeadbeef);
    expect(new DataView(core.ram.buffer, core.ram.byteOffset).getUint32(0x2000, true).toString(16)).toBe("deadbeef");
    expect(core.vmcs(L.C_PRIMARY)).toBe(L.CTL_HLT_EXITING | L.CTL_UNCONDITIONAL_IO);
  });

});
