// Leaving non-root mode: an instruction that the VMCS controls say must exit records the exit
// reason and qualification in the VMCS and stops. The instruction has not executed; the guest EIP
// saved on exit is its first byte, and the VMM emulates it and advances EIP by its length.
import { VMCS_BASE, X_REASON, X_QUALIFICATION, X_INSTRUCTION_LENGTH, X_GUEST_LINEAR, X_INSTRUCTION_INFO,
  X_INTR_INFO, X_INTR_ERROR, C_PRIMARY, C_EXCEPTION_BITMAP, EXIT_PREEMPTION_TIMER, X_VECTORING_INFO, X_VECTORING_ERROR } from "../vmcs-layout";
import { eip, instrStart, pending, PEND_EXIT, PEND_YIELD } from "./state";

@inline export function controls(): u32 { return load<u32>(VMCS_BASE + C_PRIMARY); }
@inline export function exceptionBitmap(): u32 { return load<u32>(VMCS_BASE + C_EXCEPTION_BITMAP); }

// The event being delivered through the IDT (interrupts.ts dispatch) in the interruption-information
// format, its error code and, for a software event (INT n, INT3, INTO, INT1: types 4-6), the length
// of its instruction; 0 outside delivery. An exit meanwhile happens during its delivery: the exit
// records it (SDM 27.2.4's IDT-vectoring information, APM 15.7.2's EXITINTINFO) and, for a
// software event, has its instruction's length (27.2.5), whatever instruction EIP is at.
let vectoringInfo: u32 = 0;
let vectoringError: u32 = 0;
let vectoringLength: u32 = 0;
export function setVectoring(info: u32, errorCode: u32, length: u32): void {
  vectoringInfo = info;
  vectoringError = errorCode;
  vectoringLength = length;
}
const TYPE_SOFTWARE_INTERRUPT: u32 = 4;

export function vmexit(reason: u32, qualification: u32): void {
  store<u32>(VMCS_BASE + X_REASON, reason);
  store<u32>(VMCS_BASE + X_QUALIFICATION, qualification);
  const software = vectoringInfo != 0 && ((vectoringInfo >>> 8) & 7) >= TYPE_SOFTWARE_INTERRUPT;
  store<u32>(VMCS_BASE + X_INSTRUCTION_LENGTH, software ? vectoringLength : eip - instrStart);
  store<u32>(VMCS_BASE + X_VECTORING_INFO, vectoringInfo);
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
