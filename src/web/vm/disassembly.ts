// Disassembly-lite for the demo's single-step view: the length and an approximate Intel-syntax
// rendering of the one IA-32 instruction at guest EIP, enough for a student to follow a step
// (mnemonic, registers, memory operands, immediates, branch targets). It knows the one-byte map
// and the common 0F opcodes; anything else shows as "db" with its first byte. Not the core's
// decoder (that one lives in assembly/ and executes); this one only prints.

const REG32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const REG16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const REG8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
const SREG = ["es", "cs", "ss", "ds", "fs", "gs", "?", "?"];
const ALU = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
const SHIFT = ["rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"];
const UNARY = ["test", "test", "not", "neg", "mul", "imul", "div", "idiv"];
const INCDEC = ["inc", "dec", "call", "call far", "jmp", "jmp far", "push", "?"];
const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

/** Operand shapes: E = ModRM r/m, G = ModRM reg, b/v = byte/operand size, I = immediate, J = relative. */
type Form = string;
const ONE_BYTE: Record<number, [string, Form]> = {
  0x06: ["push es", ""], 0x07: ["pop es", ""], 0x0e: ["push cs", ""], 0x16: ["push ss", ""], 0x17: ["pop ss", ""],
  0x1e: ["push ds", ""], 0x1f: ["pop ds", ""], 0x27: ["daa", ""], 0x2f: ["das", ""], 0x37: ["aaa", ""], 0x3f: ["aas", ""],
  0x60: ["pusha", ""], 0x61: ["popa", ""], 0x62: ["bound", "Gv,Ev"], 0x63: ["arpl", "Ew,Gw"], 0x68: ["push", "Iv"],
  0x69: ["imul", "Gv,Ev,Iv"], 0x6a: ["push", "Ib"], 0x6b: ["imul", "Gv,Ev,Ib"], 0x6c: ["insb", ""], 0x6d: ["insd", ""],
  0x6e: ["outsb", ""], 0x6f: ["outsd", ""], 0x84: ["test", "Eb,Gb"], 0x85: ["test", "Ev,Gv"], 0x86: ["xchg", "Eb,Gb"],
  0x87: ["xchg", "Ev,Gv"], 0x88: ["mov", "Eb,Gb"], 0x89: ["mov", "Ev,Gv"], 0x8a: ["mov", "Gb,Eb"], 0x8b: ["mov", "Gv,Ev"],
  0x8c: ["mov", "Ew,Sw"], 0x8d: ["lea", "Gv,Ev"], 0x8e: ["mov", "Sw,Ew"], 0x8f: ["pop", "Ev"], 0x90: ["nop", ""],
  0x98: ["cwde", ""], 0x99: ["cdq", ""], 0x9a: ["call far", "Ap"], 0x9b: ["wait", ""], 0x9c: ["pushf", ""], 0x9d: ["popf", ""],
  0x9e: ["sahf", ""], 0x9f: ["lahf", ""], 0xa0: ["mov al,", "Ob"], 0xa1: ["mov eax,", "Ov"], 0xa2: ["mov", "Ob,al"],
  0xa3: ["mov", "Ov,eax"], 0xa4: ["movsb", ""], 0xa5: ["movsd", ""], 0xa6: ["cmpsb", ""], 0xa7: ["cmpsd", ""],
  0xa8: ["test al,", "Ib"], 0xa9: ["test eax,", "Iv"], 0xaa: ["stosb", ""], 0xab: ["stosd", ""], 0xac: ["lodsb", ""],
  0xad: ["lodsd", ""], 0xae: ["scasb", ""], 0xaf: ["scasd", ""], 0xc2: ["ret", "Iw"], 0xc3: ["ret", ""], 0xc4: ["les", "Gv,Ev"],
  0xc5: ["lds", "Gv,Ev"], 0xc6: ["mov", "Eb,Ib"], 0xc7: ["mov", "Ev,Iv"], 0xc8: ["enter", "Iw,Ib"], 0xc9: ["leave", ""],
  0xca: ["retf", "Iw"], 0xcb: ["retf", ""], 0xcc: ["int3", ""], 0xcd: ["int", "Ib"], 0xce: ["into", ""], 0xcf: ["iret", ""],
  0xd4: ["aam", "Ib"], 0xd5: ["aad", "Ib"], 0xd7: ["xlat", ""], 0xe0: ["loopne", "Jb"], 0xe1: ["loope", "Jb"],
  0xe2: ["loop", "Jb"], 0xe3: ["jecxz", "Jb"], 0xe4: ["in al,", "Ib"], 0xe5: ["in eax,", "Ib"], 0xe6: ["out", "Ib,al"],
  0xe7: ["out", "Ib,eax"], 0xe8: ["call", "Jv"], 0xe9: ["jmp", "Jv"], 0xea: ["jmp far", "Ap"], 0xeb: ["jmp", "Jb"],
  0xec: ["in al, dx", ""], 0xed: ["in eax, dx", ""], 0xee: ["out dx, al", ""], 0xef: ["out dx, eax", ""], 0xf1: ["int1", ""],
  0xf4: ["hlt", ""], 0xf5: ["cmc", ""], 0xf8: ["clc", ""], 0xf9: ["stc", ""], 0xfa: ["cli", ""], 0xfb: ["sti", ""],
  0xfc: ["cld", ""], 0xfd: ["std", ""],
};
const TWO_BYTE: Record<number, [string, Form]> = {
  0x00: ["sldt|str|lldt|ltr|verr|verw|?|?", "Ew"], 0x01: ["sgdt|sidt|lgdt|lidt|smsw|?|lmsw|invlpg", "Ev"], 0x02: ["lar", "Gv,Ew"], 0x03: ["lsl", "Gv,Ew"], 0x06: ["clts", ""],
  0x08: ["invd", ""], 0x09: ["wbinvd", ""], 0x0b: ["ud2", ""], 0x20: ["mov", "Rd,Cd"], 0x21: ["mov", "Rd,Dd"],
  0x22: ["mov", "Cd,Rd"], 0x23: ["mov", "Dd,Rd"], 0x30: ["wrmsr", ""], 0x31: ["rdtsc", ""], 0x32: ["rdmsr", ""],
  0x34: ["sysenter", ""], 0x35: ["sysexit", ""], 0xa0: ["push fs", ""], 0xa1: ["pop fs", ""], 0xa2: ["cpuid", ""],
  0xa3: ["bt", "Ev,Gv"], 0xa4: ["shld", "Ev,Gv,Ib"], 0xa5: ["shld", "Ev,Gv,cl"], 0xa8: ["push gs", ""], 0xa9: ["pop gs", ""],
  0xab: ["bts", "Ev,Gv"], 0xac: ["shrd", "Ev,Gv,Ib"], 0xad: ["shrd", "Ev,Gv,cl"], 0xaf: ["imul", "Gv,Ev"],
  0xb0: ["cmpxchg", "Eb,Gb"], 0xb1: ["cmpxchg", "Ev,Gv"], 0xb3: ["btr", "Ev,Gv"], 0xb6: ["movzx", "Gv,Eb"],
  0xb7: ["movzx", "Gv,Ew"], 0xba: ["?|?|?|?|bt|bts|btr|btc", "Ev,Ib"], 0xbb: ["btc", "Ev,Gv"], 0xbc: ["bsf", "Gv,Ev"], 0xbd: ["bsr", "Gv,Ev"],
  0xbe: ["movsx", "Gv,Eb"], 0xbf: ["movsx", "Gv,Ew"], 0xc0: ["xadd", "Eb,Gb"], 0xc1: ["xadd", "Ev,Gv"], 0xc7: ["cmpxchg8b", "Ev"],
};

/** The opcode's mnemonic and operand form, for opcodes laid out in regular blocks. */
function oneByte(op: number): [string, Form] | undefined {
  if (op < 0x40 && (op & 7) < 6) return [ALU[op >> 3], ["Eb,Gb", "Ev,Gv", "Gb,Eb", "Gv,Ev", "al,Ib", "eax,Iv"][op & 7]];
  if (op >= 0x40 && op < 0x60) return [`${["inc", "dec", "push", "pop"][(op - 0x40) >> 3]} ${REG32[op & 7]}`, ""];
  if (op >= 0x70 && op < 0x80) return [`j${CC[op & 15]}`, "Jb"];
  if (op >= 0x80 && op < 0x84) return [ALU.join("|"), ["Eb,Ib", "Ev,Iv", "Eb,Ib", "Ev,Ib"][op & 3]];
  if (op > 0x90 && op < 0x98) return [`xchg eax, ${REG32[op & 7]}`, ""];
  if (op >= 0xb0 && op < 0xb8) return [`mov ${REG8[op & 7]},`, "Ib"];
  if (op >= 0xb8 && op < 0xc0) return [`mov ${REG32[op & 7]},`, "Iv"];
  if (op === 0xc0 || op === 0xc1) return [SHIFT.join("|"), op === 0xc0 ? "Eb,Ib" : "Ev,Ib"];
  if (op >= 0xd0 && op < 0xd4) return [SHIFT.join("|"), ["Eb,1", "Ev,1", "Eb,cl", "Ev,cl"][op & 3]];
  if (op >= 0xd8 && op < 0xe0) return ["fpu", "Ev"];
  if (op === 0xf6 || op === 0xf7) return [UNARY.join("|"), op === 0xf6 ? "Eb" : "Ev"];
  if (op === 0xfe || op === 0xff) return [INCDEC.join("|"), op === 0xfe ? "Eb" : "Ev"];
  return ONE_BYTE[op];
}

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

export interface Decoded {
  length: number;
  text: string;
}

/** Decodes the instruction at the start of `bytes`, which sits at linear address `eip`. */
export function disassemble(bytes: Uint8Array, eip: number): Decoded {
  let at = 0;
  const prefixes: string[] = [];
  let opsize = 4;
  let segment = "";
  while (at < bytes.length && PREFIXES.has(bytes[at])) {
    const p = bytes[at++];
    if (p === 0x66) opsize = 2;
    else if (p === 0xf0) prefixes.push("lock");
    else if (p === 0xf2) prefixes.push("repne");
    else if (p === 0xf3) prefixes.push("rep");
    else if (p !== 0x67) segment = `${SREG[[0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].indexOf(p)]}:`;
  }
  const op = bytes[at++];
  const twoByte = op === 0x0f;
  const second = twoByte ? bytes[at++] : 0;
  let entry = twoByte ? TWO_BYTE[second] : oneByte(op);
  if (twoByte && second >= 0x80 && second < 0x90) entry = [`j${CC[second & 15]}`, "Jv"];
  else if (twoByte && second >= 0x90 && second < 0xa0) entry = [`set${CC[second & 15]}`, "Eb"];
  else if (twoByte && second >= 0x40 && second < 0x50) entry = [`cmov${CC[second & 15]}`, "Gv,Ev"];
  else if (twoByte && second >= 0xc8 && second < 0xd0) entry = [`bswap ${REG32[second & 7]}`, ""];
  if (twoByte && second === 0x01 && bytes[at] === 0xc1) return { length: at + 1, text: "vmcall" };
  if (entry === undefined || op === undefined) return { length: Math.max(at, 1), text: `db ${[...bytes.subarray(0, Math.max(at, 1))].map(hex).join(", ")}` };

  let [mnemonic, form] = entry;
  const read = (size: number): number => {
    let value = 0;
    for (let i = 0; i < size; i++) value |= (bytes[at + i] ?? 0) << (8 * i);
    at += size;
    return size === 4 ? value >>> 0 : value;
  };
  let modrm: { mod: number; reg: number; rm: number; memory: string } | undefined;
  if (/[EGSRCD]/.test(form)) {
    const byte = read(1);
    modrm = { mod: byte >> 6, reg: (byte >> 3) & 7, rm: byte & 7, memory: "" };
    if (modrm.mod !== 3) modrm.memory = `${segment}[${memoryOperand(modrm.mod, modrm.rm, read)}]`;
    if (mnemonic.includes("|")) mnemonic = mnemonic.split("|")[modrm.reg];
    if (mnemonic === "test" && (op === 0xf6 || op === 0xf7)) form = op === 0xf6 ? "Eb,Ib" : "Ev,Iv";
  }
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
        case "I": return hex(read(bytesOf));
        case "O": return `${segment}[${hex(read(4))}]`;
        case "A": { const offset = read(opsize); return `${hex(read(2))}:${hex(offset)}`; }
        case "J": { const rel = read(bytesOf); const signed = bytesOf === 1 ? (rel << 24) >> 24 : bytesOf === 2 ? (rel << 16) >> 16 : rel | 0; return hex(eip + at + signed); }
        default: return operand;
      }
    });
  const separator = mnemonic.endsWith(",") ? " " : operands.length > 0 ? " " : "";
  const text = [...prefixes, `${mnemonic}${separator}${operands.join(", ")}`].join(" ");
  return { length: at, text };
}

/** A 32-bit ModRM memory operand (with SIB and displacement), e.g. "ebx+esi*4+0x10". */
function memoryOperand(mod: number, rm: number, read: (size: number) => number): string {
  const parts: string[] = [];
  if (rm === 4) {
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
  if (mod === 2) parts.push(hex(read(4)));
  return parts.join("+").replace("+-", "-");
}
