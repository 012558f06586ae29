// The compiling tier's decoder: a block's bytes to its IR (ir.ts). What follows each opcode comes
// from the opcode map (src/x86/encoding.ts); what is here is which forms the emitter compiles and
// as what, which the interpreter executes inside the block instead, and where the block ends.
// The forms compiled are the integer instructions compiled C code spends its time in, with 32-,
// 16- (an operand-size prefix) and 8-bit operands, string instructions (REP only with MOVS and STOS), indirect CALL
// and JMP, BT*, SHLD/SHRD, a kernel's MOV to CR3 and system-call path (INT n, IRET, PUSHA/POPA,
// PUSH, POP and MOV of segment registers), and CPUID, VMCALL, VMLAUNCH, VMRESUME, VMXOFF, IN and
// OUT, which the core performs in place, and VMREAD and VMWRITE between registers, which it completes in place when shadowed.
import { MAX_BLOCK_BYTES, HOLE_START, HOLE_END } from "../../assembly/jit-abi.js";
import { SR_ES, SR_DS, SR_FS, SR_GS } from "../../assembly/vmcs-layout.js";
import { REL } from "../../assembly/opcode-map.js";
import { readEncoding, type Encoding } from "../x86/encoding.js";
import {
  type Instruction, type Operand, type Operation, type Register, type Immediate, type Memory, EFFECTS, EAX, ECX, EDX, ESP, ESI, EDI,
} from "./ir.js";

/** Where a block's bytes are. */
export interface BlockBytes {
  code: Uint8Array; // guest RAM
  eip: number; // linear address of the block
  physical: number; // guest-physical address of its first byte (the block stays in that page)
  cpl: number; // the privilege level it is compiled for (MOV to CR3 only at 0)
  // Paging off: the next page's bytes follow in RAM, so the block's last instruction may run into
  // it (its bytes there are compared when it runs, Instruction.tail). With paging they might not.
  paging?: boolean;
}

// A block's size limits (MAX_BLOCK_BYTES in jit-abi.ts). Every edge between two blocks costs a
// budget test and the flags written to the core's globals: a loop body of gcc -O2 code of up
// to ~40 instructions (realc's Fletcher-16 loop: 38 in 110 bytes) stays one block, which a
// branch back to itself runs round with no dispatch (narrow took 25-30 % less time than with 32
// instructions and 64 bytes, bench --only realc, A/B, load 15-21).
export const MAX_BLOCK_INSTRUCTIONS = 48;

/** The block at `eip`: up to its branch, its size limits, or an instruction neither compiled nor interpreted in it. */
export function decodeBlock(at: BlockBytes): Instruction[] {
  const block: Instruction[] = [];
  let ip = at.eip;
  while (block.length < MAX_BLOCK_INSTRUCTIONS) {
    const decoded = decodeAt(at, ip, block.length === 0);
    if (!decoded) break;
    block.push(decoded.instruction);
    ip += decoded.instruction.length;
    if (decoded.last) break;
  }
  return block;
}

function decodeAt(at: BlockBytes, ip: number, first: boolean): { instruction: Instruction; last: boolean } | undefined {
  // A block stays within its first page (its bytes are contiguous there whatever the paging),
  // but for a last instruction that runs into the next page where that page follows in RAM: a
  // loop whose branch straddles two pages would otherwise leave compiled code at every round.
  const offset = ip - at.eip, physical = at.physical + offset;
  const inPage = 0x1000 - (at.physical & 0xfff) - offset; // bytes left in the block's page
  const room = Math.min(MAX_BLOCK_BYTES - offset, at.code.length - physical, followsInRam(at, physical + inPage) ? Infinity : inPage);
  if (inPage <= 0 || room <= 0) return undefined;
  const encoding = readEncoding(at.code, physical, physical + room);
  if (!encoding.known || encoding.length > room) return undefined;
  const { length } = encoding;
  const tail = length <= inPage ? undefined : { at: physical + inPage, bytes: Array.from(at.code.subarray(physical + inPage, physical + length)) };
  const compiled = compilable(encoding) ? compiledForm(encoding, ip + length, first, at.cpl) : repeatedString(encoding);
  if (compiled) return { instruction: { ip, length, op: compiled.op, operands: compiled.operands, cc: compiled.cc, tail }, last: EFFECTS[compiled.op].branch === true || tail !== undefined };
  if (!interpretable(encoding, first)) return undefined;
  return { instruction: { ip, length, op: "interpret", operands: [], cc: undefined, tail }, last: transfers(encoding) || repeats(encoding) || tail !== undefined };
}

// Whether guest-physical `page` (a page's first byte) is plain RAM that follows the page before
// it in linear order too: with paging off, when it is in RAM and clear of the hole.
const followsInRam = (at: BlockBytes, page: number) =>
  at.paging === false && page < at.code.length && !(page >= HOLE_START && page < HOLE_END);

// Compiled forms have no prefix but the operand-size one, and with it only the operations whose
// translation follows the operand's size (not a branch, which would truncate EIP, nor the stack's).
const compilable = ({ prefixes }: Encoding) => prefixes.length === 0 || (prefixes.length === 1 && prefixes[0] === 0x66);
const SIZED: ReadonlySet<Operation> = new Set<Operation>([
  "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test", "inc", "dec", "not", "neg",
  "rol", "ror", "rcl", "rcr", "shl", "shr", "sar", "mul", "imulWide", "div", "idiv", "mov", "movs", "stos", "lods", "nop",
]);

// Forms the interpreter executes inside the block, except: a block's first (entered only to
// interpret, it would cost more than it saves) and what changes IF (CLI, STI, POPF, and IRET with an
// operand-size prefix: only the run loop performs them, so STI's shadow and the IF-mode exits stay
// exact; a compiled IRET ends its block). REP/REPNE forms
// spend budget per iteration: only as the block's last instruction, where no later instruction's
// budget is at stake (repeats()).
function interpretable({ twoByte, opcode }: Encoding, first: boolean): boolean {
  return !first && (twoByte || !CHANGES_IF.has(opcode));
}
const CHANGES_IF = new Set([0xfa, 0xfb, 0x9d, 0xcf]);
const repeats = ({ prefixes }: Encoding) => prefixes.some((p) => p === 0xf2 || p === 0xf3);

// REP MOVS and REP STOS, with an operand-size prefix or none: the core's string function, called
// with no decode (assembly/jit/helpers.ts jitRepString), its iterations paid from the budget the
// block left, so the block goes on after it (other REP forms are interpreted as its last).
function repeatedString({ prefixes, twoByte, opcode, opsize }: Encoding): Form | undefined {
  const string = twoByte ? undefined : STRINGS[opcode];
  const repOnly = prefixes.includes(0xf3) && prefixes.every((p) => p === 0xf3 || p === 0x66) && new Set(prefixes).size === prefixes.length;
  if ((string !== "movs" && string !== "stos") || !repOnly) return undefined;
  return form("repString", immediate(opcode), immediate(opcode & 1 ? opsize : 1));
}

// An interpreted form that may transfer control ends the block: the rest would be dead code,
// compared and counted for nothing.
function transfers({ twoByte, opcode, row, modrm }: Encoding): boolean {
  const indirect = !twoByte && opcode === 0xff && modrm!.reg >= 2 && modrm!.reg <= 5;
  return (row & REL) !== 0 || indirect || (!twoByte && TRANSFERS.has(opcode));
}
// RET (with a prefix; it is compiled without), RET imm16, far CALL/JMP/RET, INT3, INT n, INTO
// (FF /2-/5 and the REL rows are found apart).
const TRANSFERS = new Set([0xc3, 0xc2, 0x9a, 0xea, 0xca, 0xcb, 0xcc, 0xcd, 0xce]);

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
// the immediate, sign-extended to an operand of `bytes` (an 8-bit one to 16 or 32 bits)
function imm({ immediates: [{ size, value }] }: Encoding, bytes: number): Immediate {
  if (size !== 1 || bytes === 1) return immediate(value | 0);
  return immediate(bytes === 4 ? (value << 24) >> 24 : ((value << 24) >> 24) & 0xffff);
}
// whether the r/m operand is an address formed with ESP (which is never an index)
const usesEsp = ({ modrm }: Encoding) => modrm!.address?.base === ESP;
// a string instruction's operand: [EDI] or [ESI] (ES and DS are flat wherever blocks run)
const stringOperand = (index: number, bytes: number): Memory => ({ base: index, index: -1, scale: 0, disp: 0, bytes });
// a branch's target, from the next instruction's address
const target = (e: Encoding, next: number): Immediate => immediate((next + imm(e, 4).imm) >>> 0);

/** The compiled form of an instruction without prefixes ending at `next`, or undefined if the emitter has none. */
function compiledForm(e: Encoding, next: number, first: boolean, cpl: number): Form | undefined {
  if (e.opsize === 2) {
    const sized = e.twoByte ? undefined : oneByteForm(e, next);
    return sized && SIZED.has(sized.op) ? sized : undefined;
  }
  return e.twoByte ? twoByteForm(e, next, first, cpl) : oneByteForm(e, next);
}

function twoByteForm(e: Encoding, next: number, first: boolean, cpl: number): Form | undefined {
  const { opcode: op, modrm } = e, reg = modrm?.reg ?? 0, cc = op & 15;
  if (op >= 0x80 && op <= 0x8f) return conditional("jcc", cc, target(e, next));
  if (op >= 0x40 && op <= 0x4f) return conditional("cmovcc", cc, register(reg, 4), rm(e, 4));
  if (op >= 0x90 && op <= 0x9f) return conditional("setcc", cc, rm(e, 1));
  switch (op) {
    // VMCALL; VMLAUNCH, VMRESUME and VMXOFF (the ModR/M's rm 2-4), whose exit the core delivers in place
    case 0x01: return modrm!.mod !== 3 || reg !== 0 ? undefined : modrm!.rm === 1 ? form("vmcall") : modrm!.rm >= 2 && modrm!.rm <= 4 ? form("vmxNoOperand", immediate(modrm!.rm)) : undefined;
    case 0xa2: return form("cpuid");
    // VMREAD r/m32, r32 and VMWRITE r32, r/m32 between registers: the core completes a guest
    // hypervisor's shadowed access in place (VMCS shadowing), and interprets the rest
    case 0x78: return modrm!.mod === 3 ? form("vmread", register(modrm!.rm, 4), register(reg, 4)) : undefined;
    case 0x79: return modrm!.mod === 3 ? form("vmwrite", register(reg, 4), register(modrm!.rm, 4)) : undefined;
    case 0x34: return form("sysenter");
    case 0x35: return form("sysexit");
    // Not as a block's first instruction: a block starts there only after a MOV that missed the
    // CR3-target list left the block before it, and it would miss again, entered for nothing.
    case 0x22: return reg === 3 && cpl === 0 && !first ? form("movToCr3", rm(e, 4)) : undefined;
    case 0xaf: return form("imul", register(reg, 4), rm(e, 4));
    case 0xa0: case 0xa8: return form("pushSeg", immediate(op === 0xa0 ? SR_FS : SR_GS));
    case 0xa1: case 0xa9: return form("popSeg", immediate(op === 0xa1 ? SR_FS : SR_GS));
    case 0xa3: case 0xab: case 0xb3: case 0xbb: return form(BIT_TESTS[(op >> 3) & 3], rm(e, 4), register(reg, 4));
    case 0xba: return reg >= 4 ? form(BIT_TESTS[reg - 4], rm(e, 4), immediate(e.immediates[0].value & 31)) : undefined;
    case 0xa4: case 0xac: return form(op === 0xa4 ? "shld" : "shrd", rm(e, 4), register(reg, 4), immediate(e.immediates[0].value & 31));
    case 0xa5: case 0xad: return form(op === 0xa5 ? "shld" : "shrd", rm(e, 4), register(reg, 4), register(ECX, 1));
    case 0xb6: case 0xb7: case 0xbe: case 0xbf: return form(op < 0xbe ? "movzx" : "movsx", register(reg, 4), rm(e, op & 1 ? 2 : 1));
    default: return undefined;
  }
}

const BIT_TESTS: Operation[] = ["bt", "bts", "btr", "btc"]; // 0F A3/AB/B3/BB by bits 3-4, 0F BA by ModR/M.reg - 4
// Segment registers whose loads blocks compile (the core performs them): not CS, and not SS, whose
// load holds off interrupts for one instruction (which only the run loop keeps).
const LOADED_IN_BLOCKS = new Set([SR_ES, SR_DS, SR_FS, SR_GS]);
const ALU: Operation[] = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
const SHIFTS: Operation[] = ["rol", "ror", "rcl", "rcr", "shl", "shr", "shl", "sar"]; // /6 is SAL, SHL's alias
const GROUP3: Operation[] = ["test", "test", "not", "neg", "mul", "imulWide", "div", "idiv"];
const STRINGS: Partial<Record<number, Operation>> = { 0xa4: "movs", 0xa5: "movs", 0xaa: "stos", 0xab: "stos", 0xac: "lods", 0xad: "lods" };

// `e.opsize` is 2 only for the forms SIZED names (compiledForm() drops the others).
function oneByteForm(e: Encoding, next: number): Form | undefined {
  const { opcode: op, modrm } = e, reg = modrm?.reg ?? 0, size = e.opsize;
  const bytes = op & 1 ? size : 1; // where the low bit chooses between AL and EAX (AX) forms
  if (op < 0x40 && (op & 7) < 6) {
    if ((op & 7) >= 4) return form(ALU[op >> 3], register(EAX, bytes), imm(e, bytes));
    return op & 2 ? form(ALU[op >> 3], register(reg, bytes), rm(e, bytes)) : form(ALU[op >> 3], rm(e, bytes), register(reg, bytes));
  }
  if (op >= 0x40 && op <= 0x4f) return form(op < 0x48 ? "inc" : "dec", register(op & 7, size));
  if (op >= 0x50 && op <= 0x5f) return form(op < 0x58 ? "push" : "pop", register(op & 7, 4));
  if (op >= 0x70 && op <= 0x7f) return conditional("jcc", op & 15, target(e, next));
  if (op >= 0xb0 && op <= 0xbf) return form("mov", register(op & 7, op < 0xb8 ? 1 : size), imm(e, op < 0xb8 ? 1 : size));
  const string = STRINGS[op];
  if (string === "movs") return form(string, stringOperand(EDI, bytes), stringOperand(ESI, bytes));
  if (string === "stos") return form(string, stringOperand(EDI, bytes), register(EAX, bytes));
  if (string === "lods") return form(string, register(EAX, bytes), stringOperand(ESI, bytes));
  switch (op) {
    case 0x68: case 0x6a: return form("push", imm(e, 4));
    case 0x69: case 0x6b: return form("imul", register(reg, 4), rm(e, 4), imm(e, 4));
    case 0x80: case 0x81: case 0x83: return form(ALU[reg], rm(e, op === 0x80 ? 1 : size), imm(e, op === 0x80 ? 1 : size));
    case 0x84: case 0x85: return form("test", rm(e, bytes), register(reg, bytes));
    case 0x88: case 0x89: return form("mov", rm(e, bytes), register(reg, bytes));
    case 0x8a: case 0x8b: return form("mov", register(reg, bytes), rm(e, bytes));
    case 0x8d: return modrm!.address ? form("lea", register(reg, 4), rm(e, 4)) : undefined;
    // POP r/m32 (a C hypervisor's `pushf; popl (%eax)`, say), but not into an address formed with
    // ESP, which the interpreter forms from ESP after the pop (SDM POP: the block forms it before)
    case 0x8f: return reg === 0 && !usesEsp(e) ? form("pop", rm(e, 4)) : undefined;
    case 0x90: return form("nop");
    case 0x98: return form("cwde");
    case 0x99: return form("cdq");
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: { // MOV between AL/EAX and a 32-bit address
      const memory: Operand = { base: -1, index: -1, scale: 0, disp: e.immediates[0].value, bytes };
      return op < 0xa2 ? form("mov", register(EAX, bytes), memory) : form("mov", memory, register(EAX, bytes));
    }
    case 0xa8: case 0xa9: return form("test", register(EAX, bytes), imm(e, bytes));
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: {
      const count = (op < 0xd0 ? e.immediates[0].value : 1) & 31;
      // a zero count changes nothing, flags included; but a memory operand is still accessed (and
      // may fault): the interpreter does that one
      if (count === 0) return modrm!.address ? undefined : form("nop");
      return form(SHIFTS[reg], rm(e, bytes), immediate(count));
    }
    case 0xd2: case 0xd3: return form(SHIFTS[reg], rm(e, bytes), register(ECX, 1));
    case 0xc6: case 0xc7: return reg === 0 ? form("mov", rm(e, bytes), imm(e, bytes)) : undefined;
    case 0xc9: return form("leave");
    // PUSH CS and SS run in the core: what they show depends on the IF mode (ring compression, ifmode.ts).
    case 0x06: case 0x1e: return form("pushSeg", immediate(op >> 3));
    case 0x07: case 0x1f: return form("popSeg", immediate(op >> 3));
    case 0x8e: return LOADED_IN_BLOCKS.has(reg) ? form("movSeg", immediate(reg), rm(e, 2)) : undefined;
    case 0xfc: return form("cld");
    case 0xfd: return form("std");
    case 0x60: return form("pusha");
    case 0x61: return form("popa");
    case 0xcd: return form("int", immediate(e.immediates[0].value));
    case 0xcf: return form("iret");
    case 0xf6: case 0xf7: return reg <= 1 ? form("test", rm(e, bytes), imm(e, bytes)) : form(GROUP3[reg], rm(e, bytes));
    case 0xfe: return reg <= 1 ? form(reg === 0 ? "inc" : "dec", rm(e, 1)) : undefined;
    case 0xff: switch (reg) { // INC, DEC, CALL, JMP and PUSH of r/m; far CALL and JMP are interpreted
      case 0: case 1: return form(reg === 0 ? "inc" : "dec", rm(e, size));
      case 2: return form("call", rm(e, 4));
      case 4: return form("jmp", rm(e, 4));
      case 6: return form("push", rm(e, 4));
      default: return undefined;
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
