// Running L2 under SVM: VMRUN from L1 (APM Vol. 2 15.5), L2's exits while it runs, and #VMEXIT back
// to L1 (15.6), as KVM's nested_svm_vmrun/nested_svm_vmexit and Bochs' VMRUN/Svm_Vmexit do it. The
// core has one VMCS, as under nested VMX (nested/nested-run.ts), and L0's controls for L1 wait in
// the core's level-switch area meanwhile, as they do there (assembly/vm/level-switch.ts):
//  - VMRUN saves L1's host state (ES CS SS DS, GDTR IDTR, EFER, CR0 CR3 CR4, RFLAGS, the RIP after
//    VMRUN, RSP, RAX) in the host save area at VM_HSAVE_PA, in the VMCB's state-save layout (the
//    APM leaves the format to the processor; KVM and Bochs keep it in the hypervisor instead);
//    makes the consistency checks (vmrun-checks.ts: a failure is #VMEXIT with VMEXIT_INVALID);
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
//    otherwise they go into L2 through its IDT (under L2's IF, even with V_INTR_MASKING).
//  - L1's virtual interrupt (V_IRQ) goes into L2 after L0's, or is #VMEXIT 64h under the VINTR
//    intercept (virtual-interrupt.ts); the interrupt shadow passes through INTERRUPT_SHADOW bit 0.

import {
  C_CLEAN_FIELDS, C_CR0_MASK, C_CR0_SHADOW, C_CR4_MASK, C_CR4_SHADOW, C_CR_INTERCEPTS, C_CR3_TARGET_COUNT, C_EXCEPTION_BITMAP,
  C_PIN, C_PRIMARY, CTL_CR3_LOAD_EXITING, CTL_CR3_STORE_EXITING, CTL_HLT_EXITING, CTL_INVLPG_EXITING, CTL_RDTSC_EXITING,
  CTL_UNCONDITIONAL_IO, E_INSTRUCTION_LENGTH, E_INTR_ERROR, E_INTR_INFO, G_ACTIVITY, G_CPL,
  G_CR0, G_CR2, G_CR3, G_CR4, G_DR, G_EFER, G_EFLAGS, G_EIP, G_GDTR_BASE, G_GDTR_LIMIT, G_IDTR_BASE, G_IDTR_LIMIT,
  G_INTERRUPTIBILITY, G_REGS, G_SEG, INTERRUPTIBILITY_STI, SEG_AR, SEG_STRIDE, SR_SS, EXIT_HLT, AR_UNUSABLE,
} from "../../../assembly/vmcs-layout.js";
import { Reg, type Vmcs } from "../../core/vmcs.js";
import { CR0_ET, CR0_PE, CR0_TS, CR4_UNSUPPORTED } from "../control-registers.js";
import type { LevelStage } from "../exit-dispatcher.js";
import type { ExitContext } from "../exits/exit-context.js";
import { VECTOR_GP, injectException } from "../inject.js";
import type { OuterLevel } from "../interrupt-injector.js";
import { savedL0Control } from "../nested/core-level-switch.js";
import { heldInterruptDue, l0HandlesL2Exit } from "../nested/nested-run.js";
import { EFER_SVME } from "./svm-msrs.js";
import type { SvmL2Run } from "./svm-state.js";
import { l1InterceptCode, NO_EXIT_INFORMATION, NOT_INTERCEPTED, svmExitCodeName, svmExitCodeNumber, svmExitInformation, VMEXIT_INTR, type SvmExitInformation } from "./svm-intercepts.js";
import {
  CR_INTERCEPTS, EVENT_ERROR_VALID, EVENT_TYPE_EXCEPTION, EVENT_TYPE_NMI, EVENT_VALID, EVENTINJ,
  EXCEPTION_INTERCEPTS, EXITCODE, EXITINFO1, EXITINFO2, EXITINTINFO, hostSaveAreaAt, INTERCEPT_CR0_SELECTIVE, INTERCEPT_INTR,
  INTERCEPT_INVLPG, INTERCEPT_RDTSC, INTERCEPTS_1, INTERRUPT_SHADOW, NRIP, V_INTR, V_INTR_MASKING, SAVE_CPL, SAVE_CR0, SAVE_CR2, SAVE_CR3, SAVE_CR4,
  SAVE_DR6, SAVE_DR7, SAVE_EFER, SAVE_ES, SAVE_GDTR, SAVE_IDTR, SAVE_RAX, SAVE_RFLAGS, SAVE_RIP, SAVE_RSP, SEGMENT_ATTRIBUTES,
  SEGMENT_BASE, SEGMENT_LIMIT, SEGMENT_SELECTOR, SEGMENT_STRIDE, TSC_OFFSET, type Vmcb, vmcbAt, VMCB_SIZE, vmcbInRam, vmcbPointerValid,
  VMEXIT_INVALID,
} from "./vmcb.js";
import { setTscOffset, tscOffset } from "../virtual-tsc.js";
import { vmrunCheckFailure } from "./vmrun-checks.js";
import { offerVirtualInterrupt, saveVirtualInterrupt, virtualInterruptAt, virtualInterruptWakes, VMEXIT_VINTR, waitsOnWindow } from "./virtual-interrupt.js";

const AR_DPL = 0x60;
const ATTRIBUTE_PRESENT = 0x80;
/** The RFLAGS bits this CPU has (bit 1 reads as 1); VM is refused by the checks, and never restored for L1. */
const RFLAGS_BITS = 0x3f7fd5;
const RFLAGS_VM = 1 << 17;
const RFLAGS_IF = 1 << 9;
const RFLAGS_FIXED = 2;
const DR7_AFTER_VMEXIT = 0x400;
const CR0_MP = 1 << 1;
const CR4_BITS = 0x7ff;
/** The CR numbers this CPU has, as bits of the intercept vectors (reads 15:0, writes 31:16): CR0, CR2, CR3, CR4. */
const CR_VECTOR_BITS = 0x001d001d;
const CR3_READ = 1 << 3;
const CR3_WRITE = 1 << 19;
const VMRUN_LENGTH = 3;
const INTR_TYPE_SOFTWARE_EXCEPTION = 6;

/** SVM attributes (descriptor bits 47:40 and 55:52) as the core's access rights; P = 0 is unusable in protected mode. */
function accessRights(attributes: number, protectedMode: boolean): number {
  const ar = (attributes & 0xff) | ((attributes & 0xf00) << 4);
  return protectedMode && !(attributes & ATTRIBUTE_PRESENT) ? ar | AR_UNUSABLE : ar;
}

/** The core's access rights as SVM attributes (an unusable segment: 0, as Bochs writes it). */
function attributes(ar: number): number {
  return ar & AR_UNUSABLE ? 0 : (ar & 0xff) | ((ar >>> 4) & 0xf00);
}

export function loadSegment(vmcs: Vmcs, vmcb: Vmcb, at: number, sreg: number, protectedMode: boolean): void {
  vmcs.setSegmentFields(sreg, vmcb.read16(at + SEGMENT_SELECTOR), vmcb.read(at + SEGMENT_BASE), vmcb.read(at + SEGMENT_LIMIT), accessRights(vmcb.read16(at + SEGMENT_ATTRIBUTES), protectedMode));
}

export function saveSegment(vmcs: Vmcs, vmcb: Vmcb, at: number, sreg: number): void {
  const { selector, base, limit, ar } = vmcs.segment(sreg);
  vmcb.write16(at + SEGMENT_SELECTOR, selector);
  vmcb.write16(at + SEGMENT_ATTRIBUTES, attributes(ar));
  vmcb.write(at + SEGMENT_LIMIT, limit);
  vmcb.write64(at + SEGMENT_BASE, base);
}

/** The core's CPL is SS's DPL: the VMCB's CPL field goes there (0 in real mode). */
function setCpl(vmcs: Vmcs, cpl: number): void {
  const at = G_SEG + SR_SS * SEG_STRIDE + SEG_AR;
  vmcs.set(at, (vmcs.get(at) & ~AR_DPL) | (cpl << 5));
}

/** ES, CS, SS, DS, GDTR and IDTR, as VMRUN and #VMEXIT load them, from a state-save area. */
function loadSegmentsAndTables(vmcs: Vmcs, area: Vmcb, protectedMode: boolean): void {
  for (let sreg = 0; sreg < 4; sreg++) loadSegment(vmcs, area, SAVE_ES + sreg * SEGMENT_STRIDE, sreg, protectedMode);
  vmcs.set(G_GDTR_BASE, area.read(SAVE_GDTR + SEGMENT_BASE));
  vmcs.set(G_GDTR_LIMIT, area.read16(SAVE_GDTR + SEGMENT_LIMIT));
  vmcs.set(G_IDTR_BASE, area.read(SAVE_IDTR + SEGMENT_BASE));
  vmcs.set(G_IDTR_LIMIT, area.read16(SAVE_IDTR + SEGMENT_LIMIT));
}

function saveSegmentsAndTables(vmcs: Vmcs, area: Vmcb): void {
  for (let sreg = 0; sreg < 4; sreg++) saveSegment(vmcs, area, SAVE_ES + sreg * SEGMENT_STRIDE, sreg);
  area.write64(SAVE_GDTR + SEGMENT_BASE, vmcs.get(G_GDTR_BASE));
  area.write(SAVE_GDTR + SEGMENT_LIMIT, vmcs.get(G_GDTR_LIMIT) & 0xffff);
  area.write64(SAVE_IDTR + SEGMENT_BASE, vmcs.get(G_IDTR_BASE));
  area.write(SAVE_IDTR + SEGMENT_LIMIT, vmcs.get(G_IDTR_LIMIT) & 0xffff);
}

/** The state-save words VMRUN and #VMEXIT move for either level, as [save-area offset, core offset]. */
const COMMON_WORDS: ReadonlyArray<[number, number]> = [
  [SAVE_EFER, G_EFER], [SAVE_CR0, G_CR0], [SAVE_CR3, G_CR3], [SAVE_CR4, G_CR4], [SAVE_RFLAGS, G_EFLAGS], [SAVE_RIP, G_EIP],
  [SAVE_RSP, G_REGS + 4 * Reg.ESP], [SAVE_RAX, G_REGS + 4 * Reg.EAX],
];
/** And those of L2's alone (the host save area has no CR2 or debug registers). */
const GUEST_WORDS: ReadonlyArray<[number, number]> = [[SAVE_CR2, G_CR2], [SAVE_DR6, G_DR + 6 * 4], [SAVE_DR7, G_DR + 7 * 4]];

function saveWords(vmcs: Vmcs, area: Vmcb, words: ReadonlyArray<[number, number]>): void {
  for (const [at, field] of words) area.write64(at, vmcs.get(field));
}

/** L1's host state into the save area; it resumes after the VMRUN. */
function saveHostState(vmcs: Vmcs, area: Vmcb): void {
  saveSegmentsAndTables(vmcs, area);
  saveWords(vmcs, area, COMMON_WORDS);
  area.write64(SAVE_RIP, (vmcs.get(G_EIP) + VMRUN_LENGTH) >>> 0);
}

/**
 * L1's host state back from the save area (APM 15.6), which L1 or L2 may have written meanwhile:
 * only values the CPU can hold are taken (PE set, CR4 and EFER bits it has, no RFLAGS.VM), then
 * DR7 400h, CPL 0, nothing pending, as the APM says.
 */
function loadHostState(vmcs: Vmcs, area: Vmcb): void {
  loadSegmentsAndTables(vmcs, area, true);
  setCpl(vmcs, 0);
  vmcs.set(G_EFER, area.read(SAVE_EFER) & EFER_SVME);
  vmcs.set(G_CR0, area.read(SAVE_CR0) | CR0_PE | CR0_ET);
  vmcs.set(G_CR3, area.read(SAVE_CR3));
  vmcs.set(G_CR4, area.read(SAVE_CR4) & CR4_BITS & ~CR4_UNSUPPORTED);
  vmcs.set(G_EFLAGS, (area.read(SAVE_RFLAGS) & RFLAGS_BITS & ~RFLAGS_VM) | RFLAGS_FIXED);
  vmcs.set(G_EIP, area.read(SAVE_RIP));
  vmcs.setReg(Reg.ESP, area.read(SAVE_RSP));
  vmcs.setReg(Reg.EAX, area.read(SAVE_RAX));
  vmcs.set(G_DR + 7 * 4, DR7_AFTER_VMEXIT);
  vmcs.set(G_INTERRUPTIBILITY, 0);
  vmcs.set(G_ACTIVITY, 0);
  vmcs.set(E_INTR_INFO, 0);
  vmcs.set(C_CLEAN_FIELDS, 0);
}

/** L2's state from the VMCB (the checks passed). */
function loadL2State(vmcs: Vmcs, vmcb: Vmcb): void {
  const cr0 = vmcb.read(SAVE_CR0) | CR0_ET;
  const protectedMode = (cr0 & CR0_PE) !== 0;
  loadSegmentsAndTables(vmcs, vmcb, protectedMode);
  setCpl(vmcs, protectedMode ? vmcb.read8(SAVE_CPL) & 3 : 0);
  vmcs.set(G_EFER, vmcb.read(SAVE_EFER));
  vmcs.set(G_CR0, cr0);
  vmcs.set(G_CR2, vmcb.read(SAVE_CR2));
  vmcs.set(G_CR3, vmcb.read(SAVE_CR3));
  vmcs.set(G_CR4, vmcb.read(SAVE_CR4));
  vmcs.set(G_DR + 6 * 4, vmcb.read(SAVE_DR6));
  vmcs.set(G_DR + 7 * 4, vmcb.read(SAVE_DR7));
  vmcs.set(G_EFLAGS, (vmcb.read(SAVE_RFLAGS) & RFLAGS_BITS) | RFLAGS_FIXED);
  vmcs.set(G_EIP, vmcb.read(SAVE_RIP));
  vmcs.setReg(Reg.ESP, vmcb.read(SAVE_RSP));
  vmcs.setReg(Reg.EAX, vmcb.read(SAVE_RAX));
  vmcs.set(G_INTERRUPTIBILITY, vmcb.read(INTERRUPT_SHADOW) & 1 ? INTERRUPTIBILITY_STI : 0);
  vmcs.set(G_ACTIVITY, 0);
  vmcs.set(C_CLEAN_FIELDS, 0);
}

/** L2's state into the VMCB at #VMEXIT (APM 15.6), with its CPL and interrupt shadow. */
function saveL2State(vmcs: Vmcs, vmcb: Vmcb): void {
  saveSegmentsAndTables(vmcs, vmcb);
  saveWords(vmcs, vmcb, COMMON_WORDS);
  saveWords(vmcs, vmcb, GUEST_WORDS);
  vmcb.write8(SAVE_CPL, vmcs.get(G_CPL));
  vmcb.write(INTERRUPT_SHADOW, (vmcb.read(INTERRUPT_SHADOW) & ~1) | (vmcs.get(G_INTERRUPTIBILITY) & 3 ? 1 : 0));
}

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

/**
 * The controls L2 runs under: L0's for L1 (set aside) merged with L1's intercepts (see the header),
 * at VMRUN and again whenever L0 changes its own while L2 runs (nested/l0-controls.ts).
 */
export function mergeControls(vm: ExitContext, vmcb: Vmcb): void {
  const { vmcs } = vm;
  const l0 = (field: number) => savedL0Control(vm.svm.level, field);
  const intercepts = vmcb.read(INTERCEPTS_1);
  const crVectors = vmcb.read(CR_INTERCEPTS) & CR_VECTOR_BITS;
  vmcs.set(C_PIN, 0);
  vmcs.set(
    C_PRIMARY,
    CTL_HLT_EXITING | CTL_UNCONDITIONAL_IO | (intercepts & INTERCEPT_RDTSC ? CTL_RDTSC_EXITING : 0) | (intercepts & INTERCEPT_INVLPG ? CTL_INVLPG_EXITING : 0) |
      (crVectors & CR3_WRITE ? CTL_CR3_LOAD_EXITING : 0) | (crVectors & CR3_READ ? CTL_CR3_STORE_EXITING : 0),
  );
  vmcs.set(C_CR_INTERCEPTS, crVectors);
  vmcs.set(C_CR3_TARGET_COUNT, 0);
  vmcs.set(C_EXCEPTION_BITMAP, l0(C_EXCEPTION_BITMAP) | vmcb.read(EXCEPTION_INTERCEPTS));
  const selective = intercepts & INTERCEPT_CR0_SELECTIVE ? ~(CR0_TS | CR0_MP) : 0;
  vm.core.mergeCrMask(C_CR0_MASK, C_CR0_SHADOW, G_CR0, l0(C_CR0_MASK), selective, vmcs.get(G_CR0));
  vm.core.mergeCrMask(C_CR4_MASK, C_CR4_SHADOW, G_CR4, l0(C_CR4_MASK), 0, 0);
  vmcs.set(C_CLEAN_FIELDS, 0);
}

/** VMRUN from L1, its instruction checks passed in the core: rAX, the save area, then the entry (or VMEXIT_INVALID). */
export function handleVmrun(vm: ExitContext): void {
  const { vmcs, ram } = vm;
  const pointer = vmcs.reg(Reg.EAX);
  // KVM's answer to a VMCB it cannot map (and ours to a save area outside RAM): #GP(0).
  if (!vmcbPointerValid(pointer) || !vmcbInRam(ram, pointer) || !vmcbInRam(ram, vm.svmMsrs.hsavePa)) return injectException(vmcs, VECTOR_GP, 0);
  const hsave = vm.svmMsrs.hsavePa;
  saveHostState(vmcs, hostSaveAreaAt(ram, hsave));
  vm.core.noteHostWrite(hsave, VMCB_SIZE); // code L1 keeps there is forgotten, as after any write
  const vmcb = vmcbAt(ram, pointer);
  const hostInterrupts = (vmcs.get(G_EFLAGS) & RFLAGS_IF) !== 0;
  vm.svm.lastVmrunFailure = vmrunCheckFailure(vmcb);
  if (vm.svm.lastVmrunFailure !== undefined) {
    writeExit(vmcb, VMEXIT_INVALID, NO_EXIT_INFORMATION, false);
    vm.core.noteHostWrite(pointer, VMCB_SIZE);
    return backToL1(vm, hsave);
  }
  vm.core.saveL1Controls();
  loadL2State(vmcs, vmcb);
  mergeControls(vm, vmcb);
  setTscOffset(vmcs, tscOffset(vmcs) + vmcb.read(TSC_OFFSET) + (vmcb.read(TSC_OFFSET + 4) | 0) * 0x1_0000_0000);
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

function writeExit(vmcb: Vmcb, code: number, exit: SvmExitInformation, saveNextRip: boolean): void {
  vmcb.write64(EXITCODE, code);
  vmcb.write64(EXITINFO1, exit.info1);
  vmcb.write64(EXITINFO2, exit.info2);
  vmcb.write(EXITINTINFO, exit.intInfo);
  vmcb.write(EXITINTINFO + 4, exit.intError);
  vmcb.write(EVENTINJ, vmcb.read(EVENTINJ) & ~EVENT_VALID);
  if (saveNextRip) vmcb.write64(NRIP, exit.nextRip);
}

/** #VMEXIT of L2's with `code`: the VMCB written, L1 back. */
function vmexit(vm: ExitContext, run: SvmL2Run, code: number, exit: SvmExitInformation): void {
  const vmcb = vmcbAt(vm.ram, run.vmcb);
  writeExit(vmcb, code, exit, true);
  saveL2State(vm.vmcs, vmcb);
  saveVirtualInterrupt(vmcb, run);
  vm.core.noteHostWrite(run.vmcb, VMCB_SIZE);
  vm.svm.l2 = undefined;
  vm.core.restoreL1Controls();
  backToL1(vm, run.hsave);
}

/** L1's host state from the save area, GIF clear (APM 15.6). */
function backToL1(vm: ExitContext, hsave: number): void {
  loadHostState(vm.vmcs, hostSaveAreaAt(vm.ram, hsave));
  // L0 keeps the read shadow of the CR bits it owns equal to L1's registers: they come from the host state now.
  vm.vmcs.set(C_CR0_SHADOW, vm.vmcs.get(G_CR0));
  vm.vmcs.set(C_CR4_SHADOW, vm.vmcs.get(G_CR4));
  vm.interrupts.globalInterruptFlag = false;
  vm.interrupts.deliver();
}

/**
 * L1's asks about L0's interrupts while L2 runs (the injector's OuterLevel): its INTR intercept; the
 * window exiting a virtual interrupt waits on; what masks an interrupt held for L1 (APM 15.21.1:
 * the host's IF under V_INTR_MASKING, else L2's IF and interrupt shadow).
 */
export function svmInterruptControls(vm: ExitContext): OuterLevel {
  return {
    holdsInterrupts: () => vm.svm.l2?.holdsInterrupts === true,
    keepsWindowExiting: () => vm.svm.l2 !== undefined && waitsOnWindow(vm, vm.svm.l2),
    heldMask: () => {
      const run = vm.svm.l2;
      if (run === undefined) return undefined;
      if (run.virtualMasking) return run.hostInterrupts ? undefined : "host";
      return vm.interrupts.interruptible() ? undefined : "guest";
    },
  };
}
