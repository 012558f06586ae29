// Architectural state of the guest CPU and the per-instruction decode state.
// General registers and segment registers live in the VMCS guest-state area (fixed addresses in
// linear memory), so a VM exit needs no copying; EIP, EFLAGS and a few values derived from the
// segment registers are WASM globals for speed and are written back to the VMCS on exit.
import {
  VMCS_BASE, G_REGS, G_SEG, SEG_STRIDE, SEG_SEL, SEG_BASE, SEG_LIMIT, SEG_AR,
  G_CR0, G_CR4, G_CR2, G_CR3,
} from "../vmcs-layout";

export const REGS: u32 = VMCS_BASE + G_REGS;
export const EAX: u32 = 0;
export const ECX: u32 = 1;
export const EDX: u32 = 2;
export const EBX: u32 = 3;
export const ESP: u32 = 4;
export const EBP: u32 = 5;
export const ESI: u32 = 6;
export const EDI: u32 = 7;

// EFLAGS bits
export const CF: u32 = 0x1;
export const PF: u32 = 0x4;
export const AF: u32 = 0x10;
export const ZF: u32 = 0x40;
export const SF: u32 = 0x80;
export const TF: u32 = 0x100;
export const IF: u32 = 0x200;
export const DF: u32 = 0x400;
export const OF: u32 = 0x800;
export const IOPL: u32 = 0x3000;
export const NT: u32 = 0x4000;
export const RF: u32 = 0x10000;
export const VM: u32 = 0x20000;
export const AC: u32 = 0x40000;
export const ID: u32 = 0x200000;
export const ARITH_FLAGS: u32 = CF | PF | AF | ZF | SF | OF;

// CR0 / CR4 bits
export const CR0_PE: u32 = 1;
export const CR0_MP: u32 = 2;
export const CR0_EM: u32 = 4;
export const CR0_TS: u32 = 8;
export const CR0_ET: u32 = 0x10;
export const CR0_NE: u32 = 0x20;
export const CR0_WP: u32 = 0x10000;
export const CR0_AM: u32 = 0x40000;
export const CR0_PG: u32 = 0x80000000;
export const CR4_PSE: u32 = 0x10;
export const CR4_PGE: u32 = 0x80;
export const CR4_OSFXSR: u32 = 0x200;
export const CR4_VMXE: u32 = 0x2000;

// Exception vectors
export const EXC_DE: i32 = 0;
export const EXC_DB: i32 = 1;
export const EXC_BP: i32 = 3;
export const EXC_OF: i32 = 4;
export const EXC_BR: i32 = 5;
export const EXC_UD: i32 = 6;
export const EXC_NM: i32 = 7;
export const EXC_DF: i32 = 8;
export const EXC_TS: i32 = 10;
export const EXC_NP: i32 = 11;
export const EXC_SS: i32 = 12;
export const EXC_GP: i32 = 13;
export const EXC_PF: i32 = 14;

// ---- Registers -------------------------------------------------------------------------------
@inline export function r32(r: u32): u32 { return load<u32>(REGS + (r << 2)); }
@inline export function w32(r: u32, v: u32): void { store<u32>(REGS + (r << 2), v); }
@inline export function r16(r: u32): u32 { return load<u16>(REGS + (r << 2)); }
@inline export function w16(r: u32, v: u32): void { store<u16>(REGS + (r << 2), <u16>v); }
// 8-bit registers: AL CL DL BL are byte 0 of EAX..EBX, AH CH DH BH byte 1 (little-endian).
@inline export function r8(r: u32): u32 { return load<u8>(REGS + ((r & 3) << 2) + (r >> 2)); }
@inline export function w8(r: u32, v: u32): void { store<u8>(REGS + ((r & 3) << 2) + (r >> 2), <u8>v); }

// ---- Segment registers (hidden parts in the VMCS) --------------------------------------------
@inline export function segField(s: u32, field: u32): u32 { return VMCS_BASE + G_SEG + s * SEG_STRIDE + field; }
@inline export function segSel(s: u32): u32 { return load<u32>(segField(s, SEG_SEL)); }
@inline export function segBase(s: u32): u32 { return load<u32>(segField(s, SEG_BASE)); }
@inline export function segLimit(s: u32): u32 { return load<u32>(segField(s, SEG_LIMIT)); }
@inline export function segAr(s: u32): u32 { return load<u32>(segField(s, SEG_AR)); }

// ---- Control registers -----------------------------------------------------------------------
@inline export function cr0(): u32 { return load<u32>(VMCS_BASE + G_CR0); }
@inline export function cr2(): u32 { return load<u32>(VMCS_BASE + G_CR2); }
// The linear address of the last #PF the MMU raised. CR2 gets it only when the fault is delivered
// through the IDT: a #PF that exits to the VMM (the exception bitmap) leaves CR2 alone and reports
// the address as its qualification (SDM 27.1; APM 15.12: EXITINFO2).
export let pageFaultAddress: u32 = 0;
export function notePageFault(linear: u32): void { pageFaultAddress = linear; }
@inline export function cr3(): u32 { return load<u32>(VMCS_BASE + G_CR3); }
@inline export function cr4(): u32 { return load<u32>(VMCS_BASE + G_CR4); }

// ---- Execution state kept in globals ---------------------------------------------------------
export let eip: u32 = 0;
export let instrStart: u32 = 0; // EIP of the instruction being executed (faults restart here)
export let cpl: u32 = 0;
// The guest has run at CPL 3 since the core was made (the fuzzer compares its kernel-only cases under
// bt with vt: src/fuzz/check-case.ts).
export let userLevelSeen: bool = false;
export let retired: u64 = 0; // guest instructions retired since init
export let csDefault32: bool = true; // CS.D
export let ssBig: bool = true; // SS.B: 32-bit stack pointer
// Bit s set when segment register s is flat (base 0, limit 4 GiB) and readable and writable data,
// so that an access through it needs no limit or type check.
export let flatMask: u32 = 0;
// The VMM's emulator is running this instruction (emulate()): the IF-mode trap and the write trap
// let it through.
export let emulating: bool = false;

// Moves whenever something compiled code depends on may have changed (segments, paging, the
// VMM's controls); the compiling tier (assembly/jit/) recomputes whether it may run when it sees
// a new value, so the layers below never call up into it.
export let modeGeneration: u32 = 0;
@inline export function noteModeChange(): void { modeGeneration++; }

// Set by an instruction that transferred control (a branch, taken or not, a CALL or a RET): the
// next instruction may start a block, and the run loop is the one place that enters compiled code.
export let controlTransferred: bool = false;
@inline export function noteControlTransfer(): void { controlTransferred = true; }

// Decode state of the current instruction
export let o32: bool = true; // operand size is 32 bits
export let a32: bool = true; // address size is 32 bits
export let segOverride: i32 = -1;
export let repPrefix: u32 = 0; // 0, 0xF2 (REPNE) or 0xF3 (REP/REPE)
export let lockPrefix: bool = false;

// Something stops the normal flow: an exception to deliver or a VM exit.
export const PEND_EXCEPTION: u32 = 1;
export const PEND_EXIT: u32 = 2; // exit before the instruction: it restarts after the VMM
export const PEND_YIELD: u32 = 4; // exit after the instruction completed
export const PEND_DELIVERED: u32 = 8; // an exit the host handled already (assembly/vm/run.ts deliverExitInBlock),
export const PEND_RESUME: u32 = 16; // and resumed: VM entry follows
export let pending: u32 = 0;
export let excVector: i32 = -1;
export let excErrorCode: i32 = -1; // -1: the exception pushes no error code


// Raise an exception: the instruction stops, its state changes so far are abandoned by the
// handlers (they check `pending` after every access that can fault), and the run loop delivers it.
export function raise(vector: i32, errorCode: i32 = -1): void {
  if (pending & PEND_EXCEPTION) return; // the first fault of an instruction wins
  excVector = vector;
  excErrorCode = errorCode;
  pending |= PEND_EXCEPTION;
}
export function clearException(): void {
  excVector = -1;
  excErrorCode = -1;
  pending &= ~PEND_EXCEPTION;
}
@inline export function faulted(): bool { return pending != 0; }
