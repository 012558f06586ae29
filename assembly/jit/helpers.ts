// The core's functions compiled blocks call (jit-abi.ts JIT_FUNCTIONS, imported by every block
// module from the core's exports): flag questions the block cannot answer from what it tracks,
// and the instructions the core performs for a block in place, delivering their exits there.
import { eip, instrStart, pending, controlTransferred, repPrefix, PEND_EXIT, IF, TF } from "../cpu/state";
import { shiftRotate, doubleShift } from "../cpu/shift";
import { mul, imul1, div, idiv } from "../cpu/muldiv";
import { budget } from "../cpu/retirement";
import { step } from "../cpu/execute";
import { stringInstruction, STR_MOVS, STR_STOS } from "../cpu/string";
import { blockContext, blockStillValid } from "./block-cache";
import { condition, getCF, getEflags, flagsWord } from "../cpu/flags";
import { vmexit } from "../cpu/vmexit";
import { EXIT_CPUID } from "../vmcs-layout";
import { cpuidInCore } from "../vm/exits-in-core";
import { portIo } from "../cpu/io";
import { loadCr3InCore } from "../cpu/system";
import { loadSegment, popSegment } from "../cpu/protected";
import { softwareInterrupt, interruptReturn } from "../cpu/interrupts";
import { sysenter, sysexit } from "../cpu/sysenter";
import { pagingEnabled } from "../memory/linear";
import { tlbLookup } from "../mmu/tlb";
import { deliverExitInBlock } from "../vm/run";
import { countingForms, countInterpretedForm, formAt } from "./interpreted-forms";
import { shadowedRegisterAccess } from "../cpu/vmcs-shadowing";
import { vmxNoOperand } from "../cpu/vmx-instructions";
import {
  IO_INFO_INPUT, IO_INFO_SIZE_SHIFT, IO_INFO_IMMEDIATE, IO_INFO_LENGTH_SHIFT, CR3_MUST_EXIT, CR3_SWITCHED,
  CR3_SWITCHED_SAME_PAGE, INTERPRETED_BLOCK_ENDS,
} from "../jit-abi";

export function jitCondition(cc: u32): u32 { return condition(cc) ? 1 : 0; }
export function jitCarry(): u32 { return getCF(); }
export function jitEflags(): u32 { return getEflags(); }

// Group 2 in a compiled block (src/jit/translate.ts group2): `kind` (ModR/M.reg) of `value`, an
// operand of `bytes`, by `count`, masked as the CPU does; a zero count changes nothing, the flags
// included. Otherwise the flags go to the core's globals as the interpreter sets them. Returns the
// new value.
export function jitShift(kind: u32, value: u32, count: u32, bytes: u32): u32 {
  const n = count & 31;
  return n == 0 ? value : shiftRotate(kind, value, n, bytes);
}

// SHLD (`left` 1) and SHRD of 32 bits in a compiled block (src/jit/translate.ts shiftDouble): `dst`
// by `count` masked as the CPU does, filled from `src`, by the interpreter's doubleShift(); a zero
// count changes nothing, the flags included. Returns the new value, flags into the core's globals.
export function jitShiftDouble(left: u32, dst: u32, src: u32, count: u32): u32 {
  const n = count & 31;
  return n == 0 ? dst : doubleShift(left != 0, dst, src, n, 4);
}

// Group 3's MUL (4), IMUL (5), DIV (6) and IDIV (7) of the accumulator by `src` in a compiled block
// (src/jit/translate.ts mulDivInCore), the instruction at EIP. Nonzero when it raised #DE, which
// ends the block; the run loop then delivers it as for an instruction just stepped.
export function jitMulDiv(kind: u32, src: u32, bytes: u32): u32 {
  instrStart = eip;
  if (kind == 4) mul(src, bytes);
  else if (kind == 5) imul1(src, bytes);
  else if (kind == 6) div(src, bytes);
  else idiv(src, bytes);
  return pending;
}

// IN or OUT in a compiled block (src/jit/translate.ts portIo), with all the interpreter's checks;
// `info` as jit-abi.ts IO_INFO_* says. An exit is delivered to the VMM right there, the block
// being `entry` with `remaining` instructions after this one. Nonzero when the block must end: an
// exit the handler did not simply resume from, or a fault, which the run loop then sees as the
// instruction just stepped. During the instruction the budget holds the block's `remaining`
// instructions again, as in jitInterpret, for an exit the core completes itself (exits-in-core.ts).
export function jitPortIo(port: u32, info: u32, remaining: u32, entry: u32): u32 {
  instrStart = eip;
  eip += info >> IO_INFO_LENGTH_SHIFT;
  budget += remaining;
  portIo((info & IO_INFO_INPUT) != 0, port, (info >> IO_INFO_SIZE_SHIFT) & 7, (info & IO_INFO_IMMEDIATE) != 0);
  budget -= remaining;
  return pending == PEND_EXIT ? deliverExitInBlock(remaining, entry, eip) : pending;
}

// CPUID or VMCALL (`length` bytes) in a compiled block: these always exit, with qualification 0,
// and the core may complete a CPUID itself (exits-in-core.ts), the block going on.
export function jitExit(reason: u32, length: u32, remaining: u32, entry: u32): u32 {
  instrStart = eip;
  eip += length;
  if (reason == EXIT_CPUID) {
    budget += remaining;
    const done = cpuidInCore();
    budget -= remaining;
    if (done) return 0;
  }
  vmexit(reason, 0);
  return deliverExitInBlock(remaining, entry, eip);
}

// A segment-register load in a compiled block (src/jit/translate.ts loadSegment), the instruction at
// EIP, `length` bytes: MOV Sreg, r/m16 of `selector`, or with `pop` POP Sreg (the selector then
// comes from the stack), by the interpreter's functions with all their checks. As the interpreter
// performs the instruction, EIP is past it meanwhile (an exit's instruction length). Answers 0 to go
// on; INTERPRETED_BLOCK_ENDS when the load completed but compiled code may not go on (the segment is
// not flat, or marking the descriptor accessed wrote into the block); else the fault or exit pending,
// which ends the block for the run loop to deliver, as jitMulDiv's #DE.
export function jitLoadSegment(sreg: u32, selector: u32, pop: u32, length: u32, entry: u32): u32 {
  const context = blockContext();
  instrStart = eip;
  eip += length;
  if (pop) popSegment(sreg); else loadSegment(sreg, selector);
  if (pending) return pending;
  return blockContext() == context && blockStillValid(entry) ? 0 : INTERPRETED_BLOCK_ENDS;
}

// INT n (`length` bytes at EIP) and IRET, the last instruction of a compiled block, by the
// interpreter's functions: the block ends there and runBlocks() goes on from wherever they went
// (a handler, the interrupted code), so a system call stays in compiled code. Answer the pending
// fault or exit, as jitMulDiv.
export function jitSoftwareInterrupt(vector: u32, length: u32): u32 {
  instrStart = eip;
  eip += length;
  softwareInterrupt(vector);
  return pending;
}
export function jitInterruptReturn(length: u32): u32 {
  instrStart = eip;
  eip += length;
  interruptReturn();
  return pending;
}
// SYSENTER (`exit` 0) and SYSEXIT (`exit` 1), `length` bytes at EIP, the last instruction of a
// compiled block, as INT n and IRET: runBlocks() goes on at the kernel's entry or the user's
// return point.
export function jitFastSystemCall(exit: u32, length: u32): u32 {
  instrStart = eip;
  eip += length;
  if (exit) sysexit(); else sysenter();
  return pending;
}

// A MOV to CR3 in a compiled block whose code is the page at linear `page`, frame `frame`
// (src/jit/translate.ts movToCr3); answers one of jit-abi.ts CR3_*.
export function jitLoadCr3(value: u32, page: u32, frame: u32): u32 {
  if (!loadCr3InCore(value)) return CR3_MUST_EXIT;
  return !pagingEnabled || tlbLookup(page, false, false) == <i64>frame ? CR3_SWITCHED_SAME_PAGE : CR3_SWITCHED;
}

// An instruction the block does not compile itself, `length` bytes at EIP, executed by the
// interpreter in place (src/jit/translate.ts interpret), as v86 calls its interpreter's handler:
// the block goes on after it unless it did something compiled code must see from the run loop.
// During the instruction the budget holds the block's `remaining` instructions again, so that
// what reads the retired count (RDTSC, the interrupt shadows) sees it exact. Answers 0 to go on;
// INTERPRETED_BLOCK_ENDS when the instruction completed but the block must end (it branched, or
// changed the mode, the address space, IF or TF, or the block's own code); else, as jitPortIo,
// when it exited or faulted.
export function jitInterpret(length: u32, remaining: u32, entry: u32): u32 {
  const next = eip + length;
  const context = blockContext();
  const controlFlags = flagsWord & (IF | TF);
  budget += remaining;
  const form = countingForms ? formAt(eip) : 0;
  step();
  if (countingForms) countInterpretedForm(form);
  const branched = controlTransferred;
  controlTransferred = false;
  // Only a form that spends budget of its own (REP, never interpreted here) could leave less.
  const overspent = budget < remaining;
  budget = overspent ? 0 : budget - remaining;
  if (pending == PEND_EXIT) return deliverExitInBlock(remaining, entry, next);
  if (pending) return pending;
  const goesOn = !overspent && !branched && eip == next && (flagsWord & (IF | TF)) == controlFlags &&
    blockContext() == context && blockStillValid(entry);
  return goesOn ? 0 : INTERPRETED_BLOCK_ENDS;
}

// REP MOVS or REP STOS (`opcode` A4, A5, AA or AB, elements of `bytes`), `length` bytes at EIP, in
// a compiled block (src/jit/translate.ts repString), by the interpreter's stringInstruction() with
// no fetch or decode: a kernel's copies (a process switch saves and restores the registers so) and
// C's memcpy and memset, which no longer end their block. Its iterations may spend the budget the
// block prepaid for the `remaining` instructions after it, as the interpreter's REP would: one
// the budget cuts short stops at the same iteration (EIP at itself, ECX what is left), however
// many instructions follow it in the block. (Stopping earlier and leaving the rest to the
// interpreter would differ once the REP has written over its own bytes: the interpreter fetches
// it again.) The block goes on only when the REP left the later instructions' budget untouched;
// otherwise it ends, and its refund of `remaining` as it leaves makes up for the subtraction
// below (which wraps when the REP spent into it). Answers as jitInterpret.
export function jitRepString(opcode: u32, bytes: u32, length: u32, remaining: u32, entry: u32): u32 {
  const next = eip + length;
  const context = blockContext();
  instrStart = eip;
  eip = next;
  repPrefix = 0xf3;
  budget += remaining;
  stringInstruction(opcode < 0xaa ? STR_MOVS : STR_STOS, bytes);
  repPrefix = 0;
  const overspent = budget < remaining;
  budget -= remaining;
  if (pending == PEND_EXIT) return deliverExitInBlock(remaining, entry, next);
  if (pending) return pending;
  return !overspent && eip == next && blockContext() == context && blockStillValid(entry) ? 0 : INTERPRETED_BLOCK_ENDS;
}

// VMREAD (`write` 0) or VMWRITE between registers in a compiled block (src/jit/translate.ts
// vmAccess), `length` bytes at EIP, `operands` its ModR/M's reg << 3 | rm: an access to a shadowed
// field completes here, with no fetch or decode; anything else (an exit, a fault) is the
// interpreter's, as in jitInterpret.
export function jitVmAccess(write: u32, operands: u32, length: u32, remaining: u32, entry: u32): u32 {
  if (!shadowedRegisterAccess(write != 0, operands >> 3, operands & 7)) return jitInterpret(length, remaining, entry);
  eip += length;
  return 0;
}

// VMLAUNCH, VMRESUME or VMXOFF (`rm`, 2-4, of 0F 01's ModR/M) in a compiled block, `length` bytes:
// the exit, delivered in place as jitExit's (the core may switch to L2 itself, level-switch.ts),
// or the #UD of its checks, which ends the block for the run loop to deliver, as jitMulDiv's #DE.
export function jitVmxNoOperand(rm: u32, length: u32, remaining: u32, entry: u32): u32 {
  instrStart = eip;
  eip += length;
  vmxNoOperand(rm);
  return pending == PEND_EXIT ? deliverExitInBlock(remaining, entry, eip) : pending;
}
