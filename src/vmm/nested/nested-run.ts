// Running L2: VM entry from L1's VMLAUNCH/VMRESUME once its checks have passed, and every L2 exit
// after it. While L2 runs, a pre-dispatch stage (exit-dispatcher.ts) sees each of its exits first
// and sorts it (l2-exits.ts, KVM's nested_vmx_reflect_vmexit): an exit L1 asked for is reflected,
// written into L1's VMCS with L2's state, and L1 resumes at its HOST_RIP with its host state
// (nested_vmx_vmexit); any other exit is L0's, handled by its usual handler on L2's state, and L2
// resumes. External interrupts: when L1 set "external-interrupt exiting", L0's interrupts (its
// devices', its timer's) are L1's, held from L2 (InterruptInjector.heldForOuterLevel), and each
// becomes an exit (reason 1) to L1 after the exit during which it arrived; otherwise they are
// injected into L2 when L2 can take them, as a CPU would deliver them through L2's IDT.
// Entry failures (SDM 27.8): a guest state that fails its checks is exit 33, an MSR-load entry
// that fails is exit 34; either way L1 resumes at HOST_RIP with the exit reason's bit 31 set.

import {
  C_CR0_SHADOW, C_CR4_SHADOW, CTL_INTERRUPT_WINDOW, E_INSTRUCTION_LENGTH, E_INTR_ERROR, E_INTR_INFO, EXIT_EXCEPTION, EXIT_EXTERNAL_INTERRUPT, EXIT_IO, EXIT_VMCLEAR, EXIT_VMXON, G_CR0, G_CR4,
  IOQ_STRING, X_GUEST_LINEAR, X_INSTRUCTION_INFO, X_INSTRUCTION_LENGTH, X_INTR_ERROR, X_INTR_INFO, X_QUALIFICATION,
} from "../../../assembly/vmcs-layout.js";
import type { Vmcs } from "../../core/vmcs.js";
import { callHandler, type LevelStage } from "../exit-dispatcher.js";
import type { ExitContext } from "../exits/exit-context.js";
import { eventPending } from "../inject.js";
import { l1WantsExit } from "./l2-exits.js";
import { l0InterceptsException, loadHostState, loadL2State, mergeControls, restoreL1Controls, saveL1Controls, saveL2State } from "./level-switch.js";
import { loadEntryMsrs, loadExitMsrs, storeExitMsrs } from "./msr-areas.js";
import { INTERRUPTION_VALID, guestStateFailure } from "./vmentry-checks.js";
import { LAUNCHED, REGION_ABORT, REGION_LAUNCH_STATE, VMCS_FIELD as F } from "./vmcs12-fields.js";
import { type Vmcs12, vmcs12At, writeRegionWord } from "./vmcs12.js";
import { followVmcsShadowing } from "./vmcs-shadowing.js";

export const EXIT_INVALID_GUEST_STATE = 33;
export const EXIT_MSR_LOADING = 34;
const ENTRY_FAILURE = 0x80000000;
const PIN_EXTERNAL_INTERRUPT_EXITING = 1 << 0;
/** VMX-abort indicators (SDM 28.7). */
const ABORT_SAVING_MSRS = 1;
const ABORT_LOADING_MSRS = 4;

/** What the exit L1 is told about, beyond its reason. */
interface ExitInformation {
  qualification: number;
  instructionLength: number;
  instructionInfo: number;
  guestLinear: number;
  interruptionInfo: number;
  interruptionError: number;
}

const NO_INFORMATION: ExitInformation = { qualification: 0, instructionLength: 0, instructionInfo: 0, guestLinear: 0, interruptionInfo: 0, interruptionError: 0 };

/** VMLAUNCH (launch) or VMRESUME whose control and host-state checks passed: L2 runs, or the entry fails into L1. */
export function enterL2(vm: ExitContext, launch: boolean): void {
  const v = vmcs12At(vm.ram, vm.vmx.currentVmcs);
  const failure = guestStateFailure(v, vm.ram);
  if (failure !== undefined) return entryFailure(vm, v, EXIT_INVALID_GUEST_STATE, failure.qualification);
  const l1Controls = saveL1Controls(vm.vmcs);
  loadL2State(vm.vmcs, v);
  const failedMsr = loadEntryMsrs(vm, v);
  if (failedMsr !== 0) {
    restoreL1Controls(vm.vmcs, l1Controls);
    return entryFailure(vm, v, EXIT_MSR_LOADING, failedMsr);
  }
  if (launch) writeRegionWord(vm.ram, v.pointer, REGION_LAUNCH_STATE, LAUNCHED);
  mergeControls(vm.vmcs, v, l1Controls);
  vm.vmx.l2 = { vmcs: v.pointer, l1Controls };
  followVmcsShadowing(vm.vmcs, vm.vmx);
  followL2(vm);
}

/** Puts the L2 stage and the interrupt hold in place for the L2 just entered. */
function followL2(vm: ExitContext): void {
  const v = vmcs12At(vm.ram, vm.vmx.l2!.vmcs);
  vm.interrupts.heldForOuterLevel = (v.read(F.PIN_CONTROLS) & PIN_EXTERNAL_INTERRUPT_EXITING) !== 0;
  vm.interrupts.windowExitingKept = (v.read(F.PRIMARY_CONTROLS) & CTL_INTERRUPT_WINDOW) !== 0;
  vm.setLevelStage(l2Stage);
  vm.interrupts.deliver();
}

/** SDM 27.8: the entry is an exit with bit 31 of the reason set; no guest state is saved. */
function entryFailure(vm: ExitContext, v: Vmcs12, reason: number, qualification: number): void {
  writeExitInformation(v, (reason | ENTRY_FAILURE) >>> 0, { ...NO_INFORMATION, qualification });
  loadHostState(vm.vmcs, v);
  ownedBitsFollowHostState(vm.vmcs);
  if (!loadExitMsrs(vm, v)) vmxAbort(vm, v, ABORT_LOADING_MSRS);
}

/** The stage in place while L2 runs: reflect what L1 asked for, let L0 handle the rest. */
const l2Stage: LevelStage = {
  reflects: (vm, reason) => l1WantsExit(vm.vmcs, vm.ram, vmcs12At(vm.ram, vm.vmx.l2!.vmcs), reason),
  handle: handleL2Exit,
};

function handleL2Exit(vm: ExitContext, reason: number, reflected: boolean): void {
  const v = vmcs12At(vm.ram, vm.vmx.l2!.vmcs);
  if (reflected) return reflectExit(vm, v, reason, exitInformation(vm.vmcs, reason));
  l0HandlesL2Exit(vm, reason, vm.vmx.l2!.l1Controls);
  if (heldInterruptDue(vm)) {
    vm.reflectHeldInterrupt(EXIT_EXTERNAL_INTERRUPT);
    reflectExit(vm, v, EXIT_EXTERNAL_INTERRUPT, NO_INFORMATION);
  }
}

/**
 * An exit of L2's that L1 did not ask for, under either nesting (VMX or SVM): L0's handler deals
 * with it on L2's state, but an exception that exited only for L1's sake (the union of the
 * exception bitmaps, L1's #PF mask and match) goes back to L2, as the core would have delivered it.
 */
export function l0HandlesL2Exit(vm: ExitContext, reason: number, l1Controls: readonly number[]): void {
  if (reason === EXIT_EXCEPTION && !l0InterceptsException(l1Controls, vm.vmcs.get(X_INTR_INFO) & 0xff)) reinjectException(vm.vmcs);
  else callHandler(vm, reason);
}

/**
 * After an exit of L2's that L0 handled: whether an interrupt held for L1 arrived meanwhile and is
 * L1's exit now (not if L0 just queued an event for L2, or the run ended).
 */
export function heldInterruptDue(vm: ExitContext): boolean {
  return !vm.stopped && vm.interrupts.heldForOuterLevel && vm.interrupts.pending > 0 && !eventPending(vm.vmcs);
}

/** The exception exit's event delivered to L2 at the next entry, as the core would have delivered it. */
function reinjectException(vmcs: Vmcs): void {
  vmcs.set(E_INTR_INFO, vmcs.get(X_INTR_INFO));
  vmcs.set(E_INTR_ERROR, vmcs.get(X_INTR_ERROR));
  vmcs.set(E_INSTRUCTION_LENGTH, vmcs.get(X_INSTRUCTION_LENGTH));
}

/** The core's exit information as L1 sees it: instruction information only where the SDM defines it. */
function exitInformation(vmcs: Vmcs, reason: number): ExitInformation {
  const qualification = vmcs.get(X_QUALIFICATION);
  const stringIo = reason === EXIT_IO && (qualification & IOQ_STRING) !== 0;
  const vmxInstruction = reason >= EXIT_VMCLEAR && reason <= EXIT_VMXON;
  const interruptionInfo = vmcs.get(X_INTR_INFO);
  return {
    qualification,
    instructionLength: vmcs.get(X_INSTRUCTION_LENGTH),
    instructionInfo: stringIo || vmxInstruction ? vmcs.get(X_INSTRUCTION_INFO) : 0,
    guestLinear: stringIo ? vmcs.get(X_GUEST_LINEAR) : 0,
    interruptionInfo: reason === EXIT_EXCEPTION ? interruptionInfo : 0,
    interruptionError: reason === EXIT_EXCEPTION ? vmcs.get(X_INTR_ERROR) : 0,
  };
}

function writeExitInformation(v: Vmcs12, reason: number, exit: ExitInformation): void {
  v.write(F.EXIT_REASON, reason);
  v.write(F.EXIT_QUALIFICATION, exit.qualification);
  v.write(F.EXIT_INSTRUCTION_LENGTH, exit.instructionLength);
  v.write(F.EXIT_INSTRUCTION_INFO, exit.instructionInfo);
  v.write(F.GUEST_LINEAR_ADDRESS, exit.guestLinear);
  v.write(F.EXIT_INTERRUPTION_INFO, exit.interruptionInfo);
  v.write(F.EXIT_INTERRUPTION_ERROR_CODE, exit.interruptionError);
  // The core reports no exit during event delivery, so none is ever being vectored.
  v.write(F.IDT_VECTORING_INFO, 0);
  v.write(F.IDT_VECTORING_ERROR_CODE, 0);
}

/** An exit of L2's that L1 asked for (SDM 28): into vmcs12, L2's state saved, L1's host state loaded. */
function reflectExit(vm: ExitContext, v: Vmcs12, reason: number, exit: ExitInformation): void {
  const run = vm.vmx.l2!;
  writeExitInformation(v, reason, exit);
  saveL2State(vm.vmcs, v);
  v.write(F.ENTRY_INTERRUPTION_INFO, v.read(F.ENTRY_INTERRUPTION_INFO) & ~INTERRUPTION_VALID);
  const stored = storeExitMsrs(vm, v);
  vm.vmx.l2 = undefined;
  followVmcsShadowing(vm.vmcs, vm.vmx);
  vm.setLevelStage(undefined);
  vm.interrupts.heldForOuterLevel = false;
  vm.interrupts.windowExitingKept = false;
  restoreL1Controls(vm.vmcs, run.l1Controls);
  loadHostState(vm.vmcs, v);
  ownedBitsFollowHostState(vm.vmcs);
  if (!stored) return vmxAbort(vm, v, ABORT_SAVING_MSRS);
  if (!loadExitMsrs(vm, v)) return vmxAbort(vm, v, ABORT_LOADING_MSRS);
  vm.interrupts.deliver();
}

/** L0 keeps the read shadow of the CR bits it owns equal to L1's registers: they come from the host state now. */
export function ownedBitsFollowHostState(vmcs: Vmcs): void {
  vmcs.set(C_CR0_SHADOW, vmcs.get(G_CR0));
  vmcs.set(C_CR4_SHADOW, vmcs.get(G_CR4));
}

/** SDM 28.7: the abort indicator in the VMCS region, then shutdown, which ends the run. */
function vmxAbort(vm: ExitContext, v: Vmcs12, indicator: number): void {
  writeRegionWord(vm.ram, v.pointer, REGION_ABORT, indicator);
  vm.stop({ kind: "triple-fault" });
}

