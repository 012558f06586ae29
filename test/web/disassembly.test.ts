import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { disassemble } from "../../src/x86/disassembly.js";
import { ONE_BYTE, TWO_BYTE, MODRM, IMM_MASK, REL } from "../../assembly/opcode-map.js";
import { ONE_BYTE_NAMES, TWO_BYTE_NAMES } from "../../assembly/opcode-names.js";

const at = (hex: string, eip = 0x100000) => disassemble(Uint8Array.from(hex.split(" ").map((b) => parseInt(b, 16))), eip);

describe("disassembly-lite", () => {
  it.each([
    ["b8 78 56 34 12", 5, "mov eax, 0x12345678"],
    ["89 43 04", 3, "mov [ebx+0x4], eax"],
    ["8b 04 b5 00 10 00 00", 7, "mov eax, [esi*4+0x1000]"],
    ["ee", 1, "out dx, al"],
    ["e6 80", 2, "out 0x80, al"],
    ["0f a2", 2, "cpuid"],
    ["0f 01 c1", 3, "vmcall"],
    ["0f 22 d8", 3, "mov cr3, eax"],
    ["83 e8 01", 3, "sub eax, 0x1"],
    ["f3 a5", 2, "rep movsd"],
    ["66 89 c8", 3, "mov ax, cx"],
    ["c6 05 00 80 0b 00 41", 7, "mov byte [0xb8000], 0x41"],
    ["fa", 1, "cli"],
    ["fe 05 40 81 0b 00", 6, "inc byte [0xb8140]"],
    ["ff 15 00 20 10 00", 6, "call dword [0x102000]"],
    ["f7 00 78 56 34 12", 6, "test dword [eax], 0x12345678"],
    ["f7 d0", 2, "not eax"],
    ["67 8b 47 04", 4, "mov eax, [bx+0x4]"],
    ["0f 20 84", 3, "mov esp, cr0"],
    ["c8 10 00 01", 4, "enter 0x10, 0x1"],
    ["ea 78 56 34 12 08 00", 7, "jmp far 0x8:0x12345678"],
  ])("%s", (bytes, length, text) => {
    expect(at(bytes)).toMatchObject({ length, text, known: true });
  });

  it("prints branch targets", () => {
    expect(at("eb fe").text).toBe("jmp 0x100000");
    expect(at("75 10", 0x1000).text).toBe("jne 0x1012");
    expect(at("e8 fb ff ff ff", 0x1000).text).toBe("call 0x1000");
  });

  it("shows an unknown opcode as a byte", () => {
    expect(at("0f ff")).toEqual({ length: 2, text: "db 0xf, 0xff", known: false, prefixes: 0 });
  });

  // objdump's lengths (scripts/opcode-lengths.mjs), followed by NOPs, as core's test/core/opcode-map.test.ts
  it("measures every instruction it names as objdump does", () => {
    const lengths: Record<string, number> = JSON.parse(readFileSync(new URL("../support/opcode-lengths.json", import.meta.url), "utf8"));
    const wrong = Object.entries(lengths).filter(([hex, length]) => {
      const decoded = at(`${hex}${" 90".repeat(16)}`);
      return !decoded.text.startsWith("db ") && decoded.length !== length;
    });
    expect(wrong).toEqual([]);
  });

  // The mnemonic column (opcode-names.ts) is kept apart from the rest of the map: its operands must
  // be the ones the row says follow the opcode.
  it.each([["one-byte", ONE_BYTE, ONE_BYTE_NAMES], ["0F", TWO_BYTE, TWO_BYTE_NAMES]] as const)("names the %s map's rows in order", (_, rows, names) => {
    expect([rows.length, names.length]).toEqual([256, 256]);
    const disagreeing = names.flatMap((name, op) => {
      const operands = name.slice(name.lastIndexOf(" ") + 1);
      const row = rows[op];
      const says = [/[EGSCDR][bwvdp]/.test(operands), /[IJOA][bwvp]/.test(operands), /J/.test(operands)];
      const has = [(row & MODRM) !== 0, (row & IMM_MASK) !== 0, (row & REL) !== 0];
      return name !== "" && says.join() !== has.join() ? [`${op.toString(16)} ${name}`] : [];
    });
    expect(disagreeing).toEqual([]);
  });
});
