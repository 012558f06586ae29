// The compiling tier's IR: one record per guest instruction of a block. decode.ts makes it from the
// block's bytes, access-checks.ts plans the block's memory checks from it, and translate.ts walks
// it to write WASM. Operands are in Intel order, the written one first.
import type { Address } from "../x86/encoding.js";

export const EAX = 0, ECX = 1, EDX = 2, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

/** A general register: EAX..EDI, with `bytes` 2 AX..DI, or with `bytes` 1 AL..BH (AH..BH are 4-7). */
export interface Register { reg: number; bytes: number }
export interface Memory extends Address { bytes: number }
/** A 32-bit value, an immediate already extended to its operand's size or a branch target. */
export interface Immediate { imm: number }
export type Operand = Register | Memory | Immediate;
/** An operand an instruction can write. */
export type Place = Register | Memory;

export const isRegister = (o: Operand): o is Register => "reg" in o;
export const isMemory = (o: Operand): o is Memory => "base" in o;
export const isImmediate = (o: Operand): o is Immediate => "imm" in o;

export type Operation =
  | "add" | "or" | "adc" | "sbb" | "and" | "sub" | "xor" | "cmp" | "test" // dst, src
  | "inc" | "dec" | "not" | "neg" // dst
  | "rol" | "ror" | "rcl" | "rcr" | "shl" | "shr" | "sar" // dst, count (an Immediate 0-31, or CL)
  | "imul" // dst, src[, factor]: dst = src * factor, or dst * src without one
  | "mul" | "imulWide" | "div" | "idiv" // src; EDX:EAX (DX:AX, AX by its size)
  | "mov" | "lea" | "movzx" | "movsx" | "pop" | "push" | "setcc" | "cmovcc" | "cdq" | "cwde" | "nop"
  | "movs" | "stos" | "lods" // [EDI], [ESI]; [EDI], EAX; EAX, [ESI]: one iteration, no REP
  | "leave"
  | "jcc" | "loop" | "jecxz" | "jmp" | "call" // target: an Immediate, or a register or memory (indirect)
  | "ret"
  | "in" | "out" // in: EAX or AL, port (Immediate or DX); out: port, EAX or AL
  | "cpuid" | "vmcall" | "movToCr3"
  | "interpret"; // a form not compiled: the core's interpreter executes it inside the block

export interface Instruction {
  ip: number; // linear address
  length: number;
  op: Operation;
  operands: Operand[];
  cc?: number; // jcc, setcc, cmovcc: the condition, the low nibble of the Jcc opcode
}

/**
 * What an operation does besides reading its operands, as the checks' planning must know it:
 * whether it writes its first operand, uses the stack, writes other registers, calls into the core
 * (then nothing else matters: the core may change any register and the TLB), or ends the block.
 */
interface Effects {
  writesFirst?: true;
  addressOnly?: true; // its memory operand is not accessed (LEA)
  stack?: "push" | "pop";
  implicit?: number[];
  core?: true;
  branch?: true;
}
const WRITES: Effects = { writesFirst: true }, READS: Effects = {}, CORE: Effects = { core: true };
export const EFFECTS: Readonly<Record<Operation, Effects>> = {
  add: WRITES, or: WRITES, adc: WRITES, sbb: WRITES, and: WRITES, sub: WRITES, xor: WRITES, cmp: READS, test: READS,
  inc: WRITES, dec: WRITES, not: WRITES, neg: WRITES,
  rol: WRITES, ror: WRITES, rcl: WRITES, rcr: WRITES, shl: WRITES, shr: WRITES, sar: WRITES,
  imul: WRITES, mul: { implicit: [EAX, EDX] }, imulWide: { implicit: [EAX, EDX] }, div: { implicit: [EAX, EDX] },
  idiv: { implicit: [EAX, EDX] },
  mov: WRITES, lea: { writesFirst: true, addressOnly: true }, movzx: WRITES, movsx: WRITES,
  pop: { writesFirst: true, stack: "pop", implicit: [ESP] }, push: { stack: "push", implicit: [ESP] },
  setcc: WRITES, cmovcc: WRITES, cdq: { implicit: [EDX] }, cwde: { implicit: [EAX] }, nop: READS,
  movs: { writesFirst: true, implicit: [ESI, EDI] }, stos: { writesFirst: true, implicit: [EDI] },
  lods: { writesFirst: true, implicit: [ESI] },
  leave: { stack: "pop", implicit: [ESP, EBP] },
  jcc: { branch: true }, loop: { implicit: [ECX], branch: true }, jecxz: { branch: true }, jmp: { branch: true },
  call: { stack: "push", implicit: [ESP], branch: true }, ret: { stack: "pop", implicit: [ESP], branch: true },
  in: CORE, out: CORE, cpuid: CORE, vmcall: CORE, movToCr3: CORE, interpret: CORE,
};
