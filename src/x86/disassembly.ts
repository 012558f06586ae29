// Disassembly-lite for the demo's single-step view (and the instruction lengths the compiling tier
// needs for the forms it leaves to the interpreter): the length and an approximate Intel-syntax
// rendering of the one IA-32 instruction at guest EIP, enough for a student to follow a step
// (mnemonic, registers, memory operands, immediates, branch targets). What follows each opcode and
// its mnemonic come from the opcode map (assembly/opcode-map.ts, opcode-names.ts); opcodes the map
// does not name (MMX, SSE, reserved) show as "db" with their opcode bytes. Not the core's decoder
// (that one lives in assembly/ and executes); this one only prints.
import {
  ONE_BYTE, TWO_BYTE, MODRM, IMM_MASK, IMM8, IMM16, IMM_V, IMM_MOFFS, IMM_FAR, IMM_ENTER, IMM_IF_TEST, MOD_IGNORED,
  PREFIX,
} from "../../assembly/opcode-map.js";
import { ONE_BYTE_NAMES, TWO_BYTE_NAMES } from "../../assembly/opcode-names.js";

const REG32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const REG16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const REG8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
const SREG = ["es", "cs", "ss", "ds", "fs", "gs", "?", "?"];
const BASE16 = ["bx+si", "bx+di", "bp+si", "bp+di", "si", "di", "bp", "bx"];

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
  let at = 0;
  const prefixes: string[] = [];
  let opsize = 4;
  let addrsize = 4;
  let segment = "";
  while (at < bytes.length && ONE_BYTE[bytes[at]] & PREFIX) {
    const p = bytes[at++];
    if (p === 0x66) opsize = 2;
    else if (p === 0x67) addrsize = 2;
    else if (p === 0xf0) prefixes.push("lock");
    else if (p === 0xf2) prefixes.push("repne");
    else if (p === 0xf3) prefixes.push("rep");
    else segment = `${SREG[[0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].indexOf(p)]}:`;
  }
  const prefixCount = at;
  const op = bytes[at++];
  const twoByte = op === 0x0f;
  const second = twoByte ? bytes[at++] : 0;
  if (twoByte && second === 0x01 && bytes[at] === 0xc1) return { length: at + 1, text: "vmcall", known: true, prefixes: prefixCount };
  const name: string | undefined = twoByte ? TWO_BYTE_NAMES[second] : ONE_BYTE_NAMES[op];
  if (!name) return { length: Math.max(at, 1), text: `db ${[...bytes.subarray(0, Math.max(at, 1))].map(hex).join(", ")}`, known: false, prefixes: prefixCount };
  const row = twoByte ? TWO_BYTE[second] : ONE_BYTE[op];

  const read = (size: number): number => {
    let value = 0;
    for (let i = 0; i < size; i++) value |= (bytes[at + i] ?? 0) << (8 * i);
    at += size;
    return size === 4 ? value >>> 0 : value;
  };
  let modrm: { mod: number; reg: number; rm: number; memory: string } | undefined;
  if (row & MODRM) {
    const byte = read(1);
    modrm = { mod: byte >> 6, reg: (byte >> 3) & 7, rm: byte & 7, memory: "" };
    if (modrm.mod !== 3 && !(row & MOD_IGNORED)) modrm.memory = `${segment}[${memoryOperand(modrm.mod, modrm.rm, addrsize, read)}]`;
  }
  // the immediates, in encoding order, which the operands below print in the same order
  const immediates = immediateSizes(row, modrm?.reg ?? 0, opsize, addrsize).map((size) => ({ size, value: read(size) }));
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
          if (modrm!.mod === 3) return register(size, modrm!.rm);
          // Without a register operand, only the size keyword says how wide the access is.
          const width = /[GS]/.test(form) ? "" : `${{ 1: "byte", 2: "word", 4: "dword" }[bytesOf]} `;
          return `${width}${modrm!.memory}`;
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
          return hex(eip + at + (size === 1 ? (value << 24) >> 24 : size === 2 ? (value << 16) >> 16 : value | 0));
        }
        default: return operand;
      }
    })
    .filter((operand): operand is string => operand !== undefined);
  const text = [...prefixes, `${mnemonic}${operands.length > 0 ? " " : ""}${operands.join(", ")}`].join(" ");
  return { length: at, text, known: true, prefixes: prefixCount };
}

/** The sizes of the immediates after the opcode and ModR/M, as the opcode map's row says. */
function immediateSizes(row: number, reg: number, opsize: number, addrsize: number): number[] {
  if (row & IMM_IF_TEST && reg >= 2) return [];
  switch (row & IMM_MASK) {
    case IMM8: return [1];
    case IMM16: return [2];
    case IMM_V: return [opsize];
    case IMM_MOFFS: return [addrsize];
    case IMM_FAR: return [opsize, 2];
    case IMM_ENTER: return [2, 1];
    default: return [];
  }
}

/** A ModRM memory operand (with SIB and displacement) of the address size, e.g. "ebx+esi*4+0x10". */
function memoryOperand(mod: number, rm: number, addrsize: number, read: (size: number) => number): string {
  const parts: string[] = [];
  if (addrsize === 2) {
    if (mod === 0 && rm === 6) return hex(read(2));
    parts.push(BASE16[rm]);
  } else if (rm === 4) {
    const sib = read(1);
    const [scale, index, base] = [sib >> 6, (sib >> 3) & 7, sib & 7];
    const noBase = base === 5 && mod === 0;
    if (!noBase) parts.push(REG32[base]);
    if (index !== 4) parts.push(`${REG32[index]}${scale ? `*${1 << scale}` : ""}`);
    if (noBase) parts.push(hex(read(4)));
  } else if (rm === 5 && mod === 0) {
    return hex(read(4));
  } else {
    parts.push(REG32[rm]);
  }
  if (mod === 1) { const d = (read(1) << 24) >> 24; parts.push(d < 0 ? `-${hex(-d)}` : hex(d)); }
  if (mod === 2) parts.push(hex(read(addrsize)));
  return parts.join("+").replace("+-", "-");
}
