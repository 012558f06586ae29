// The compiling tier's decoder: a block's bytes to its IR (ir.ts). What follows each opcode comes
// from the opcode map (src/x86/encoding.ts); what is here is which forms the emitter compiles and
// as what, which the interpreter executes inside the block instead, and where the block ends.
// The forms compiled are the integer instructions compiled C code spends its time in, with
// 32-bit operands (and 8-bit MOV/ALU/TEST), a kernel's MOV to CR3, and CPUID, VMCALL, IN and OUT,
// which the core performs in place.
import { MAX_BLOCK_BYTES } from "../../assembly/jit-abi.js";
import { REL } from "../../assembly/opcode-map.js";
import { readEncoding, type Encoding } from "../x86/encoding.js";
import { type Instruction, type Operand, type Operation, type Register, type Immediate, EFFECTS, EAX, EDX } from "./ir.js";

/** Where a block's bytes are. */
export interface BlockBytes {
  code: Uint8Array; // guest RAM
  eip: number; // linear address of the block
  physical: number; // guest-physical address of its first byte (the block stays in that page)
  cpl: number; // the privilege level it is compiled for (MOV to CR3 only at 0)
}

const MAX_INSTRUCTIONS = 32;

/** The block at `eip`: up to its branch, its size limits, or an instruction neither compiled nor interpreted in it. */
export function decodeBlock(at: BlockBytes): Instruction[] {
  const block: Instruction[] = [];
  let ip = at.eip;
  while (block.length < MAX_INSTRUCTIONS) {
    const decoded = decodeAt(at, ip, block.length === 0);
    if (!decoded) break;
    block.push(decoded.instruction);
    ip += decoded.instruction.length;
    if (decoded.last) break;
  }
  return block;
}

function decodeAt(at: BlockBytes, ip: number, first: boolean): { instruction: Instruction; last: boolean } | undefined {
  // a block stays within its first page: its bytes are contiguous there whatever the paging
  const offset = ip - at.eip, physical = at.physical + offset;
  const room = Math.min(0x1000 - (at.physical & 0xfff) - offset, MAX_BLOCK_BYTES - offset, at.code.length - physical);
  if (room <= 0) return undefined;
  const bytes = at.code.subarray(physical, physical + room);
  const encoding = readEncoding(bytes);
  if (!encoding.known || encoding.length > room) return undefined;
  const { length } = encoding;
  const compiled = encoding.prefixes.length === 0 ? compiledForm(encoding, ip + length, first, at.cpl) : undefined;
  if (compiled) return { instruction: { ip, length, op: compiled.op, operands: compiled.operands, cc: compiled.cc }, last: EFFECTS[compiled.op].branch === true };
  if (!interpretable(encoding, first)) return undefined;
  return { instruction: { ip, length, op: "interpret", operands: [], cc: undefined }, last: transfers(encoding) };
}

// Forms the interpreter executes inside the block, except: a block's first (entered only to
// interpret, it would cost more than it saves), REP/REPNE string instructions (they spend budget per
// iteration), and what changes IF (CLI, STI, POPF, IRET: compiled code never does, so the run
// loop's interrupt checks between blocks stay exact).
function interpretable({ prefixes, twoByte, opcode }: Encoding, first: boolean): boolean {
  return !first && !prefixes.some((p) => p === 0xf2 || p === 0xf3) && (twoByte || !CHANGES_IF.has(opcode));
}
const CHANGES_IF = new Set([0xfa, 0xfb, 0x9d, 0xcf]);

// An interpreted form that may transfer control ends the block: the rest would be dead code,
// compared and counted for nothing.
function transfers({ twoByte, opcode, row, modrm }: Encoding): boolean {
  const indirect = !twoByte && opcode === 0xff && modrm!.reg >= 2 && modrm!.reg <= 5;
  return (row & REL) !== 0 || indirect || (!twoByte && TRANSFERS.has(opcode));
}
// RET imm16, far CALL/JMP/RET, INT3, INT n, INTO (FF /2-/5 and the REL rows are found apart).
const TRANSFERS = new Set([0xc2, 0x9a, 0xea, 0xca, 0xcb, 0xcc, 0xcd, 0xce]);

type Form = { op: Operation; operands: Operand[]; cc?: number };
const form = (op: Operation, ...operands: Operand[]): Form => ({ op, operands });
const conditional = (op: Operation, cc: number, ...operands: Operand[]): Form => ({ op, operands, cc });
const register = (reg: number, bytes: number): Register => ({ reg, bytes });
const immediate = (imm: number): Immediate => ({ imm });
// the r/m operand of `bytes`
function rm({ modrm }: Encoding, bytes: number): Operand {
  const address = modrm!.address;
  return address ? { base: address.base, index: address.index, scale: address.scale, disp: address.disp, bytes } : register(modrm!.rm, bytes);
}
// the immediate, extended to an operand of `bytes` (to a byte one it is itself)
function imm({ immediates: [{ size, value }] }: Encoding, bytes: number): Immediate {
  return immediate(size === 1 && bytes === 4 ? (value << 24) >> 24 : value | 0);
}
// a branch's target, from the next instruction's address
const target = (e: Encoding, next: number): Immediate => immediate((next + imm(e, 4).imm) >>> 0);

/** The compiled form of an instruction without prefixes ending at `next`, or undefined if the emitter has none. */
function compiledForm(e: Encoding, next: number, first: boolean, cpl: number): Form | undefined {
  return e.twoByte ? twoByteForm(e, next, first, cpl) : oneByteForm(e, next);
}

function twoByteForm(e: Encoding, next: number, first: boolean, cpl: number): Form | undefined {
  const { opcode: op, modrm } = e, reg = modrm?.reg ?? 0, cc = op & 15;
  if (op >= 0x80 && op <= 0x8f) return conditional("jcc", cc, target(e, next));
  if (op >= 0x40 && op <= 0x4f) return conditional("cmovcc", cc, register(reg, 4), rm(e, 4));
  if (op >= 0x90 && op <= 0x9f) return conditional("setcc", cc, rm(e, 1));
  switch (op) {
    case 0x01: return modrm!.mod === 3 && reg === 0 && modrm!.rm === 1 ? form("vmcall") : undefined;
    case 0xa2: return form("cpuid");
    // Not as a block's first instruction: a block starts there only after a MOV that missed the
    // CR3-target list left the block before it, and it would miss again, entered for nothing.
    case 0x22: return reg === 3 && cpl === 0 && !first ? form("movToCr3", rm(e, 4)) : undefined;
    case 0xaf: return form("imul", register(reg, 4), rm(e, 4));
    case 0xb6: case 0xb7: case 0xbe: case 0xbf: {
      const bytes = op & 1 ? 2 : 1;
      if (!modrm!.address && bytes === 2) return undefined; // 16-bit registers are not modelled here
      return form(op < 0xbe ? "movzx" : "movsx", register(reg, 4), rm(e, bytes));
    }
    default: return undefined;
  }
}

const ALU: Operation[] = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
const SHIFTS: (Operation | undefined)[] = ["rol", "ror", undefined, undefined, "shl", "shr", "shl", "sar"]; // not RCL, RCR
const GROUP3: (Operation | undefined)[] = [undefined, undefined, "not", "neg", "mul", undefined, "div", undefined]; // 32-bit

function oneByteForm(e: Encoding, next: number): Form | undefined {
  const { opcode: op, modrm } = e, reg = modrm?.reg ?? 0;
  const bytes = op & 1 ? 4 : 1; // where the low bit chooses between AL and EAX forms
  if (op < 0x40 && (op & 7) < 6) {
    if ((op & 7) >= 4) return form(ALU[op >> 3], register(EAX, bytes), imm(e, bytes));
    return op & 2 ? form(ALU[op >> 3], register(reg, bytes), rm(e, bytes)) : form(ALU[op >> 3], rm(e, bytes), register(reg, bytes));
  }
  if (op >= 0x40 && op <= 0x4f) return form(op < 0x48 ? "inc" : "dec", register(op & 7, 4));
  if (op >= 0x50 && op <= 0x5f) return form(op < 0x58 ? "push" : "pop", register(op & 7, 4));
  if (op >= 0x70 && op <= 0x7f) return conditional("jcc", op & 15, target(e, next));
  if (op >= 0xb0 && op <= 0xbf) return form("mov", register(op & 7, op < 0xb8 ? 1 : 4), imm(e, op < 0xb8 ? 1 : 4));
  switch (op) {
    case 0x68: case 0x6a: return form("push", imm(e, 4));
    case 0x69: case 0x6b: return form("imul", register(reg, 4), rm(e, 4), imm(e, 4));
    case 0x80: case 0x81: case 0x83: return form(ALU[reg], rm(e, op === 0x80 ? 1 : 4), imm(e, op === 0x80 ? 1 : 4));
    case 0x84: case 0x85: return form("test", rm(e, bytes), register(reg, bytes));
    case 0x88: case 0x89: return form("mov", rm(e, bytes), register(reg, bytes));
    case 0x8a: case 0x8b: return form("mov", register(reg, bytes), rm(e, bytes));
    case 0x8d: return modrm!.address ? form("lea", register(reg, 4), rm(e, 4)) : undefined;
    case 0x90: return form("nop");
    case 0x99: return form("cdq");
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: { // MOV between AL/EAX and a 32-bit address
      const memory: Operand = { base: -1, index: -1, scale: 0, disp: e.immediates[0].value, bytes };
      return op < 0xa2 ? form("mov", register(EAX, bytes), memory) : form("mov", memory, register(EAX, bytes));
    }
    case 0xa8: case 0xa9: return form("test", register(EAX, bytes), imm(e, bytes));
    case 0xc1: case 0xd1: {
      const count = (op === 0xc1 ? e.immediates[0].value : 1) & 31;
      // a zero count changes nothing, flags included; but a memory operand is still accessed (and
      // may fault): the interpreter does that one
      if (count === 0) return modrm!.address ? undefined : form("nop");
      const shift = SHIFTS[reg];
      return shift && form(shift, rm(e, 4), immediate(count));
    }
    case 0xc6: case 0xc7: return reg === 0 ? form("mov", rm(e, bytes), imm(e, bytes)) : undefined;
    case 0xf6: case 0xf7: {
      if (reg === 0) return form("test", rm(e, bytes), imm(e, bytes));
      const unary = bytes === 4 ? GROUP3[reg] : undefined;
      return unary && form(unary, rm(e, 4));
    }
    case 0xe4: case 0xe5: case 0xe6: case 0xe7: case 0xec: case 0xed: case 0xee: case 0xef: {
      const port = op < 0xec ? immediate(e.immediates[0].value) : register(EDX, 2);
      return op & 2 ? form("out", port, register(EAX, bytes)) : form("in", register(EAX, bytes), port);
    }
    case 0xe2: return form("loop", target(e, next));
    case 0xe3: return form("jecxz", target(e, next));
    case 0xe8: return form("call", target(e, next));
    case 0xe9: case 0xeb: return form("jmp", target(e, next));
    case 0xc3: return form("ret");
    default: return undefined;
  }
}
