// Instruction-length decoding, for the one check that needs the length before execution: an
// instruction longer than 15 bytes raises #GP(0) without executing. Only instructions with
// prefixes can be that long (the longest unprefixed form is 12 bytes), so only the prefix path
// calls this. Opcodes the CPU does not implement are measured as if they had a ModR/M byte; they
// raise #UD anyway.
import { o32, a32 } from "./state";
import { peekByte, probeByte } from "./fetch";

// Where the bytes come from: the fetch window (peekByte, never faults; -1 when a byte is not at
// hand) or, while probing an instruction at the end of the window, the faulting probeByte,
// counted from `probeBase` bytes past EIP.
let probing = false;
let probeBase: u32 = 0;
@inline function byteAt(ahead: u32): i32 { return probing ? probeByte(probeBase + ahead) : peekByte(ahead); }

// Length of the instruction whose opcode is `opcodeOffset` bytes past EIP, reading its bytes
// with faulting fetches (so #GP for the CS limit or #PF is raised before it executes); -1 with
// `pending` set when one of them faults.
export function probedLength(op: u32, opcodeOffset: u32): i32 {
  probing = true;
  probeBase = opcodeOffset + 1;
  const length = lengthFromOpcode(op);
  probing = false;
  return length;
}

// One bit per one-byte opcode: has a ModR/M byte.
const MODRM_1: StaticArray<u32> = [
  0x0f0f0f0f, 0x0f0f0f0f, 0x00000000, 0x00000a0c, 0x0000ffff, 0x00000000, 0xff0f00f3, 0xc0c00000,
];
// Immediate size per one-byte opcode, two bits each: 0 none, 1 imm8, 2 imm16/32 by operand size
// (the irregular ones are handled in code below).
const IMM_1: StaticArray<u32> = [
  0x09000900, 0x09000900, 0x09000900, 0x09000900, 0x00000000, 0x00000000, 0x005a0000, 0x55555555,
  0x00000059, 0x00000000, 0x00090000, 0xaaaa5555, 0x04009005, 0x00000500, 0x004a5555, 0x00000000,
];

function immediateOf(op: u32, modrm: i32): i32 {
  const osize: i32 = o32 ? 4 : 2;
  switch (op) {
    case 0x9a: case 0xea: return osize + 2; // far pointer
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: return a32 ? 4 : 2; // moffs
    case 0xc2: case 0xca: return 2;
    case 0xc8: return 3; // ENTER imm16, imm8
    case 0xf6: return ((modrm >> 3) & 7) < 2 ? 1 : 0; // TEST Eb, Ib
    case 0xf7: return ((modrm >> 3) & 7) < 2 ? osize : 0;
    default: break;
  }
  const cls = (unchecked(IMM_1[op >> 4]) >> ((op & 15) << 1)) & 3;
  return cls == 1 ? 1 : cls == 2 ? osize : 0;
}

// Bytes taken by the ModR/M byte at `at` and what follows it (SIB, displacement); -1 if unknown.
function modrmLength(at: u32): i32 {
  const m = byteAt(at);
  if (m < 0) return -1;
  const mod = m >> 6;
  const rm = m & 7;
  if (mod == 3) return 1;
  if (!a32) return 1 + (mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0);
  let n = 1;
  if (rm == 4) {
    const sib = byteAt(at + 1);
    if (sib < 0) return -1;
    n++;
    if (mod == 0 && (sib & 7) == 5) n += 4;
  }
  if (mod == 0 && rm == 5) n += 4;
  else if (mod == 1) n += 1;
  else if (mod == 2) n += 4;
  return n;
}

// Length of the instruction whose opcode `op` was just fetched (EIP points past it), counting
// from the opcode; -1 if its bytes are not all at hand (the caller then skips the check), or
// while probing, when one of them faulted.
export function lengthFromOpcode(op: u32): i32 {
  if (op == 0x0f) {
    const op2 = byteAt(0);
    if (op2 < 0) return -1;
    if (op2 >= 0x80 && op2 <= 0x8f) return 2 + (o32 ? 4 : 2); // Jcc rel16/32
    if ((op2 >= 0xa0 && op2 <= 0xa2) || (op2 >= 0xa8 && op2 <= 0xaa) || (op2 >= 0xc8) ||
        op2 == 0x06 || op2 == 0x08 || op2 == 0x09 || op2 == 0x0b || (op2 >= 0x30 && op2 <= 0x37)) return 2;
    const m = modrmLength(1);
    if (m < 0) return -1;
    const imm8 = op2 == 0xa4 || op2 == 0xac || op2 == 0xba || (op2 >= 0x70 && op2 <= 0x73) ||
      op2 == 0xc2 || (op2 >= 0xc4 && op2 <= 0xc6);
    return 2 + m + (imm8 ? 1 : 0);
  }
  let n = 1;
  let modrm: i32 = 0;
  if ((unchecked(MODRM_1[op >> 5]) >> (op & 31)) & 1) {
    modrm = byteAt(0);
    const m = modrmLength(0);
    if (m < 0) return -1;
    n += m;
  }
  return n + immediateOf(op, modrm);
}
