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
  C_EXCEPTION_BITMAP, CTL_INTERRUPT_WINDOW, E_INSTRUCTION_LENGTH, E_INTR_ERROR, E_INTR_INFO, EXIT_EXCEPTION, EXIT_EXTERNAL_INTERRUPT, G_CR2, X_INSTRUCTION_LENGTH,
  X_INTR_ERROR, X_INTR_INFO, X_QUALIFICATION,
} from "../../../assembly/vmcs-layout.js";
import type { Vmcs } from "../../core/vmcs.js";
import { callHandler, type LevelStage } from "../exit-dispatcher.js";
import type { ExitContext } from "../exits/exit-context.js";
import { eventPending, VECTOR_PF } from "../inject.js";
import type { OuterLevel } from "../interrupt-injector.js";
import { type LevelWords, savedL0Control } from "./core-level-switch.js";
import { l1WantsExit } from "./l2-exits.js";
import { loadEntryMsrs, loadExitMsrs, storeExitMsrs } from "./msr-areas.js";
import { GUEST_STATE_BAD_LINK, GUEST_STATE_VALID } from "../../../assembly/level-switch-layout.js";
import { LAUNCHED, REGION_ABORT, REGION_LAUNCH_STATE, VMCS_FIELD as F } from "./vmcs12-fields.js";
import { type Vmcs12, vmcs12At, writeRegionWord } from "./vmcs12.js";
import { followVmcsShadowing } from "./vmcs-shadowing.js";

export const EXIT_INVALID_GUEST_STATE = 33;
export const EXIT_MSR_LOADING = 34;
const ENTRY_FAILURE = 0x80000000;
/** Exit 33's qualification when the VMCS link pointer failed its check (SDM 27.8). */
const QUALIFICATION_LINK_POINTER = 4;
const PIN_EXTERNAL_INTERRUPT_EXITING = 1 << 0;
/** VMX-abort indicators (SDM 28.7). */
const ABORT_SAVING_MSRS = 1;
const ABORT_LOADING_MSRS = 4;

/** VMLAUNCH (launch) or VMRESUME whose control and host-state checks passed: L2 runs, or the entry fails into L1. */
export function enterL2(vm: ExitContext, launch: boolean): void {
  const v = vmcs12At(vm.ram, vm.vmx.currentVmcs);
  const guestState = vm.core.guestStateCheck(v.pointer);
  if (guestState !== GUEST_STATE_VALID) return entryFailure(vm, v, EXIT_INVALID_GUEST_STATE, guestState === GUEST_STATE_BAD_LINK ? QUALIFICATION_LINK_POINTER : 0);
  vm.core.saveL1Controls();
  vm.core.loadL2State(v.pointer);
  const failedMsr = loadEntryMsrs(vm, v);
  if (failedMsr !== 0) {
    vm.core.restoreL1Controls();
    return entryFailure(vm, v, EXIT_MSR_LOADING, failedMsr);
  }
  if (launch) writeRegionWord(vm.ram, v.pointer, REGION_LAUNCH_STATE, LAUNCHED);
  vm.core.mergeControls(v.pointer, 1);
  vm.vmx.l2 = v.pointer;
  followVmcsShadowing(vm.vmcs, vm.vmx);
  vm.interrupts.deliver();
}

/** L1's asks about L0's interrupts, from its VMCS, while L2 runs (the injector's OuterLevel). */
export function l1InterruptControls(vm: ExitContext): OuterLevel {
  const l1Asks = (read: (v: Vmcs12) => boolean) => () => vm.vmx.l2 !== undefined && read(vmcs12At(vm.ram, vm.vmx.l2));
  return {
    holdsInterrupts: l1Asks((v) => (v.read(F.PIN_CONTROLS) & PIN_EXTERNAL_INTERRUPT_EXITING) !== 0),
    keepsWindowExiting: l1Asks((v) => (v.read(F.PRIMARY_CONTROLS) & CTL_INTERRUPT_WINDOW) !== 0),
  };
}

/** SDM 27.8: the entry is an exit with bit 31 of the reason set; no guest state is saved. */
function entryFailure(vm: ExitContext, v: Vmcs12, reason: number, qualification: number): void {
  vm.core.writeExitInformation(v.pointer, (reason | ENTRY_FAILURE) >>> 0, 0, qualification);
  vm.core.loadHostState(v.pointer);
  if (!loadExitMsrs(vm, v)) vmxAbort(vm, v, ABORT_LOADING_MSRS);
}

/** The stage in place while L2 runs: reflect what L1 asked for, let L0 handle the rest. */
export const l2Stage: LevelStage = {
  runs: (vm) => vm.vmx.l2 !== undefined,
  reflects: (vm, reason) => l1WantsExit(vm.vmcs, vm.ram, vmcs12At(vm.ram, vm.vmx.l2!), reason),
  handle: handleL2Exit,
};

function handleL2Exit(vm: ExitContext, reason: number, reflected: boolean): void {
  const v = vmcs12At(vm.ram, vm.vmx.l2!);
  if (reflected) return reflectExit(vm, v, reason, true);
  l0HandlesL2Exit(vm, reason, vm.vmx.level);
  if (heldInterruptDue(vm)) {
    vm.reflectHeldInterrupt(EXIT_EXTERNAL_INTERRUPT);
    reflectExit(vm, v, EXIT_EXTERNAL_INTERRUPT, false);
  }
}

/**
 * An exit of L2's that L1 did not ask for, under either nesting (VMX or SVM): L0's handler deals
 * with it on L2's state, but an exception that exited only for L1's sake (the union of the
 * exception bitmaps, L1's #PF mask and match) goes back to L2, as the core would have delivered it.
 * `level`: the level-switch area, where L0's own controls for L1 wait.
 */
export function l0HandlesL2Exit(vm: ExitContext, reason: number, level: LevelWords): void {
  const vector = vm.vmcs.get(X_INTR_INFO) & 0xff;
  if (reason === EXIT_EXCEPTION && ((savedL0Control(level, C_EXCEPTION_BITMAP) >>> vector) & 1) === 0) reinjectException(vm.vmcs);
  else callHandler(vm, reason);
}

/**
 * After an exit of L2's that L0 handled: whether an interrupt held for L1 arrived meanwhile and is
 * L1's exit now (not if L0 just queued an event for L2, or the run ended).
 */
export function heldInterruptDue(vm: ExitContext): boolean {
  return !vm.stopped && vm.interrupts.heldTakenNow && vm.interrupts.pending > 0 && !eventPending(vm.vmcs);
}

/**
 * The exception exit's event delivered to L2 at the next entry, as the core would have delivered
 * it: a #PF with CR2 set to its address (the exit's qualification), which the exit left alone.
 */
function reinjectException(vmcs: Vmcs): void {
  const info = vmcs.get(X_INTR_INFO);
  if ((info & 0xff) === VECTOR_PF) vmcs.set(G_CR2, vmcs.get(X_QUALIFICATION));
  vmcs.set(E_INTR_INFO, info);
  vmcs.set(E_INTR_ERROR, vmcs.get(X_INTR_ERROR));
  vmcs.set(E_INSTRUCTION_LENGTH, vmcs.get(X_INSTRUCTION_LENGTH));
}

/**
 * An exit of L2's that L1 asked for (SDM 28): into vmcs12 with its information (from the core's
 * exit fields when `informed`; an interrupt held for L1 has none), L2's state saved, L1's host
 * state loaded. The core does the same for L2's CPUID by itself (assembly/vm/level-switch.ts).
 */
function reflectExit(vm: ExitContext, v: Vmcs12, reason: number, informed: boolean): void {
  vm.core.writeExitInformation(v.pointer, reason, informed ? 1 : 0, 0);
  vm.core.saveL2State(v.pointer);
  const stored = storeExitMsrs(vm, v);
  vm.core.resumeL1(v.pointer);
  if (!stored) return vmxAbort(vm, v, ABORT_SAVING_MSRS);
  if (!loadExitMsrs(vm, v)) return vmxAbort(vm, v, ABORT_LOADING_MSRS);
  vm.interrupts.deliver();
}

/** SDM 28.7: the abort indicator in the VMCS region, then shutdown, which ends the run. */
function vmxAbort(vm: ExitContext, v: Vmcs12, indicator: number): void {
  writeRegionWord(vm.ram, v.pointer, REGION_ABORT, indicator);
  vm.stop({ kind: "triple-fault" });
}

