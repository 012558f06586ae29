// Leaving non-root mode: an instruction that the VMCS controls say must exit records the exit
// reason and qualification in the VMCS and stops. The instruction has not executed; the guest EIP
// saved on exit is its first byte, and the VMM emulates it and advances EIP by its length.
import { VMCS_BASE, X_REASON, X_QUALIFICATION, X_INSTRUCTION_LENGTH, X_GUEST_LINEAR, X_INSTRUCTION_INFO,
  X_INTR_INFO, X_INTR_ERROR, C_PRIMARY, C_EXCEPTION_BITMAP, EXIT_PREEMPTION_TIMER, X_VECTORING_INFO, X_VECTORING_ERROR } from "../vmcs-layout";
import { eip, instrStart, pending, PEND_EXIT, PEND_YIELD } from "./state";

@inline export function controls(): u32 { return load<u32>(VMCS_BASE + C_PRIMARY); }
@inline export function exceptionBitmap(): u32 { return load<u32>(VMCS_BASE + C_EXCEPTION_BITMAP); }

// An event in the interruption-information format (vector, type, error code pushed, valid), and the
// error code it pushes (0 if none): `kind` is its type (interrupts.ts EVENT_*), `errorCode` < 0 none.
export function eventInfo(vector: u32, kind: u32, pushError: bool): u32 {
  return vector | (kind << 8) | (pushError ? 1 << 11 : 0) | (1 << 31);
}
export function eventError(errorCode: i32, pushError: bool): u32 {
  return pushError && errorCode >= 0 ? <u32>errorCode : 0;
}
const TYPE_SOFTWARE_INTERRUPT: u32 = 4;

// The event being delivered through the IDT (interrupts.ts dispatch): its vector, type and error
// code and, for a software event (INT n, INT3, INTO, INT1: types 4-6), its instruction's length.
// An exit meanwhile happens during its delivery: the exit records it (SDM 27.2.4's IDT-vectoring
// information, APM 15.7.2's EXITINTINFO) and, for a software event, has its instruction's length
// (27.2.5), whatever instruction EIP is at. Only plain values are kept per delivery: the
// information is made only at such an exit.
let delivering: bool = false;
let deliveringVector: u32 = 0;
let deliveringKind: u32 = 0;
let deliveringError: i32 = -1;
let deliveringPushes: bool = false;
let deliveringLength: u32 = 0;
@inline export function startDelivery(vector: u32, kind: u32, errorCode: i32, pushError: bool, length: u32): void {
  delivering = true;
  deliveringVector = vector;
  deliveringKind = kind;
  deliveringError = errorCode;
  deliveringPushes = pushError;
  deliveringLength = length;
}
@inline export function endDelivery(): void { delivering = false; }

export function vmexit(reason: u32, qualification: u32): void {
  store<u32>(VMCS_BASE + X_REASON, reason);
  store<u32>(VMCS_BASE + X_QUALIFICATION, qualification);
  let length = eip - instrStart, vectoring: u32 = 0, vectoringError: u32 = 0;
  if (delivering) {
    vectoring = eventInfo(deliveringVector, deliveringKind, deliveringPushes);
    vectoringError = eventError(deliveringError, deliveringPushes);
    if (deliveringKind >= TYPE_SOFTWARE_INTERRUPT) length = deliveringLength;
  }
  store<u32>(VMCS_BASE + X_INSTRUCTION_LENGTH, length);
  store<u32>(VMCS_BASE + X_VECTORING_INFO, vectoring);
  store<u32>(VMCS_BASE + X_VECTORING_ERROR, vectoringError);
  pending |= PEND_EXIT;
}

// Extra exit information for instructions that have it (INS/OUTS, exception exits).
export function setExitLinear(linear: u32, instructionInfo: u32): void {
  store<u32>(VMCS_BASE + X_GUEST_LINEAR, linear);
  store<u32>(VMCS_BASE + X_INSTRUCTION_INFO, instructionInfo);
}
export function setExitInterruptInfo(info: u32, errorCode: u32): void {
  store<u32>(VMCS_BASE + X_INTR_INFO, info);
  store<u32>(VMCS_BASE + X_INTR_ERROR, errorCode);
}

// End the VM entry after the current instruction completes (HLT without HLT exiting): the VMM
// sees a preemption-timer exit with EIP after the instruction.
export function yieldToVmm(): void {
  store<u32>(VMCS_BASE + X_REASON, EXIT_PREEMPTION_TIMER);
  store<u32>(VMCS_BASE + X_QUALIFICATION, 0);
  store<u32>(VMCS_BASE + X_INSTRUCTION_LENGTH, 0);
  store<u32>(VMCS_BASE + X_VECTORING_INFO, 0);
  store<u32>(VMCS_BASE + X_VECTORING_ERROR, 0);
  pending |= PEND_YIELD;
}
