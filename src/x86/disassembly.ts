// Disassembly-lite for the demo's single-step view: the length and an approximate Intel-syntax
// rendering of the one IA-32 instruction at guest EIP, enough for a student to follow a step
// (mnemonic, registers, memory operands, immediates, branch targets). Its parts come from the
// opcode map through encoding.ts, its mnemonic from opcode-names.ts; opcodes the map does not name
// (MMX, SSE, reserved) show as "db" with their opcode bytes.
import { readEncoding, type Address } from "./encoding.js";
import { ONE_BYTE_NAMES, TWO_BYTE_NAMES } from "../../assembly/opcode-names.js";

const REG32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const REG16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const REG8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
const SREG = ["es", "cs", "ss", "ds", "fs", "gs", "?", "?"];

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

export interface Decoded {
  length: number;
  text: string;
  /** The opcode map names the instruction (else `text` is its bytes, "db ...", and `length` a guess). */
  known: boolean;
  /** How many prefix bytes come before the opcode. */
  prefixes: number;
}

/** Decodes the instruction at the start of `bytes`, which sits at linear address `eip`. */
export function disassemble(bytes: Uint8Array, eip: number): Decoded {
  const encoding = readEncoding(bytes);
  const { prefixes: prefixBytes, opsize, twoByte, opcode, modrm, length } = encoding;
  const prefixes = prefixBytes.flatMap((p) => (p === 0xf0 ? ["lock"] : p === 0xf2 ? ["repne"] : p === 0xf3 ? ["rep"] : []));
  const segment = prefixBytes.reduce((last, p) => (SEGMENT_PREFIXES.includes(p) ? `${SREG[SEGMENT_PREFIXES.indexOf(p)]}:` : last), "");
  if (twoByte && opcode === 0x01 && modrm?.mod === 3 && modrm.reg === 0 && modrm.rm === 1) return { length, text: "vmcall", known: true, prefixes: prefixBytes.length };
  if (!encoding.known) {
    const opcodeEnd = prefixBytes.length + (twoByte ? 2 : 1);
    return { length: opcodeEnd, text: `db ${[...bytes.subarray(0, opcodeEnd)].map(hex).join(", ")}`, known: false, prefixes: prefixBytes.length };
  }
  const name = twoByte ? TWO_BYTE_NAMES[opcode] : ONE_BYTE_NAMES[opcode];
  const memory = modrm?.address && `${segment}[${memoryOperand(modrm.address, modrm.mod, encoding.addrsize)}]`;
  // the immediates, in encoding order, which the operands below print in the same order
  const immediates = [...encoding.immediates];
  const space = name.lastIndexOf(" ");
  const mnemonics = space < 0 ? name : name.slice(0, space);
  const form = space < 0 ? "" : name.slice(space + 1);
  const mnemonic = modrm && mnemonics.includes("|") ? mnemonics.split("|")[modrm.reg] : mnemonics;
  const register = (kind: string, n: number) => (kind === "b" ? REG8[n] : kind === "w" || opsize === 2 ? REG16[n] : REG32[n]);
  const operands = form
    .split(",")
    .filter((o) => o !== "")
    .map((operand) => {
      const [kind, size] = [operand[0], operand[1]];
      const bytesOf = size === "b" ? 1 : size === "w" ? 2 : opsize;
      switch (kind) {
        case "E": {
          if (!memory) return register(size, modrm!.rm);
          // Without a register operand, only the size keyword says how wide the access is.
          const width = /[GS]/.test(form) ? "" : `${{ 1: "byte", 2: "word", 4: "dword" }[bytesOf]} `;
          return `${width}${memory}`;
        }
        case "G": return register(size, modrm!.reg);
        case "R": return REG32[modrm!.rm];
        case "C": return `cr${modrm!.reg}`;
        case "D": return `dr${modrm!.reg}`;
        case "S": return SREG[modrm!.reg];
        case "I": { const value = immediates.shift(); return value && hex(value.value); } // none: group 3 but TEST
        case "O": return `${segment}[${hex(immediates.shift()!.value)}]`;
        case "A": { const [offset, selector] = immediates.splice(0, 2); return `${hex(selector.value)}:${hex(offset.value)}`; }
        case "J": {
          const { value, size } = immediates.shift()!;
          return hex(eip + length + (size === 1 ? (value << 24) >> 24 : size === 2 ? (value << 16) >> 16 : value | 0));
        }
        default: return operand;
      }
    })
    .filter((operand): operand is string => operand !== undefined);
  const text = [...prefixes, `${mnemonic}${operands.length > 0 ? " " : ""}${operands.join(", ")}`].join(" ");
  return { length, text, known: true, prefixes: prefixBytes.length };
}

const SEGMENT_PREFIXES = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

/** A memory operand of the address size, e.g. "ebx+esi*4+0x10" (a displacement only where encoded). */
function memoryOperand({ base, index, scale, disp }: Address, mod: number, addrsize: number): string {
  const names = addrsize === 2 ? REG16 : REG32;
  const parts: string[] = [];
  if (base >= 0) parts.push(names[base]);
  if (index >= 0) parts.push(`${names[index]}${scale ? `*${1 << scale}` : ""}`);
  if (base < 0 || mod !== 0) parts.push(disp < 0 ? `-${hex(-disp)}` : hex(disp));
  return parts.join("+").replace("+-", "-");
}
