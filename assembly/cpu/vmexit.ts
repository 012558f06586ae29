// Leaving non-root mode: an instruction that the VMCS controls say must exit records the exit
// reason and qualification in the VMCS and stops. The instruction has not executed; the guest EIP
// saved on exit is its first byte, and the VMM emulates it and advances EIP by its length.
import { VMCS_BASE, X_REASON, X_QUALIFICATION, X_INSTRUCTION_LENGTH, X_GUEST_LINEAR, X_INSTRUCTION_INFO,
  X_INTR_INFO, X_INTR_ERROR, C_PRIMARY, C_EXCEPTION_BITMAP, EXIT_PREEMPTION_TIMER } from "../vmcs-layout";
import { eip, instrStart, pending, PEND_EXIT, PEND_YIELD } from "./state";

@inline export function controls(): u32 { return load<u32>(VMCS_BASE + C_PRIMARY); }
@inline export function exceptionBitmap(): u32 { return load<u32>(VMCS_BASE + C_EXCEPTION_BITMAP); }

export function vmexit(reason: u32, qualification: u32): void {
  store<u32>(VMCS_BASE + X_REASON, reason);
  store<u32>(VMCS_BASE + X_QUALIFICATION, qualification);
  store<u32>(VMCS_BASE + X_INSTRUCTION_LENGTH, eip - instrStart);
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
  pending |= PEND_YIELD;
}
