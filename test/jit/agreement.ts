// Runs guest code with the compiling tier off and on, and checks that the two runs agree: the same
// exit, registers, flags, EIP, data and retired-instruction count (differential.test.ts and the
// tests of single compiled forms use it).
import { expect } from "vitest";
import { TestCpu, REG_NAMES } from "../core/harness";
import * as L from "../../assembly/vmcs-layout";

/** Where test programs keep data: the first 256 bytes are compared. */
export const DATA = 0x20000;

// Identity-map the first 4 MiB with 4 KiB user pages and switch paging on.
export function withPaging(cpu: TestCpu): void {
  const PD = 0x200000, PT = 0x201000;
  cpu.write32(PD, PT | 7);
  for (let i = 0; i < 1024; i++) cpu.write32(PT + i * 4, (i << 12) | 7);
  cpu.setVmcs(L.G_CR3, PD);
  cpu.setVmcs(L.G_CR0, 0x80000011);
}

export function runBoth(source: string, setup: (cpu: TestCpu) => void = () => {}) {
  const results = [false, true].map((jit) => {
    const cpu = new TestCpu(4 << 20, { jit });
    setup(cpu);
    const reason = cpu.exec(source, 5_000_000);
    return {
      cpu, reason,
      regs: ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"].map((r) => cpu.reg(r as "eax")),
      eip: cpu.eip, eflags: cpu.eflags,
      retired: cpu.core.instructionsRetired(),
      data: Array.from(cpu.ram.subarray(DATA, DATA + 256)),
    };
  });
  return { interpreted: results[0], compiled: results[1] };
}

// Both runs ended with `reason`, in the same state, and the compiled one did compile blocks.
export function expectAgreement({ interpreted, compiled }: ReturnType<typeof runBoth>, reason: number): void {
  expect(interpreted.reason).toBe(reason);
  expect(compiled.reason).toBe(reason);
  expect(compiled.regs).toEqual(interpreted.regs);
  expect(compiled.eflags).toBe(interpreted.eflags);
  expect(compiled.eip).toBe(interpreted.eip);
  expect(compiled.data).toEqual(interpreted.data);
  expect(compiled.retired).toBe(interpreted.retired);
  expect(compiled.cpu.compiler!.compiled).toBeGreaterThan(0);
}


// Runs `source` to its HLT in slices of `slice` instructions, with the tier off and on: the state
// (EIP, retired count, all eight registers, EFLAGS) at the end of every slice must be the same.
// Returns the compiled run's CPU.
export function expectSameSlices(source: string, slice: number, setup: (cpu: TestCpu) => void = () => {}): TestCpu {
  const trace = (jit: boolean) => {
    const cpu = new TestCpu(4 << 20, { jit });
    setup(cpu);
    const states: number[][] = [];
    let reason = cpu.exec(source, slice);
    while (reason === L.EXIT_PREEMPTION_TIMER) {
      states.push([cpu.eip, cpu.core.instructionsRetired(), ...REG_NAMES.map((r) => cpu.reg(r)), cpu.eflags]);
      reason = cpu.run(slice);
    }
    expect(reason).toBe(L.EXIT_HLT);
    return { states, cpu };
  };
  const interpreted = trace(false), compiled = trace(true);
  expect(compiled.states.length).toBeGreaterThan(2);
  expect(compiled.states).toEqual(interpreted.states);
  return compiled.cpu;
}
