// The compiling tier's IR: one record per guest instruction of a block. decode.ts makes it from the
// block's bytes, access-checks.ts plans the block's memory checks from it, and translate.ts walks
// it to write WASM. Operands are in Intel order, the written one first.
import type { Address } from "../x86/encoding.js";

export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

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
  | "repString" // REP MOVS or REP STOS: the opcode and the element's bytes (Immediates); by the core
  | "cld" | "std" // DF, in the core's flagsWord, where string forms read it
  | "leave"
  | "pusha" | "popa" // all eight registers (POPA skips ESP's slot)
  | "pushSeg" // sreg (an Immediate): its selector, zero-extended
  | "movSeg" | "popSeg" // sreg (an Immediate), and for movSeg the selector (r/m16): DS, ES, FS, GS, by the core
  | "bt" | "bts" | "btr" | "btc" // dst, bit offset (a register, which may address memory past dst, or an Immediate)
  | "shld" | "shrd" // dst, src register, count (an Immediate, or CL)
  | "jcc" | "loop" | "jecxz" | "jmp" | "call" // target: an Immediate, or a register or memory (indirect)
  | "ret"
  | "int" | "iret" // int: vector (an Immediate); by the core, and the block ends
  | "sysenter" | "sysexit" // by the core, and the block ends
  | "in" | "out" // in: EAX or AL, port (Immediate or DX); out: port, EAX or AL
  | "cpuid" | "vmcall" | "movToCr3"
  | "vmxNoOperand" // VMLAUNCH, VMRESUME or VMXOFF: the ModR/M's rm (an Immediate, 2-4); by the core
  | "vmread" | "vmwrite" // the register written, the register read (VMREAD: r/m, encoding; VMWRITE: encoding, r/m); by the core
  | "interpret"; // a form not compiled: the core's interpreter executes it inside the block

export interface Instruction {
  ip: number; // linear address
  length: number;
  op: Operation;
  operands: Operand[];
  cc?: number; // jcc, setcc, cmovcc: the condition, the low nibble of the Jcc opcode
  // A block's last instruction may run into the next page (paging off, decode.ts): its bytes there,
  // at guest-physical `at`, which write tracking does not cover; compiled code compares them first.
  tail?: { at: number; bytes: number[] };
}

/**
 * What an operation does besides reading its operands, as the checks' planning must know it:
 * whether it writes its first operand, uses the stack, writes other registers, calls into the core
 * (then nothing else matters: the core may change any register and the TLB), or ends the block.
 */
interface Effects {
  writesFirst?: true;
  addressOnly?: true; // its memory operand is not accessed (LEA)
  offsetAddressed?: true; // a register second operand displaces its memory operand (BT*): checked alone
  stack?: "push" | "pop";
  stackBytes?: number; // what the stack access spans, when not 4 bytes
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
  lods: { writesFirst: true, implicit: [ESI] }, cld: READS, std: READS,
  leave: { stack: "pop", implicit: [ESP, EBP] },
  pusha: { stack: "push", stackBytes: 32, implicit: [ESP] }, popa: { stack: "pop", stackBytes: 32, implicit: [EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI] },
  pushSeg: { stack: "push", implicit: [ESP] }, movSeg: CORE, popSeg: CORE,
  bt: { offsetAddressed: true }, bts: { writesFirst: true, offsetAddressed: true }, btr: { writesFirst: true, offsetAddressed: true },
  btc: { writesFirst: true, offsetAddressed: true }, shld: WRITES, shrd: WRITES,
  jcc: { branch: true }, loop: { implicit: [ECX], branch: true }, jecxz: { branch: true }, jmp: { branch: true },
  call: { stack: "push", implicit: [ESP], branch: true }, ret: { stack: "pop", implicit: [ESP], branch: true },
  int: { core: true, branch: true }, iret: { core: true, branch: true },
  sysenter: { core: true, branch: true }, sysexit: { core: true, branch: true },
  in: CORE, out: CORE, cpuid: CORE, vmcall: CORE, vmxNoOperand: CORE, movToCr3: CORE, vmread: CORE, vmwrite: CORE, repString: CORE,
  interpret: CORE,
};
