import { describe, expect, it } from "vitest";
import { disassemble } from "../../src/web/vm/disassembly.js";

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
  ])("%s", (bytes, length, text) => {
    expect(at(bytes)).toEqual({ length, text });
  });

  it("prints branch targets", () => {
    expect(at("eb fe").text).toBe("jmp 0x100000");
    expect(at("75 10", 0x1000).text).toBe("jne 0x1012");
    expect(at("e8 fb ff ff ff", 0x1000).text).toBe("call 0x1000");
  });

  it("shows an unknown opcode as a byte", () => {
    expect(at("0f ff")).toEqual({ length: 2, text: "db 0xf, 0xff" });
  });
});
