// What the opcode map (assembly/opcode-map.ts) tells the interpreter before an instruction runs.
// Its length: an instruction longer than 15 bytes raises #GP(0) without executing, and only
// prefixed ones can be that long (the longest unprefixed form is 12 bytes), so the prefix path
// measures them; near the end of the fetch window, step() measures every instruction to fetch
// all its bytes first. And whether a LOCK prefix is allowed on it.
import { o32, a32 } from "./state";
import { peekByte, probeByte } from "./fetch";
import {
  ONE_BYTE, TWO_BYTE, MODRM, IMM_MASK, IMM8, IMM16, IMM_V, IMM_MOFFS, IMM_FAR, IMM_ENTER, IMM_IF_TEST,
  THREE_BYTE, MOD_IGNORED, PREFIX, LOCK_SHIFT,
} from "../opcode-map";

// Where the bytes come from: the fetch window (peekByte, never faults; -1 when a byte is not at
// hand) or, while probing an instruction at the end of the window, the faulting probeByte,
// counted from `probeBase` bytes past EIP.
let probing = false;
let probeBase: u32 = 0;
let peekBase: u32 = 0; // 0 but for lengthInWindow()
@inline function byteAt(ahead: u32): i32 { return probing ? probeByte(probeBase + ahead) : peekByte(peekBase + ahead); }

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

// Length of the instruction whose opcode is `opcodeOffset` bytes past EIP, read from the fetch
// window only (never faults): -1 when a byte is not there. The binary translator decodes a block
// ahead of EIP with it (assembly/bt/translator.ts).
export function lengthInWindow(op: u32, opcodeOffset: u32): i32 {
  peekBase = opcodeOffset + 1;
  const length = lengthFromOpcode(op);
  peekBase = 0;
  return length;
}

// The opcode map's low byte (what follows the opcode) for each one-byte opcode, then for each 0F
// opcode, copied once at instantiation from assembly/opcode-map.ts: one load per lookup, as the
// hand-written bitmaps this replaces took.
const SHAPES = memory.data(512);
for (let op = 0; op < 256; op++) {
  store<u8>(SHAPES + op, <u8>unchecked(ONE_BYTE[op]));
  store<u8>(SHAPES + 256 + op, <u8>unchecked(TWO_BYTE[op]));
}

@inline export function isPrefix(b: u32): bool { return (load<u8>(SHAPES + b) & PREFIX) != 0; }

function immediateOf(shape: u32, modrm: i32): i32 {
  if ((shape & IMM_IF_TEST) && ((modrm >> 3) & 7) >= 2) return 0;
  const osize: i32 = o32 ? 4 : 2;
  switch (shape & IMM_MASK) {
    case IMM8: return 1;
    case IMM16: return 2;
    case IMM_V: return osize;
    case IMM_MOFFS: return a32 ? 4 : 2;
    case IMM_FAR: return osize + 2;
    case IMM_ENTER: return 3;
    default: return 0;
  }
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
  let shape: u32 = load<u8>(SHAPES + op);
  let n = 1; // bytes up to the ModR/M byte, which is `n - 1` past EIP
  if (op == 0x0f) {
    const op2 = byteAt(0);
    if (op2 < 0) return -1;
    shape = load<u8>(SHAPES + 256 + <u32>op2);
    n = 2;
  }
  if (shape & THREE_BYTE) n++;
  let modrm: i32 = 0;
  if (shape & MOD_IGNORED) {
    n++;
  } else if (shape & MODRM) {
    modrm = byteAt(n - 1);
    const m = modrmLength(n - 1);
    if (m < 0) return -1;
    n += m;
  }
  return n + immediateOf(shape, modrm);
}

// Whether LOCK may precede the instruction whose opcode `op` was just fetched (EIP points past
// it): only a read-modify-write with a memory operand (SDM Vol. 2, "LOCK"); the caller raises #UD
// otherwise, unless reading the bytes after the opcode faulted (then that fault stands).
export function lockAllowed(op: u32): bool {
  let row = unchecked(ONE_BYTE[op]);
  let at: u32 = 0;
  if (op == 0x0f) {
    const op2 = byteAhead(0);
    if (op2 < 0) return false;
    row = unchecked(TWO_BYTE[op2]);
    at = 1;
  }
  const modrm = byteAhead(at);
  if (modrm < 0 || modrm >= 0xc0) return false;
  return ((row >> (LOCK_SHIFT + ((modrm >> 3) & 7))) & 1) != 0;
}

// The byte `ahead` past EIP: from the fetch window, or, when the instruction runs on past it (onto
// the next page), read as a fetch would; -1 after raising that fetch's fault.
function byteAhead(ahead: u32): i32 {
  const b = peekByte(ahead);
  return b >= 0 ? b : probeByte(ahead);
}
