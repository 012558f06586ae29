// Shared helpers for the per-family instruction tests: run a snippet on a fresh core with given
// registers, EFLAGS and memory, then compare registers, memory and the SDM-defined flags with the
// values expected. With WV_NATIVE=1 the same snippet also runs as a 32-bit Linux process on the
// host CPU (see native.ts) and the expected values are checked against it, to catch a wrong
// expectation as well as a wrong core.
import { expect } from "vitest";
import { TestCpu, REG_NAMES, type RegName, FLAG } from "./harness";
import { runNative } from "./native";

export const { CF, PF, AF, ZF, SF, OF, DF } = FLAG;
export const ARITH = CF | PF | AF | ZF | SF | OF;
export const SZP = SF | ZF | PF;
export const LOGIC = CF | OF | SZP; // AF undefined after AND OR XOR TEST
export const EXIT_HLT = 12;
export const DATA = 0x40000; // scratch memory used by memory-operand tests (mapped natively too)

export type Regs = Partial<Record<RegName, number>>;

export interface Setup {
  regs?: Regs;
  flags?: number; // initial EFLAGS (bit 1 is added)
  mem?: Record<number, number>; // dwords to store before running
  user?: boolean; // may run natively (user-mode instruction); default true
  setup?: (cpu: TestCpu) => void; // extra state (segments, controls...); implies user: false
}
export interface Expected {
  regs?: Regs;
  flags?: number; // expected EFLAGS & mask
  mask?: number;
  mem?: Record<number, number>; // dwords expected afterwards
}

function hex(v: number): string { return "0x" + (v >>> 0).toString(16); }

function compare(label: string, got: { reg(r: RegName): number; eflags: number; read32(a: number): number }, e: Expected): void {
  for (const [r, v] of Object.entries(e.regs ?? {})) {
    expect(hex(got.reg(r as RegName)), `${label} ${r}`).toBe(hex(v));
  }
  if (e.flags !== undefined) {
    const mask = e.mask ?? (CF | PF | AF | ZF | SF | OF);
    expect(hex(got.eflags & mask), `${label} flags & ${hex(mask)}`).toBe(hex(e.flags & mask));
  }
  for (const [a, v] of Object.entries(e.mem ?? {})) {
    expect(hex(got.read32(Number(a))), `${label} mem[${hex(Number(a))}]`).toBe(hex(v));
  }
}

// Run `asm` (a final HLT is appended) on a fresh core and check `e`. Returns the core for extra checks.
export function check(asm: string, s: Setup, e: Expected): TestCpu {
  const cpu = new TestCpu();
  for (const [r, v] of Object.entries(s.regs ?? {})) cpu.setReg(r as RegName, v);
  cpu.eflags = (s.flags ?? 0) | 2;
  for (const [a, v] of Object.entries(s.mem ?? {})) cpu.write32(Number(a), v);
  s.setup?.(cpu);
  if (process.env.WV_NATIVE && s.user !== false && !s.setup) {
    const dump = Object.keys(e.mem ?? {}).map(Number);
    const n = runNative(asm, s.regs ?? {}, (s.flags ?? 0) | 2, s.mem ?? {}, dump);
    compare("native", { reg: (r) => n.regs[REG_NAMES.indexOf(r)], eflags: n.eflags, read32: (a) => n.mem[a] }, e);
  }
  expect(cpu.exec(`${asm}\nhlt`), `exit reason of ${asm}`).toBe(EXIT_HLT);
  compare("core", cpu, e);
  return cpu;
}

// A fresh core with registers set, for tests that drive it by hand.
export function cpuWith(regs: Regs = {}, flags = 0): TestCpu {
  const cpu = new TestCpu();
  for (const [r, v] of Object.entries(regs)) cpu.setReg(r as RegName, v);
  cpu.eflags = flags | 2;
  return cpu;
}

const FLAG_NAMES: [number, string][] = [[OF, "OF"], [SF, "SF"], [ZF, "ZF"], [AF, "AF"], [PF, "PF"], [CF, "CF"], [DF, "DF"]];
export function flagNames(f: number): string {
  const names = FLAG_NAMES.filter(([bit]) => f & bit).map(([, n]) => n);
  return names.length ? names.join("|") : "-";
}

// Prefix each table row with a readable title: the instruction, then the inputs in hex
// ("addb %bl,%al | eax=0xff ebx=0x1 | CF"), for it.each(named(rows))("%s", (_, ...row) => ...).
export function named<T extends unknown[]>(rows: T[], inputs = 3): [string, ...T][] {
  return rows.map((row) => {
    const parts = row.slice(0, inputs).map((v) =>
      typeof v === "number" ? flagNames(v)
        : typeof v === "object" && v !== null
          ? Object.entries(v).map(([k, x]) => `${k}=${hex(x as number)}`).join(" ")
          : String(v));
    return [parts.join(" | "), ...row] as [string, ...T];
  });
}
