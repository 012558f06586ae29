// The binary translator of --if-mode bt (docs/design.md, "Binary translation"): decodes a basic
// block of guest-kernel code before it first runs, finds its sensitive instructions and records
// how each is rewritten (vmcs-layout.ts BT_*), in the block cache entry of the block's EIP, where
// the compiling tier's write tracking (jit/code-pages.ts) forgets it when the guest writes to its
// bytes. A translation is, per instruction, its length and its rewrite kind; the executor
// (executor.ts) performs the kinds. Decoding reads the fetch window from EIP on, so a block ends
// where the window does (a page end with paging, the CS limit) or before an instruction running
// past it; such an instruction, when first, is decoded with faulting fetches and not kept.
import {
  VMCS_BASE, STAT_BT_BLOCKS_LO, STAT_BT_BYTES_LO, BT_IDENT, BT_CLI, BT_STI, BT_PUSHF, BT_POPF,
  BT_STATE_READ, BT_SEGMENT_READ, BT_PRIVILEGE_CHECK, BT_CONTROL_REGISTER, BT_DEBUG_REGISTER, BT_TABLE_LOAD,
  BT_IRET,
} from "../vmcs-layout";
import {
  BLOCK_PHYSICAL, BLOCK_INSTRUCTIONS, BLOCK_MODE, BLOCK_REGION_BLOCKS, BLOCK_TRANSLATED, BLOCK_MODE_PAGING,
  BLOCK_MODE_CODE16, REGION_BLOCKS_OFFSET, REGION_BLOCKS_STRIDE, BLOCK_ENTRY_SIZE,
} from "../jit-abi";
import { o32, a32, csDefault32, pending } from "../cpu/state";
import { peekByte, probeByte } from "../cpu/fetch";
import { isPrefix, lengthInWindow, probedLength } from "../cpu/length";
import { resetDecodeState } from "../cpu/execute";
import { pagingEnabled } from "../memory/linear";
import { cacheBase, evict } from "../jit/block-cache";
import { trackBlock } from "../jit/code-pages";

// After a kind: the block ends after this instruction (a control transfer, or a callout or
// instruction after which paging, segments or privilege may differ).
export const ENDS_BLOCK: u32 = 0x80;
export const KIND_MASK: u32 = 0x7f;

// A translation lives in its entry's region-block words (jit-abi.ts): word 0 is the block's
// offset in its page and length, for write tracking; then a byte pair per instruction.
// (30, as when regions held 16 blocks: the translation counts of bt's bench rows stay comparable)
export const MAX_INSTRUCTIONS: u32 = 30;
assert(4 + MAX_INSTRUCTIONS * 2 <= REGION_BLOCKS_STRIDE);
const MAX_BYTES: u32 = 255;

@inline function regionWords(entry: u32): u32 {
  return cacheBase + REGION_BLOCKS_OFFSET + (entry - cacheBase) / BLOCK_ENTRY_SIZE * REGION_BLOCKS_STRIDE;
}
// Instruction i of the translation in `entry`: its length, and its kind with ENDS_BLOCK.
@inline export function lengthAt(entry: u32, i: u32): u32 { return load<u8>(regionWords(entry) + 4 + (i << 1)); }
@inline export function kindAt(entry: u32, i: u32): u32 { return load<u8>(regionWords(entry) + 5 + (i << 1)); }

// The mode a translation is for: paging, CPL 0, and the code size its lengths assume.
export function translationMode(): u32 {
  return (pagingEnabled ? BLOCK_MODE_PAGING : 0) | (csDefault32 ? 0 : BLOCK_MODE_CODE16);
}

// How the instruction with opcode `op` (0x0F00 | second byte for the two-byte map) and ModR/M byte
// `modrm` is rewritten, with ENDS_BLOCK.
export function rewriteOf(op: u32, modrm: u32): u32 {
  const reg = (modrm >> 3) & 7;
  const memory = modrm < 0xc0;
  switch (op) {
    case 0xfa: return BT_CLI;
    case 0xfb: return BT_STI;
    case 0x9c: return BT_PUSHF;
    case 0x9d: return BT_POPF;
    case 0x0e: case 0x16: return BT_SEGMENT_READ; // PUSH CS, PUSH SS
    case 0x8c: return reg == 1 || reg == 2 ? BT_SEGMENT_READ : BT_IDENT; // MOV r/m, CS or SS
    case 0x9a: return BT_SEGMENT_READ | ENDS_BLOCK; // far CALL pushes CS
    case 0xff:
      if (reg == 3) return BT_SEGMENT_READ | ENDS_BLOCK;
      return reg >= 2 && reg <= 5 ? BT_IDENT | ENDS_BLOCK : BT_IDENT;
    case 0xcf: return BT_IRET | ENDS_BLOCK;
    case 0x0f00: // SLDT STR LLDT LTR VERR VERW
      return reg <= 1 ? BT_STATE_READ : reg <= 3 ? BT_TABLE_LOAD | ENDS_BLOCK : reg <= 5 ? BT_PRIVILEGE_CHECK : BT_IDENT;
    case 0x0f01:
      if (reg == 4) return BT_STATE_READ; // SMSW
      if (reg == 6) return BT_CONTROL_REGISTER | ENDS_BLOCK; // LMSW
      if (!memory) return BT_IDENT | ENDS_BLOCK; // VMX, MONITOR...: exits or mode changes
      if (reg <= 1) return BT_STATE_READ; // SGDT SIDT
      if (reg <= 3) return BT_TABLE_LOAD | ENDS_BLOCK; // LGDT LIDT
      return BT_IDENT | ENDS_BLOCK; // INVLPG: a mapping may change
    case 0x0f02: case 0x0f03: return BT_PRIVILEGE_CHECK; // LAR LSL
    case 0x0f06: return BT_CONTROL_REGISTER | ENDS_BLOCK; // CLTS
    case 0x0f20: case 0x0f22: return BT_CONTROL_REGISTER | ENDS_BLOCK;
    case 0x0f21: case 0x0f23: return BT_DEBUG_REGISTER | ENDS_BLOCK;
    case 0x0f05: case 0x0f07: case 0x0f34: case 0x0f35: return BT_IDENT | ENDS_BLOCK; // fast system calls
  }
  // near and far branches, RET, INT, HLT: control leaves the straight line
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xeb) || (op >= 0xc2 && op <= 0xc3) ||
    (op >= 0xca && op <= 0xce) || op == 0xf1 || op == 0xf4 || (op >= 0x0f80 && op <= 0x0f8f)) return BT_IDENT | ENDS_BLOCK;
  return BT_IDENT;
}

// The instruction `at` bytes past EIP: its length (0 when its bytes are not all in the window, or,
// with `faulting`, when fetching them faulted) and, in `decodedKind`, its rewrite.
let decodedKind: u32 = 0;
function decode(at: u32, window: u32, faulting: bool): u32 {
  let p = at;
  let b: i32;
  let locked = false;
  while (true) {
    b = faulting ? codeByte(p) : peekByte(p);
    if (b < 0 || p - at >= 14 || !isPrefix(<u32>b)) break;
    if (b == 0xf0) locked = true;
    if (b == 0x66) o32 = !o32;
    else if (b == 0x67) a32 = !a32;
    p++;
  }
  let length: i32 = -1;
  if (b >= 0) length = faulting ? probedLength(<u32>b, p) : lengthInWindow(<u32>b, p);
  resetDecodeState();
  if (length <= 0 || (!faulting && p + <u32>length > window)) return 0;
  const end = p + <u32>length;
  let op = <u32>b;
  let modrmAt = p + 1;
  if (op == 0x0f) { op = 0x0f00 | <u32>codeByte(p + 1); modrmAt++; }
  // (the byte after the opcode, read only when it is the instruction's own)
  decodedKind = rewriteOf(op, modrmAt < end ? <u32>codeByte(modrmAt) & 0xff : 0);
  // No sensitive instruction takes LOCK: with it, each is #UD, which the interpreter raises.
  if (locked) decodedKind = BT_IDENT | (decodedKind & ENDS_BLOCK);
  return end - at;
}
// The byte `ahead` past EIP as a fetch reads it (from the window when it holds it).
function codeByte(ahead: u32): i32 {
  const b = peekByte(ahead);
  return b >= 0 ? b : probeByte(ahead);
}

// Translates the block at EIP (guest-physical `physical`, the fetch window holding `window` bytes
// from it) into `entry`. Returns false when its first instruction runs past the window: then
// decodeAlone() is the translation.
export function translateBlock(entry: u32, physical: u32, window: u32): bool {
  const pageLeft: u32 = 0x1000 - (physical & 0xfff);
  let limit = window < pageLeft ? window : pageLeft;
  if (limit > MAX_BYTES) limit = MAX_BYTES;
  const words = regionWords(entry);
  let bytes: u32 = 0;
  let count: u32 = 0;
  while (count < MAX_INSTRUCTIONS) {
    const length = decode(bytes, limit, false);
    if (length == 0) break;
    store<u8>(words + 4 + (count << 1), <u8>length);
    store<u8>(words + 5 + (count << 1), <u8>decodedKind);
    bytes += length;
    count++;
    if (decodedKind & ENDS_BLOCK) break;
  }
  if (count == 0) return false;
  evict(entry);
  store<u32>(entry + BLOCK_PHYSICAL, physical);
  store<u8>(entry + BLOCK_MODE, <u8>translationMode());
  store<u8>(entry + BLOCK_INSTRUCTIONS, <u8>count);
  store<u8>(entry + BLOCK_REGION_BLOCKS, 1);
  store<u32>(words, (physical & 0xfff) | (bytes << 16));
  store<u8>(entry + BLOCK_TRANSLATED, 1);
  trackBlock(entry);
  countTranslation(bytes);
  return true;
}

// The instruction at EIP alone, read with faulting fetches (it runs past the window, or is not in
// RAM): its length (0 when a fetch faulted, the fault pending), kind in `aloneKind`. Not kept.
export let aloneKind: u32 = 0;
export function decodeAlone(): u32 {
  const length = decode(0, 0, true);
  if (pending) return 0;
  aloneKind = decodedKind;
  countTranslation(length);
  return length;
}

function countTranslation(bytes: u32): void {
  store<u64>(VMCS_BASE + STAT_BT_BLOCKS_LO, load<u64>(VMCS_BASE + STAT_BT_BLOCKS_LO) + 1);
  store<u64>(VMCS_BASE + STAT_BT_BYTES_LO, load<u64>(VMCS_BASE + STAT_BT_BYTES_LO) + <u64>bytes);
}
