// Fixture for the protected-mode and interrupt tests (assembly/cpu/protected.ts, interrupts.ts):
// a TestCpu with a larger GDT (ring 0/3 segments, a TSS, gates, broken descriptors), a guest IDT
// whose every vector leads to a tiny ring-0 stub `movl $(0xE000+v), %ebp; hlt`, and a 32-bit TSS
// holding the ring-0 stack. Tests check which vector arrived (EBP) and the frame on the stack.
import { TestCpu, descriptor, gate, assemble, GDT_BASE, CODE_BASE, AR_CODE3, AR_DATA3 } from "./harness";
import * as L from "../../assembly/vmcs-layout";

export const IDT_BASE = 0x4000;
export const TSS_BASE = 0x3000;
export const LDT_BASE = 0x3800;
export const HANDLERS = 0x20000; // vector v's stub at HANDLERS + 16 * v
export const RING0_CODE = 0x30000; // free space for ring-0 routines a test assembles
export const RING0_STACK = 0x70000; // ESP0 in the TSS
export const RING3_STACK = 0x60000;
export const FLAT_STACK = 0x90000; // the harness's ring-0 ESP

export const SEL = {
  CODE0: 0x08, DATA0: 0x10, CODE3: 0x1b, DATA3: 0x23,
  TSS: 0x28, // 32-bit TSS at TSS_BASE (busy, loaded in TR)
  CONFORMING0: 0x30, // conforming code, DPL 0
  NOTPRESENT: 0x38, // writable data, DPL 0, not present
  XONLY: 0x40, // execute-only code, DPL 0
  CALLGATE3: 0x48, // 32-bit call gate, DPL 3 -> CODE0:RING0_CODE, 2 parameters
  RODATA3: 0x53, // read-only data, DPL 3
  LDT: 0x58, // LDT at LDT_BASE, 4 entries
  TASKGATE: 0x60,
  TSS_AVAIL: 0x68, // a second 32-bit TSS, available
  BASED0: 0x70, // code, DPL 0, base CODE_BASE, limit 0xFFFF (byte granular), 32-bit
  CALLGATE0: 0x78, // 32-bit call gate, DPL 0 -> CODE0:RING0_CODE
  SMALLSTACK0: 0x80, // writable data, DPL 0, limit 0xFFF
  DATA1: 0x88, // writable data, DPL 1
  CODE16: 0x90, // 16-bit code, DPL 0, base 0, limit 0xFFFF
  CALLGATE16: 0x98, // 16-bit call gate, DPL 3 -> CODE16:0x1000, 1 parameter
  LDT_DATA: 0x0c, // LDT entry 1 (TI=1): data DPL 0, base 0x5000
} as const;

export const handlerAddr = (v: number): number => HANDLERS + 16 * v;
export const EXIT = { EXCEPTION: 0, TRIPLE_FAULT: 2, HLT: 12, VMCALL: 18 } as const;

export function gdtEntries(): [number, number][] {
  return [
    [0, 0],
    descriptor(0, 0xfffff, 0x9a, 0xc), // 0x08
    descriptor(0, 0xfffff, 0x92, 0xc), // 0x10
    descriptor(0, 0xfffff, 0xfa, 0xc), // 0x18
    descriptor(0, 0xfffff, 0xf2, 0xc), // 0x20
    descriptor(TSS_BASE, 0x67, 0x8b, 0), // 0x28 busy TSS32
    descriptor(0, 0xfffff, 0x9e, 0xc), // 0x30 conforming
    descriptor(0, 0xfffff, 0x12, 0xc), // 0x38 not present
    descriptor(0, 0xfffff, 0x98, 0xc), // 0x40 execute-only
    gate(SEL.CODE0, RING0_CODE, 0xc, 3, 2), // 0x48
    descriptor(0, 0xfffff, 0xf0, 0xc), // 0x50 read-only data DPL 3
    descriptor(LDT_BASE, 0x1f, 0x82, 0), // 0x58 LDT
    [0x00280000, 0x0000e500], // 0x60 task gate, DPL 3, TSS selector 0x28
    descriptor(TSS_BASE + 0x100, 0x67, 0x89, 0), // 0x68 available TSS32
    descriptor(CODE_BASE, 0xffff, 0x9a, 0x4), // 0x70
    gate(SEL.CODE0, RING0_CODE, 0xc, 0, 0), // 0x78
    descriptor(0, 0xfff, 0x92, 0x4), // 0x80
    descriptor(0, 0xfffff, 0xb2, 0xc), // 0x88
    descriptor(0, 0xffff, 0x9a, 0x0), // 0x90
    gate(SEL.CODE16, 0x1000, 0x4, 3, 1), // 0x98
  ];
}

// A CPU in flat ring-0 protected mode with the fixture's GDT, IDT, TSS and LDT.
export function pmCpu(options: { jit?: boolean } = {}): TestCpu {
  const cpu = new TestCpu(1 << 20, options);
  cpu.writeGdt(GDT_BASE, gdtEntries());
  // LDT: entry 1 is data DPL 0 based at 0x5000.
  const [lo, hi] = descriptor(0x5000, 0xfff, 0x92, 0x4);
  cpu.write32(LDT_BASE + 8, lo);
  cpu.write32(LDT_BASE + 12, hi);
  for (let v = 0; v < 256; v++) {
    const at = handlerAddr(v);
    cpu.load(at, new Uint8Array([0xbd, v, 0xe0, 0, 0, 0xf4])); // movl $(0xE000+v), %ebp; hlt
    setGate(cpu, v, gate(SEL.CODE0, at, 0xe, 0));
  }
  cpu.setVmcs(L.G_IDTR_BASE, IDT_BASE);
  cpu.setVmcs(L.G_IDTR_LIMIT, 256 * 8 - 1);
  cpu.write32(TSS_BASE + 4, RING0_STACK); // ESP0
  cpu.write32(TSS_BASE + 8, SEL.DATA0); // SS0
  cpu.setSegment(L.SR_TR, SEL.TSS, TSS_BASE, 0x67, 0x8b);
  cpu.setReg("ebp", 0);
  return cpu;
}

export function setGate(cpu: TestCpu, vector: number, g: [number, number]): void {
  cpu.write32(IDT_BASE + vector * 8, g[0]);
  cpu.write32(IDT_BASE + vector * 8 + 4, g[1]);
}
export function setGdt(cpu: TestCpu, sel: number, d: [number, number]): void {
  cpu.write32(GDT_BASE + (sel & ~7), d[0]);
  cpu.write32(GDT_BASE + (sel & ~7) + 4, d[1]);
}
export function clearPresent(cpu: TestCpu, vector: number): void {
  const at = IDT_BASE + vector * 8 + 4;
  cpu.write32(at, cpu.read32(at) & ~0x8000);
}

// Switch the CPU to ring 3 (flat CODE3/DATA3, ESP = RING3_STACK) before a run.
export function enterRing3(cpu: TestCpu): void {
  cpu.setSegment(L.SR_CS, SEL.CODE3, 0, 0xffffffff, AR_CODE3);
  for (const s of [L.SR_SS, L.SR_DS, L.SR_ES, L.SR_FS, L.SR_GS]) cpu.setSegment(s, SEL.DATA3, 0, 0xffffffff, AR_DATA3);
  cpu.setReg("esp", RING3_STACK);
}

// Assemble `source` at CODE_BASE and run it; returns the exit reason.
export function runAt(cpu: TestCpu, source: string, origin = CODE_BASE): number {
  cpu.load(origin, assemble(source, origin));
  cpu.eip = origin;
  return cpu.run(100_000);
}
// Place a ring-0 routine at RING0_CODE.
export function loadRing0(cpu: TestCpu, source: string): void {
  cpu.load(RING0_CODE, assemble(source, RING0_CODE));
}
// After a handler stub stopped at its HLT: which vector it was (or -1).
export function vectorTaken(cpu: TestCpu): number {
  const ebp = cpu.reg("ebp");
  return (ebp & 0xff00) === 0xe000 ? ebp & 0xff : -1;
}
export function stack(cpu: TestCpu, count: number): number[] {
  const esp = cpu.reg("esp");
  return Array.from({ length: count }, (_, i) => cpu.read32(esp + 4 * i));
}
// Resume after a HLT exit (the VMM's job: skip the HLT).
export function resume(cpu: TestCpu): number {
  cpu.eip = cpu.eip + 1;
  return cpu.run(100_000);
}
