// The opcode map (assembly/opcode-map.ts) against GNU objdump, through the length decoder it feeds
// (assembly/cpu/length.ts). test/support/opcode-lengths.json holds objdump's length for every
// one-byte and 0F opcode with a spread of ModR/M forms and size prefixes (scripts/opcode-lengths.mjs
// regenerates it). Padded with DS prefixes to 16 bytes, each must raise #GP(0) before it executes
// (SDM 2.3.11); padded to 15, it must not, unless it raises #GP(0) of its own, as it then does with
// one prefix.
import { readFileSync } from "node:fs";
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE, STACK_TOP, REG_NAMES } from "./harness";
import * as L from "../../assembly/vmcs-layout";

const LENGTHS: Record<string, number> = JSON.parse(readFileSync(new URL("../support/opcode-lengths.json", import.meta.url), "utf8"));
const EXC_GP = 13;
const NOPS = new Array<number>(16).fill(0x90);

// One CPU for all cases (a fresh one each is too slow for thousands), put back in the same state
// before each: flat ring-0 segments (and CR0), registers pointing at low RAM, the control and debug
// registers a case may have loaded (MOV to CRn/DRn) as they were.
const cpu = new TestCpu();
const CONTROL = [L.G_CR3, L.G_CR4, L.G_DR + 7 * 4].map((field) => [field, cpu.vmcs(field)] as const);

// Runs `bytes` (then NOPs) with `pad` DS prefixes in front, for one instruction: whether it raised
// #GP(0) at its first byte.
function gpAt(bytes: number[], pad: number): boolean {
  cpu.resetFlat();
  for (const [field, value] of CONTROL) cpu.setVmcs(field, value);
  for (const name of REG_NAMES) cpu.setReg(name, 0x4000);
  cpu.setReg("esp", STACK_TOP);
  cpu.setVmcs(L.C_EXCEPTION_BITMAP, 0xffffffff);
  cpu.load(CODE_BASE, Uint8Array.from([...new Array<number>(pad).fill(0x3e), ...bytes, ...NOPS]));
  cpu.eip = CODE_BASE;
  const reason = cpu.run(1);
  return reason === L.EXIT_EXCEPTION && (cpu.vmcs(L.X_INTR_INFO) & 0xff) === EXC_GP &&
    cpu.vmcs(L.X_INTR_ERROR) === 0 && cpu.eip === CODE_BASE;
}

describe("the opcode map against objdump", () => {
  it("measures every opcode as objdump does", () => {
    const wrong: string[] = [];
    for (const [hex, length] of Object.entries(LENGTHS)) {
      const bytes = hex.split(" ").map((b) => parseInt(b, 16));
      if (!gpAt(bytes, 16 - length)) wrong.push(`${hex}: shorter than ${length}`);
      else if (gpAt(bytes, 15 - length) && !gpAt(bytes, 1)) wrong.push(`${hex}: longer than ${length}`);
    }
    expect(wrong).toEqual([]);
  });
});
