// The IA-32 opcode map (SDM Vol. 2, Appendix A): one row per opcode of the one-byte map and of
// the 0F map, saying what follows the opcode and when LOCK may precede it. The interpreter's
// length decoder and LOCK check (assembly/cpu/length.ts), the demo's disassembler and the
// compiling tier's decoder (both through src/x86/encoding.ts) and the fuzzer's instruction
// generator (src/fuzz/encodings.ts) all read it; its mnemonic column is in opcode-names.ts. Like
// vmcs-layout.ts, this file is plain TypeScript that is also valid AssemblyScript: untyped numeric
// constants and array literals only (i32 and Array<i32> to asc, number and number[] to tsc).
//
// Reserved opcodes are measured as if they had a ModR/M byte (they raise #UD anyway) and have no
// mnemonic. The map is the one a CPU without AVX sees: C4/C5/62 with a register ModR/M are LES,
// LDS and BOUND (which then raise #UD), not VEX/EVEX prefixes. Operand-size dependence shows in
// the immediate kinds (IMM_V, IMM_FAR) and in the mnemonics' "v" operands; no IA-32 opcode has an
// imm32 whatever the operand size. Which instructions end a block is not a column: the
// interpreter's cases and the compiling tier's decoder decide it where they handle a transfer.

// ---- A row: bit fields (bits 0-7 are all the length decoder needs) ------------------------------
export const MODRM = 1; // a ModR/M byte follows the opcode (then SIB and displacement as it says)
// What immediate follows the ModR/M byte (or the opcode), bits 1-3:
export const IMM_MASK = 7 << 1;
export const IMM8 = 1 << 1;
export const IMM16 = 2 << 1;
export const IMM_V = 3 << 1; // 16 or 32 bits by operand size (the SDM's Iz and Jz)
export const IMM_MOFFS = 4 << 1; // a memory offset, 16 or 32 bits by address size (Ob, Ov)
export const IMM_FAR = 5 << 1; // a far pointer: an operand-size offset, then a 16-bit selector (Ap)
export const IMM_ENTER = 6 << 1; // ENTER's imm16 frame size, then imm8 nesting level
// The immediate is there only when ModR/M.reg is 0 or 1: group 3 (F6, F7), whose TEST has one
// and whose NOT NEG MUL IMUL DIV IDIV have none.
export const IMM_IF_TEST = 1 << 4;
export const THREE_BYTE = 1 << 5; // 0F 38, 0F 3A: another opcode byte comes before the ModR/M byte
// ModR/M's mod field is ignored: r/m names a register whatever mod says, and no SIB or displacement
// follows (MOV to and from control and debug registers, SDM Vol. 2 "MOV").
export const MOD_IGNORED = 1 << 6;
export const PREFIX = 1 << 7; // a prefix byte, not an opcode
// Bits 8-15: the ModR/M.reg values (bit 8 + reg) with which LOCK is allowed, given a memory
// operand (SDM Vol. 2, "LOCK"); LOCK anywhere else raises #UD.
export const LOCK_SHIFT = 8;
const LOCK = 0xff << LOCK_SHIFT; // any reg: the opcode names one read-modify-write
const LOCK_GROUP1 = 0x7f << LOCK_SHIFT; // 80-83: all but CMP (/7)
const LOCK_GROUP3 = 0x0c << LOCK_SHIFT; // F6, F7: NOT (/2) and NEG (/3)
const LOCK_INC_DEC = 0x03 << LOCK_SHIFT; // FE, FF: INC (/0) and DEC (/1)
const LOCK_BT_WRITE = 0xe0 << LOCK_SHIFT; // 0F BA: BTS BTR BTC (/5-/7), not BT (/4)
const LOCK_CMPXCHG8B = 0x02 << LOCK_SHIFT; // 0F C7 /1
export const REL = 1 << 16; // the immediate is a branch displacement from the next instruction

// Shorthands for the rows below.
const M = MODRM;
const ML = MODRM | LOCK;
const MB = MODRM | IMM8;
const MV = MODRM | IMM_V;
const B = IMM8;
const V = IMM_V;
const JB = IMM8 | REL;
const JV = IMM_V | REL;
const P = PREFIX;
const MR = MODRM | MOD_IGNORED;

// ---- The one-byte map ---------------------------------------------------------------------------
export const ONE_BYTE = [
  /* 00 */ ML, ML, M, M, B, V, 0, 0, ML, ML, M, M, B, V, 0, 0, // 0F: the escape (TWO_BYTE)
  /* 10 */ ML, ML, M, M, B, V, 0, 0, ML, ML, M, M, B, V, 0, 0,
  /* 20 */ ML, ML, M, M, B, V, P, 0, ML, ML, M, M, B, V, P, 0,
  /* 30 */ ML, ML, M, M, B, V, P, 0, M, M, M, M, B, V, P, 0,
  /* 40 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  /* 50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  /* 60 */ 0, 0, M, M, P, P, P, P, V, MV, B, MB, 0, 0, 0, 0,
  /* 70 */ JB, JB, JB, JB, JB, JB, JB, JB, JB, JB, JB, JB, JB, JB, JB, JB,
  /* 80 */ MB | LOCK_GROUP1, MV | LOCK_GROUP1, MB | LOCK_GROUP1, MB | LOCK_GROUP1, M, M, ML, ML,
  /* 88 */ M, M, M, M, M, M, M, M,
  /* 90 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, IMM_FAR, 0, 0, 0, 0, 0,
  /* A0 */ IMM_MOFFS, IMM_MOFFS, IMM_MOFFS, IMM_MOFFS, 0, 0, 0, 0, B, V, 0, 0, 0, 0, 0, 0,
  /* B0 */ B, B, B, B, B, B, B, B, V, V, V, V, V, V, V, V,
  /* C0 */ MB, MB, IMM16, 0, M, M, MB, MV, IMM_ENTER, 0, IMM16, 0, 0, B, 0, 0,
  /* D0 */ M, M, M, M, B, B, 0, 0, M, M, M, M, M, M, M, M,
  /* E0 */ JB, JB, JB, JB, B, B, B, B, JV, JV, IMM_FAR, JB, 0, 0, 0, 0,
  /* F0 */ P, 0, P, P, 0, 0, MB | IMM_IF_TEST | LOCK_GROUP3, MV | IMM_IF_TEST | LOCK_GROUP3,
  /* F8 */ 0, 0, 0, 0, 0, 0, M | LOCK_INC_DEC, M | LOCK_INC_DEC,
];

// ---- The 0F map ---------------------------------------------------------------------------------
export const TWO_BYTE = [
  /* 00 */ M, M, M, M, M, 0, 0, 0, 0, 0, M, 0, M, M, 0, MB, // 0F 0F: 3DNow!, its opcode is the imm8
  /* 10 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
  /* 20 */ MR, MR, MR, MR, MR, M, MR, M, M, M, M, M, M, M, M, M, // 24, 26: the 386's MOV TRn
  /* 30 */ 0, 0, 0, 0, 0, 0, 0, 0, M | THREE_BYTE, M, MB | THREE_BYTE, M, M, M, M, M,
  /* 40 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
  /* 50 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
  /* 60 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
  /* 70 */ MB, MB, MB, MB, M, M, M, 0, M, M, M, M, M, M, M, M,
  /* 80 */ JV, JV, JV, JV, JV, JV, JV, JV, JV, JV, JV, JV, JV, JV, JV, JV,
  /* 90 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
  /* A0 */ 0, 0, 0, M, MB, M, M, M, 0, 0, 0, ML, MB, M, M, M,
  /* B0 */ ML, ML, M, ML, M, M, M, M, M, M, MB | LOCK_BT_WRITE, ML, M, M, M, M,
  /* C0 */ ML, ML, MB, M, MB, MB, MB, M | LOCK_CMPXCHG8B, 0, 0, 0, 0, 0, 0, 0, 0,
  /* D0 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
  /* E0 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
  /* F0 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
];
