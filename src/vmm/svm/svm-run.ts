// Running L2 under SVM: VMRUN from L1 (APM Vol. 2 15.5), L2's exits while it runs, and #VMEXIT back
// to L1 (15.6), as KVM's nested_svm_vmrun/nested_svm_vmexit and Bochs' VMRUN/Svm_Vmexit do it. The
// core has one VMCS, as under nested VMX (nested/nested-run.ts), and L0's controls for L1 wait in
// the core's level-switch area meanwhile, as they do there (assembly/vm/level-switch.ts). The moves
// of state, VMRUN's consistency checks and the merge of the intercepts are the core's
// (assembly/vm/svm-switch.ts), which also makes the commonest switches without calling the VMM:
// VMRUN with no event to inject and no virtual interrupt, and L2's CPUID #VMEXIT after it.
//  - VMRUN saves L1's host state (ES CS SS DS, GDTR IDTR, EFER, CR0 CR3 CR4, RFLAGS, the RIP after
//    VMRUN, RSP, RAX) in the host save area at VM_HSAVE_PA, in the VMCB's state-save layout (the
//    APM leaves the format to the processor; KVM and Bochs keep it in the hypervisor instead);
//    makes the consistency checks (a failure is #VMEXIT with VMEXIT_INVALID);
//    sets L0's controls for L1 aside, loads L2's state from the VMCB, merges the intercepts;
//    injects EVENTINJ; sets GIF. FS, GS, TR, LDTR and the SYSENTER MSRs are VMLOAD's and VMSAVE's
//    (svm-instructions.ts): they pass between the levels as they are, as on hardware.
//  - Every L2 exit lands in L0's stage first: one L1 intercepts (svm-intercepts.ts) is a #VMEXIT:
//    code, EXITINFO1/2, EXITINTINFO (an exception's exit during an event's delivery: that event),
//    nRIP and L2's state into the VMCB, EVENTINJ's valid bit cleared, L1's host state back from
//    the save area (CR0.PE set, DR7 400h, CPL 0), GIF clear; L1 goes on after its VMRUN. Any other
//    exit is L0's, and L2 resumes.
//  - Merged intercepts: L0 keeps HLT and every port; the core carries out L1's RDTSC, INVLPG and
//    CR intercepts itself (C_CR_INTERCEPTS; CR3's through the CR3 load and store controls, which
//    compiled code obeys); exceptions are the union of both vectors; L1's selective CR0 write
//    intercept is a CR0 guest/host mask of every bit but TS and MP.
//  - L0's interrupts: under L1's INTR intercept they are L1's, held from L2 and each a #VMEXIT
//    (60h) after the exit during which it arrived, once unmasked (APM 15.21.1): under
//    V_INTR_MASKING by L1's IF at VMRUN, else by L2's IF (L2's interrupt window then exits to L0);
//    otherwise they go into L2 through its IDT, masked the same way: under V_INTR_MASKING by L1's
//    IF at VMRUN whatever L2's IF, else by L2's.
//  - L1's virtual interrupt (V_IRQ) goes into L2 after L0's, or is #VMEXIT 64h under the VINTR
//    intercept (virtual-interrupt.ts); the interrupt shadow passes through INTERRUPT_SHADOW bit 0.

import { E_INSTRUCTION_LENGTH, E_INTR_ERROR, E_INTR_INFO, G_EFLAGS, EXIT_HLT } from "../../../assembly/vmcs-layout.js";
import { Reg, type Vmcs } from "../../core/vmcs.js";
import type { LevelStage } from "../exit-dispatcher.js";
import type { ExitContext } from "../exits/exit-context.js";
import { VECTOR_GP, injectException } from "../inject.js";
import type { OuterLevel } from "../interrupt-injector.js";
import { heldInterruptDue, l0HandlesL2Exit } from "../nested/nested-run.js";
import type { SvmL2Run } from "./svm-state.js";
import { l1InterceptCode, NO_EXIT_INFORMATION, NOT_INTERCEPTED, svmExitCodeName, svmExitCodeNumber, svmExitInformation, VMEXIT_INTR, type SvmExitInformation } from "./svm-intercepts.js";
import {
  EVENT_ERROR_VALID, EVENT_TYPE_EXCEPTION, EVENT_TYPE_NMI, EVENT_VALID, EVENTINJ, INTERCEPT_INTR, INTERCEPTS_1, V_INTR, V_INTR_MASKING,
  type Vmcb, vmcbAt, VMCB_SIZE, vmcbInRam, vmcbPointerValid, VMEXIT_INVALID,
} from "./vmcb.js";
import { offerVirtualInterrupt, saveVirtualInterrupt, virtualInterruptAt, virtualInterruptWakes, VMEXIT_VINTR, waitsOnWindow } from "./virtual-interrupt.js";

const RFLAGS_IF = 1 << 9;
const INTR_TYPE_SOFTWARE_EXCEPTION = 6;

/** EVENTINJ (checked) as the core's VM-entry interruption information (APM 15.20; Bochs' SvmInjectEvents). */
function injectEvent(vmcs: Vmcs, vmcb: Vmcb): void {
  const event = vmcb.read(EVENTINJ);
  if (!(event & EVENT_VALID)) return vmcs.set(E_INTR_INFO, 0);
  let type = (event >>> 8) & 7;
  let vector = event & 0xff;
  if (type === EVENT_TYPE_NMI) vector = 2;
  // #BP and #OF are delivered as the instructions raise them (gate DPL checked), at the VMCB's RIP.
  if (type === EVENT_TYPE_EXCEPTION && (vector === 3 || vector === 4)) type = INTR_TYPE_SOFTWARE_EXCEPTION;
  vmcs.set(E_INTR_INFO, (EVENT_VALID | (event & EVENT_ERROR_VALID) | (type << 8) | vector) >>> 0);
  vmcs.set(E_INTR_ERROR, vmcb.read(EVENTINJ + 4));
  vmcs.set(E_INSTRUCTION_LENGTH, 0); // a software interrupt returns to the VMCB's RIP
}

/** VMRUN from L1, its instruction checks passed in the core: rAX, the save area, then the entry (or VMEXIT_INVALID). */
export function handleVmrun(vm: ExitContext): void {
  const { vmcs, ram, core } = vm;
  const pointer = vmcs.reg(Reg.EAX);
  const hsave = vm.svmMsrs.hsavePa;
  // KVM's answer to a VMCB it cannot map (and ours to a save area outside RAM): #GP(0).
  if (!vmcbPointerValid(pointer) || !vmcbInRam(ram, pointer) || !vmcbInRam(ram, hsave)) return injectException(vmcs, VECTOR_GP, 0);
  const hostInterrupts = (vmcs.get(G_EFLAGS) & RFLAGS_IF) !== 0;
  core.svmSaveHostState(hsave);
  if (core.svmVmrunCheck(pointer) !== 0) {
    writeExit(vm, pointer, VMEXIT_INVALID, NO_EXIT_INFORMATION, false);
    core.noteHostWrite(pointer, VMCB_SIZE);
    return backToL1(vm, hsave);
  }
  core.saveL1Controls();
  core.svmLoadL2State(pointer);
  core.svmMergeControls(pointer, 1);
  const vmcb = vmcbAt(ram, pointer);
  injectEvent(vmcs, vmcb);
  const run: SvmL2Run = {
    vmcb: pointer, hsave, holdsInterrupts: (vmcb.read(INTERCEPTS_1) & INTERCEPT_INTR) !== 0,
    virtualMasking: (vmcb.read(V_INTR) & V_INTR_MASKING) !== 0, hostInterrupts, virtualInterrupt: virtualInterruptAt(vmcb),
  };
  vm.svm.l2 = run;
  vm.interrupts.globalInterruptFlag = true;
  vm.interrupts.deliver();
  if (offerVirtualInterrupt(vm, run)) vmexit(vm, run, VMEXIT_VINTR, NO_EXIT_INFORMATION);
}

/** The stage that sees L2's exits while it runs: #VMEXIT for what L1 intercepts, L0 handles the rest. */
export const svmL2Stage: LevelStage = {
  runs: (vm) => vm.svm.l2 !== undefined,
  reflects: (vm, reason) => l1InterceptCode(vm, vmcbAt(vm.ram, vm.svm.l2!.vmcb), reason) !== NOT_INTERCEPTED,
  handle: handleL2Exit,
  // L1 sees #VMEXIT codes: traces and statistics show those at the reflected level.
  reflectedCode: (vm, reason) => l1InterceptCode(vm, vmcbAt(vm.ram, vm.svm.l2!.vmcb), reason),
  codeName: svmExitCodeName,
  codeNumber: svmExitCodeNumber,
};

function handleL2Exit(vm: ExitContext, reason: number, reflected: boolean): void {
  const run = vm.svm.l2!;
  if (reflected) {
    const code = l1InterceptCode(vm, vmcbAt(vm.ram, run.vmcb), reason);
    return vmexit(vm, run, code, svmExitInformation(vm, reason, code));
  }
  if (reason !== EXIT_HLT || !virtualInterruptWakes(vm, run)) l0HandlesL2Exit(vm, reason, vm.svm.level);
  if (heldInterruptDue(vm)) {
    vm.reflectHeldInterrupt(VMEXIT_INTR);
    return vmexit(vm, run, VMEXIT_INTR, NO_EXIT_INFORMATION);
  }
  if (!vm.stopped && offerVirtualInterrupt(vm, run)) vmexit(vm, run, VMEXIT_VINTR, NO_EXIT_INFORMATION);
}

/** The exit's code and information into the VMCB at `pointer` (nRIP if `saveNextRip`), EVENTINJ consumed. */
function writeExit(vm: ExitContext, pointer: number, code: number, exit: SvmExitInformation, saveNextRip: boolean): void {
  vm.core.svmWriteExit(pointer, code, exit.info1, exit.info2, exit.intInfo, exit.intError, exit.nextRip, saveNextRip ? 1 : 0);
}

/** #VMEXIT of L2's with `code`: the VMCB written, L1 back. */
function vmexit(vm: ExitContext, run: SvmL2Run, code: number, exit: SvmExitInformation): void {
  writeExit(vm, run.vmcb, code, exit, true);
  vm.core.svmSaveL2State(run.vmcb);
  saveVirtualInterrupt(vmcbAt(vm.ram, run.vmcb), run);
  vm.core.noteHostWrite(run.vmcb, VMCB_SIZE);
  vm.svm.l2 = undefined;
  vm.core.restoreL1Controls();
  backToL1(vm, run.hsave);
}

/** L1's host state from the save area (the core's CR read shadows follow it), GIF clear (APM 15.6). */
function backToL1(vm: ExitContext, hsave: number): void {
  vm.core.svmLoadHostState(hsave);
  vm.interrupts.globalInterruptFlag = false;
  vm.interrupts.deliver();
}

/**
 * L1's asks about L0's interrupts while L2 runs (the injector's OuterLevel): its INTR intercept; the
 * window exiting a virtual interrupt waits on; the flag that masks L0's interrupts (APM 15.21.1:
 * L1's IF at VMRUN under V_INTR_MASKING, else L2's IF, with L2's interrupt shadow either way), held
 * for L1 or not.
 */
export function svmInterruptControls(vm: ExitContext): OuterLevel {
  const hostInterruptFlag = () => (vm.svm.l2?.virtualMasking === true ? vm.svm.l2.hostInterrupts : undefined);
  return {
    holdsInterrupts: () => vm.svm.l2?.holdsInterrupts === true,
    keepsWindowExiting: () => vm.svm.l2 !== undefined && waitsOnWindow(vm, vm.svm.l2),
    heldMask: () => {
      if (vm.svm.l2 === undefined) return undefined;
      const host = hostInterruptFlag();
      if (host !== undefined) return host ? undefined : "host";
      return vm.interrupts.interruptible() ? undefined : "guest";
    },
    hostInterruptFlag,
  };
}
