// Switching the guest CPU between a guest hypervisor (L1) and its guest (L2), nested VMX's level
// switch (KVM's prepare_vmcs02 and nested_vmx_vmexit; docs/design.md, "Nesting"). The core has one
// VMCS: L2 runs on it with its guest state loaded from L1's VMCS (vmcs12, a region of guest RAM laid
// out as the field table says, assembly/cpu/vmcs-shadowing.ts) and controls merged from L0's and
// L1's; L0's controls for L1 wait in the level-switch area meanwhile. These functions are the
// switch's one implementation: the VMM's nested code (src/vmm/nested/nested-run.ts) calls them for
// every entry and every exit it handles, and the core makes the commonest switches itself
// (switchInCore below): L1's VMRESUME or VMLAUNCH whose checks pass, and L2's CPUID, which every L1
// takes, so that an L2 CPUID round trip makes no call out to the VMM.
// Every vmcs12 pointer given here is a 4 KiB region inside RAM: the VMM checked it at VMPTRLD, and
// the in-core path checks it again.
import {
  VMCS_BASE, C_PIN, C_PRIMARY, C_EXCEPTION_BITMAP, C_CR0_MASK, C_CR0_SHADOW, C_CR4_MASK, C_CR4_SHADOW,
  C_CR3_TARGET_COUNT, C_CR3_TARGETS, C_PREEMPTION_TIMER, C_CLEAN_FIELDS, C_SECONDARY, C_VMCS_LINK,
  CTL2_VMCS_SHADOWING, CTL_HLT_EXITING, CTL_UNCONDITIONAL_IO, CTL_INTERRUPT_WINDOW, CTL_INVLPG_EXITING,
  CTL_RDTSC_EXITING, CTL_CR3_LOAD_EXITING, CTL_CR3_STORE_EXITING, E_INTR_INFO, E_INTR_ERROR, E_INSTRUCTION_LENGTH,
  G_REGS, G_EIP, G_EFLAGS, G_CR0, G_CR3, G_CR4, G_DR, G_GDTR_BASE, G_GDTR_LIMIT, G_IDTR_BASE, G_IDTR_LIMIT,
  G_INTERRUPTIBILITY, G_ACTIVITY, G_TSC_LO, G_MSR_SYSENTER_CS, G_MSR_SYSENTER_ESP, G_MSR_SYSENTER_EIP,
  G_SEG, SEG_STRIDE, SEG_SEL, SEG_BASE, SEG_LIMIT, SEG_AR, SR_CS, SR_FS, SR_GS, SR_LDTR, SR_TR,
  X_QUALIFICATION, X_INSTRUCTION_LENGTH, X_INSTRUCTION_INFO, X_GUEST_LINEAR, X_INTR_INFO, X_INTR_ERROR, X_VECTORING_INFO, X_VECTORING_ERROR, INTR_HAS_ERROR,
  EXIT_CPUID, EXIT_EXCEPTION, EXIT_IO, EXIT_VMCLEAR, EXIT_VMXON, EXIT_VMLAUNCH, EXIT_VMRESUME, EXIT_SVM_VMRUN, IOQ_STRING, INTR_VALID,
  G_CPL, INTERRUPTIBILITY_MOV_SS, AR_UNUSABLE,
} from "../vmcs-layout";
import {
  LS_ENABLED, LS_L2_VMCS, LS_L1_LINK, LS_L1_VMCS, LS_NONE, LS_REFLECTED_CPUID_LO, LS_VMRESUMES_LO, LS_VMLAUNCHES_LO,
  LS_SVM_L2, LS_L1_CONTROLS, L1_CONTROLS_END, LS_L1_TSC_LO, LEVEL_SWITCH_BYTES, GUEST_STATE_VALID, LS_SVM_GIF_CLEAR,
  LS_INTERRUPTS_WAIT, SVM_L2_NONE,
} from "../level-switch-layout";
import { vmrunInCore, cpuidVmexitInCore } from "./svm-switch";
import { entryControlsValid, hostStateValid, guestStateCheck } from "./vmentry-checks";
import {
  read12, write12, GUEST_ES_SELECTOR, HOST_ES_SELECTOR, HOST_TR_SELECTOR, TSC_OFFSET, PRIMARY_CONTROLS,
  EXCEPTION_BITMAP, PAGE_FAULT_ERROR_MASK, PAGE_FAULT_ERROR_MATCH, CR3_TARGET_COUNT_FIELD,
  EXIT_MSR_STORE_COUNT, EXIT_MSR_LOAD_COUNT, ENTRY_MSR_LOAD_COUNT, ENTRY_INTERRUPTION_INFO,
  ENTRY_EXCEPTION_ERROR_CODE, ENTRY_INSTRUCTION_LENGTH, EXIT_REASON, EXIT_INTERRUPTION_INFO,
  EXIT_INTERRUPTION_ERROR_CODE, IDT_VECTORING_INFO, IDT_VECTORING_ERROR_CODE, EXIT_INSTRUCTION_LENGTH,
  EXIT_INSTRUCTION_INFO, GUEST_ES_LIMIT, GUEST_GDTR_LIMIT, GUEST_IDTR_LIMIT, GUEST_ES_ACCESS_RIGHTS,
  GUEST_INTERRUPTIBILITY, GUEST_ACTIVITY_STATE, GUEST_SYSENTER_CS, HOST_SYSENTER_CS, CR0_GUEST_HOST_MASK,
  CR4_GUEST_HOST_MASK, CR0_READ_SHADOW, CR4_READ_SHADOW, CR3_TARGET_0, EXIT_QUALIFICATION,
  GUEST_LINEAR_ADDRESS, GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_ES_BASE, GUEST_GDTR_BASE, GUEST_IDTR_BASE,
  GUEST_DR7, GUEST_RSP, GUEST_RIP, GUEST_RFLAGS, GUEST_PENDING_DEBUG_EXCEPTIONS, GUEST_SYSENTER_ESP,
  GUEST_SYSENTER_EIP, HOST_CR0, HOST_CR3, HOST_CR4, HOST_FS_BASE, HOST_GS_BASE, HOST_TR_BASE, HOST_GDTR_BASE,
  HOST_IDTR_BASE, HOST_SYSENTER_ESP, HOST_SYSENTER_EIP, HOST_RSP, HOST_RIP,
} from "./vmcs12";
import { ramBase, ramSize } from "../memory/physical";
import { fieldWord } from "../cpu/vmcs-shadowing";
import { emulating } from "../cpu/state";

const area = memory.data(LEVEL_SWITCH_BYTES, 8);

export function levelSwitchArea(): usize { return area; }

// A fresh VM: L1 (or a plain guest) runs, with no link.
export function clearLevelSwitch(): void {
  memory.fill(area, 0, LEVEL_SWITCH_BYTES);
  plainStateMade = false;
  store<u32>(area + LS_L2_VMCS, LS_NONE);
  store<u32>(area + LS_L1_LINK, LS_NONE);
  store<u32>(area + LS_L1_VMCS, LS_NONE);
}


@inline function core(offset: u32): u32 { return load<u32>(VMCS_BASE + offset); }
@inline function setCore(offset: u32, value: u32): void { store<u32>(VMCS_BASE + offset, value); }

const CR0_ET: u32 = 1 << 4;

// ---- L0's controls for L1 --------------------------------------------------------------------

// The control words set aside are those from C_PIN up to L1_CONTROLS_END but the preemption timer
// and the clean-fields word: three runs, each copied at once.
@inline function copyControlRun(from: u32, to: u32, toArea: bool): void {
  const atArea = area + LS_L1_CONTROLS + (from - C_PIN);
  if (toArea) memory.copy(atArea, VMCS_BASE + from, to - from);
  else memory.copy(VMCS_BASE + from, atArea, to - from);
}
function copyL1Controls(toArea: bool): void {
  copyControlRun(C_PIN, C_PREEMPTION_TIMER, toArea);
  copyControlRun(C_PREEMPTION_TIMER + 4, C_CLEAN_FIELDS, toArea);
  copyControlRun(C_CLEAN_FIELDS + 4, L1_CONTROLS_END, toArea);
}

// Sets L0's controls for L1 (and L1's TSC offset) aside at an entry to L2.
export function saveL1Controls(): void {
  copyL1Controls(true);
  store<u64>(area + LS_L1_TSC_LO, load<u64>(VMCS_BASE + G_TSC_LO));
}

export function restoreL1Controls(): void {
  copyL1Controls(false);
  store<u64>(VMCS_BASE + G_TSC_LO, load<u64>(area + LS_L1_TSC_LO));
  setCore(C_CLEAN_FIELDS, 0);
}

@inline export function savedL1Control(offset: u32): u32 { return load<u32>(area + LS_L1_CONTROLS + (offset - C_PIN)); }

// ---- VM entry (SDM 27.3.2) -------------------------------------------------------------------

// The guest-state fields an entry loads and an exit saves as they are (SDM 27.3.2, 28.3): CR0,
// the selectors, the interruptibility state and the pending debug exceptions are not plain copies.
// As pairs of the core's VMCS offset and the field's byte offset in a vmcs12 region (low and high
// halves), made from the field table at the first copy after init(): the VMM writes the table once,
// before any VMCS exists (src/vmm/nested/vmcs-shadowing.ts programFieldTable), and it never changes.
const PLAIN_STATE_FIELDS: u32 = 14 + 3 * (<u32>SR_TR + 1);
const plainState = memory.data(PLAIN_STATE_FIELDS * 4, 4);
let plainStateMade = false;

function makePlainState(): void {
  let n: u32 = 0;
  n = plainPair(n, G_CR3, GUEST_CR3);
  n = plainPair(n, G_CR4, GUEST_CR4);
  n = plainPair(n, G_DR + 7 * 4, GUEST_DR7);
  n = plainPair(n, G_GDTR_BASE, GUEST_GDTR_BASE);
  n = plainPair(n, G_GDTR_LIMIT, GUEST_GDTR_LIMIT);
  n = plainPair(n, G_IDTR_BASE, GUEST_IDTR_BASE);
  n = plainPair(n, G_IDTR_LIMIT, GUEST_IDTR_LIMIT);
  n = plainPair(n, G_REGS + 4 * 4, GUEST_RSP); // ESP
  n = plainPair(n, G_EIP, GUEST_RIP);
  n = plainPair(n, G_EFLAGS, GUEST_RFLAGS);
  n = plainPair(n, G_MSR_SYSENTER_CS, GUEST_SYSENTER_CS);
  n = plainPair(n, G_MSR_SYSENTER_ESP, GUEST_SYSENTER_ESP);
  n = plainPair(n, G_MSR_SYSENTER_EIP, GUEST_SYSENTER_EIP);
  n = plainPair(n, G_ACTIVITY, GUEST_ACTIVITY_STATE);
  for (let i: u32 = 0; i <= <u32>SR_TR; i++) {
    const seg = G_SEG + i * SEG_STRIDE;
    n = plainPair(n, seg + SEG_BASE, GUEST_ES_BASE + 2 * i);
    n = plainPair(n, seg + SEG_LIMIT, GUEST_ES_LIMIT + 2 * i);
    n = plainPair(n, seg + SEG_AR, GUEST_ES_ACCESS_RIGHTS + 2 * i);
  }
  plainStateMade = true;
}

function plainPair(n: u32, offset: u32, encoding: u32): u32 {
  store<u32>(plainState + n * 4, offset | (fieldWord(encoding) << 18));
  return n + 1;
}

function copyState(v: u32, toCore: bool): void {
  if (!plainStateMade) makePlainState();
  const region = ramBase + v;
  for (let at = plainState; at < plainState + PLAIN_STATE_FIELDS * 4; at += 4) {
    const pair = load<u32>(at);
    const inCore = VMCS_BASE + (pair & 0xffff), inRegion = region + (pair >> 16);
    if (toCore) store<u32>(inCore, load<u32>(inRegion));
    else store<u32>(inRegion, load<u32>(inCore));
  }
}

// L2's guest state from vmcs12 into the core.
export function loadL2State(v: u32): void {
  copyState(v, true);
  for (let i: u32 = 0; i <= <u32>SR_TR; i++) setCore(G_SEG + i * SEG_STRIDE + SEG_SEL, read12(v, GUEST_ES_SELECTOR + 2 * i) & 0xffff);
  setCore(G_CR0, read12(v, GUEST_CR0) | CR0_ET);
  setCore(G_INTERRUPTIBILITY, read12(v, GUEST_INTERRUPTIBILITY) & 3);
  setCore(C_CLEAN_FIELDS, 0);
}

const L1_PRIMARY_IN_CORE: u32 = CTL_INTERRUPT_WINDOW | CTL_INVLPG_EXITING | CTL_RDTSC_EXITING | CTL_CR3_LOAD_EXITING | CTL_CR3_STORE_EXITING;
const CTL_TSC_OFFSETTING: u32 = 1 << 3;
const PF_VECTOR_BIT: u32 = 1 << 14;

// The controls L2 runs under: L0's for L1 (saved) merged with L1's, so that an exit either asked
// for happens. L0 always takes HLT and every port (its bus decides what a port is); the core
// carries out L1's interrupt-window, INVLPG, RDTSC, CR3-load (with L1's CR3-target list) and
// CR3-store exiting itself; L1's I/O and MSR bitmaps are read at the exit (l2-exits.ts). The
// CR0/CR4 masks are the union of both; a bit only L0 owns shows L2 its real value. `entry`: the
// entry's own part too, L1's TSC offset on top of L0's and the event to inject; without it (L0
// changed its own controls while L2 runs, src/vmm/nested/l0-controls.ts) only the controls again.
export function mergeControls(v: u32, entry: bool): void {
  const primary = read12(v, PRIMARY_CONTROLS);
  setCore(C_PIN, 0);
  setCore(C_PRIMARY, CTL_HLT_EXITING | CTL_UNCONDITIONAL_IO | (primary & L1_PRIMARY_IN_CORE));
  // A #PF exits under L1's mask and match even with bit 14 clear: let the core exit for every #PF then.
  const pfMayExit = read12(v, PAGE_FAULT_ERROR_MASK) != 0 || read12(v, PAGE_FAULT_ERROR_MATCH) != 0;
  setCore(C_EXCEPTION_BITMAP, savedL1Control(C_EXCEPTION_BITMAP) | read12(v, EXCEPTION_BITMAP) | (pfMayExit ? PF_VECTOR_BIT : 0));
  mergeCrMask(C_CR0_MASK, C_CR0_SHADOW, G_CR0, savedL1Control(C_CR0_MASK), read12(v, CR0_GUEST_HOST_MASK), read12(v, CR0_READ_SHADOW));
  mergeCrMask(C_CR4_MASK, C_CR4_SHADOW, G_CR4, savedL1Control(C_CR4_MASK), read12(v, CR4_GUEST_HOST_MASK), read12(v, CR4_READ_SHADOW));
  const targets = primary & CTL_CR3_LOAD_EXITING ? read12(v, CR3_TARGET_COUNT_FIELD) : 0;
  setCore(C_CR3_TARGET_COUNT, targets);
  for (let slot: u32 = 0; slot < 4; slot++) setCore(C_CR3_TARGETS + 4 * slot, slot < targets ? read12(v, CR3_TARGET_0 + 2 * slot) : 0);
  setCore(C_CLEAN_FIELDS, 0);
  if (!entry) return;
  if (primary & CTL_TSC_OFFSETTING) {
    // L1's 64-bit offset (two's complement) on top of L0's for L1.
    const l1Offset = <u64>read12(v, TSC_OFFSET) | (<u64>read12(v, TSC_OFFSET + 1) << 32);
    store<u64>(VMCS_BASE + G_TSC_LO, load<u64>(VMCS_BASE + G_TSC_LO) + l1Offset);
  }
  setCore(E_INTR_INFO, read12(v, ENTRY_INTERRUPTION_INFO));
  setCore(E_INTR_ERROR, read12(v, ENTRY_EXCEPTION_ERROR_CODE));
  setCore(E_INSTRUCTION_LENGTH, read12(v, ENTRY_INSTRUCTION_LENGTH));
}

// (also SVM's merge, src/vmm/svm/svm-run.ts)
export function mergeCrMask(maskField: u32, shadowField: u32, crField: u32, l0Mask: u32, l1Mask: u32, l1Shadow: u32): void {
  setCore(maskField, l0Mask | l1Mask);
  setCore(shadowField, (l1Shadow & l1Mask) | (core(crField) & ~l1Mask));
}

// ---- VM exit to L1 (SDM 28) ------------------------------------------------------------------

// The exit's information in vmcs12 (SDM 28.2): the reason, then, from the core's exit-information
// fields, what L1 is told of it (`informed`; false for an entry failure or an interrupt L0 held
// for L1, whose qualification is `qualification` and nothing else): instruction information only
// for string I/O and the VMX instructions, interruption information only for exceptions, and the
// IDT-vectoring information when the exit happened during an event's delivery (the core's
// X_VECTORING_INFO; its error code only if the event pushed one, SDM 27.2.4). Bit 12 of either
// (NMI unblocking by IRET) stays 0: the CPU keeps no NMI blocking to undo.
export function writeExitInformation(v: u32, reason: u32, informed: bool, qualification: u32): void {
  let length: u32 = 0, info: u32 = 0, linear: u32 = 0, interruption: u32 = 0, interruptionError: u32 = 0;
  let vectoring: u32 = 0, vectoringError: u32 = 0;
  if (informed) {
    qualification = core(X_QUALIFICATION);
    length = core(X_INSTRUCTION_LENGTH);
    const stringIo = reason == EXIT_IO && (qualification & IOQ_STRING) != 0;
    if (stringIo || (reason >= <u32>EXIT_VMCLEAR && reason <= <u32>EXIT_VMXON)) info = core(X_INSTRUCTION_INFO);
    if (stringIo) linear = core(X_GUEST_LINEAR);
    if (reason == EXIT_EXCEPTION) {
      interruption = core(X_INTR_INFO);
      interruptionError = core(X_INTR_ERROR);
    }
    vectoring = core(X_VECTORING_INFO);
    if (vectoring & INTR_HAS_ERROR) vectoringError = core(X_VECTORING_ERROR);
  }
  write12(v, EXIT_REASON, reason);
  write12(v, EXIT_QUALIFICATION, qualification);
  write12(v, EXIT_INSTRUCTION_LENGTH, length);
  write12(v, EXIT_INSTRUCTION_INFO, info);
  write12(v, GUEST_LINEAR_ADDRESS, linear);
  write12(v, EXIT_INTERRUPTION_INFO, interruption);
  write12(v, EXIT_INTERRUPTION_ERROR_CODE, interruptionError);
  write12(v, IDT_VECTORING_INFO, vectoring);
  write12(v, IDT_VECTORING_ERROR_CODE, vectoringError);
}

// L2's state into vmcs12's guest-state area (SDM 28.3), and the entry's event consumed: the
// VM-entry interruption information's valid bit is cleared (28.3).
export function saveL2State(v: u32): void {
  copyState(v, false);
  for (let i: u32 = 0; i <= <u32>SR_TR; i++) write12(v, GUEST_ES_SELECTOR + 2 * i, core(G_SEG + i * SEG_STRIDE + SEG_SEL) & 0xffff);
  write12(v, GUEST_CR0, core(G_CR0));
  write12(v, GUEST_INTERRUPTIBILITY, core(G_INTERRUPTIBILITY) & 3);
  write12(v, GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
  write12(v, ENTRY_INTERRUPTION_INFO, read12(v, ENTRY_INTERRUPTION_INFO) & ~INTR_VALID);
}

// Host segments after an exit (SDM 28.5.2): flat 4 GiB, 32-bit, accessed; TR a busy 32-bit TSS of
// limit 67H; LDTR unusable. A null selector leaves a data segment unusable.

const AR_CODE: u32 = 0xc09b;
const AR_DATA: u32 = 0xc093;
const AR_TSS: u32 = 0x8b;
const EFLAGS_FIXED: u32 = 2;
const DR7_AFTER_EXIT: u32 = 0x400;
const DESCRIPTOR_TABLE_LIMIT_AFTER_EXIT: u32 = 0xffff;

function setSegment(sreg: u32, selector: u32, base: u32, limit: u32, ar: u32): void {
  const seg = G_SEG + sreg * SEG_STRIDE;
  setCore(seg + SEG_SEL, selector);
  setCore(seg + SEG_BASE, base);
  setCore(seg + SEG_LIMIT, limit);
  setCore(seg + SEG_AR, ar);
}

// L1's host state from vmcs12 into the core (SDM 28.5): L1 runs on at HOST_RIP. L0 keeps the read
// shadows of the CR bits it owns equal to L1's registers, which come from the host state now.
export function loadHostState(v: u32): void {
  setCore(G_CR0, read12(v, HOST_CR0) | CR0_ET);
  setCore(G_CR3, read12(v, HOST_CR3));
  setCore(G_CR4, read12(v, HOST_CR4));
  setCore(G_DR + 7 * 4, DR7_AFTER_EXIT);
  for (let sreg: u32 = 0; sreg <= <u32>SR_GS; sreg++) {
    const selector = read12(v, HOST_ES_SELECTOR + 2 * sreg) & 0xffff;
    const base = sreg == SR_FS ? read12(v, HOST_FS_BASE) : sreg == SR_GS ? read12(v, HOST_GS_BASE) : 0;
    const ar = sreg == SR_CS ? AR_CODE : selector != 0 ? AR_DATA : AR_DATA | AR_UNUSABLE;
    setSegment(sreg, selector, base, 0xffffffff, ar);
  }
  setSegment(SR_LDTR, 0, 0, 0, AR_UNUSABLE);
  setSegment(SR_TR, read12(v, HOST_TR_SELECTOR) & 0xffff, read12(v, HOST_TR_BASE), 0x67, AR_TSS);
  setCore(G_GDTR_BASE, read12(v, HOST_GDTR_BASE));
  setCore(G_GDTR_LIMIT, DESCRIPTOR_TABLE_LIMIT_AFTER_EXIT);
  setCore(G_IDTR_BASE, read12(v, HOST_IDTR_BASE));
  setCore(G_IDTR_LIMIT, DESCRIPTOR_TABLE_LIMIT_AFTER_EXIT);
  setCore(G_REGS + 4 * 4, read12(v, HOST_RSP)); // ESP
  setCore(G_EIP, read12(v, HOST_RIP));
  setCore(G_EFLAGS, EFLAGS_FIXED);
  setCore(G_MSR_SYSENTER_CS, read12(v, HOST_SYSENTER_CS));
  setCore(G_MSR_SYSENTER_ESP, read12(v, HOST_SYSENTER_ESP));
  setCore(G_MSR_SYSENTER_EIP, read12(v, HOST_SYSENTER_EIP));
  settleL1AfterExit();
}

// The end of every exit to L1's host state, under VMX or SVM: nothing blocks, waits or is injected,
// L0's read shadows of the CR bits it owns show L1's registers, and everything derived is recomputed.
export function settleL1AfterExit(): void {
  setCore(G_INTERRUPTIBILITY, 0);
  setCore(G_ACTIVITY, 0);
  setCore(E_INTR_INFO, 0);
  setCore(C_CR0_SHADOW, core(G_CR0));
  setCore(C_CR4_SHADOW, core(G_CR4));
  setCore(C_CLEAN_FIELDS, 0);
}

// L1 runs again after an exit of L2's: the record says so, L0's controls for L1 come back with the
// VMCS link pointer L1 runs with, and L1's host state is loaded.
export function resumeL1(v: u32): void {
  store<u32>(area + LS_L2_VMCS, LS_NONE);
  restoreL1Controls();
  const link = load<u32>(area + LS_L1_LINK);
  setCore(C_SECONDARY, link != LS_NONE ? CTL2_VMCS_SHADOWING : 0);
  setCore(C_VMCS_LINK, link);
  loadHostState(v);
}

// ---- The switches the core makes itself --------------------------------------------------------

const REGION_BYTES: u32 = 0x1000;
const REGION_LAUNCH_STATE: u32 = 8;
const LAUNCHED: u32 = 1;

// At an exit, before the VMM is called: true when the core made the level switch the VMM would have
// made for it, and the guest goes on (at the other level). Only when the VMM allows it
// (LS_ENABLED: nothing watches exits one by one, no interrupt waits, so the VMM would do nothing at
// this switch beyond what is done here), and only what needs none of the VMM's own state: entries
// whose checks all pass and that load no MSRs, and L2's CPUID, which L1 always asks for
// (src/vmm/nested/l2-exits.ts), when L1 has no VM-exit MSR areas. Under SVM, VMRUN and L2's CPUID
// #VMEXIT likewise (svm-switch.ts). Anything else, failures included, goes to the VMM as before,
// which fails it as the SDM (or the APM) says.
export function switchInCore(reason: u32): bool {
  if (!load<u32>(area + LS_ENABLED)) return false;
  if (reason == EXIT_CPUID) return load<u32>(area + LS_SVM_L2) != SVM_L2_NONE ? cpuidVmexitInCore() : reflectCpuid();
  if (reason == EXIT_VMRESUME || reason == EXIT_VMLAUNCH) return enterL2(reason == EXIT_VMLAUNCH);
  if (reason == EXIT_SVM_VMRUN) return vmrunInCore();
  return false;
}

// Whether the 4 KiB page at guest-physical `v` (a vmcs12 region, a VMCB, a host save area) is in RAM.
@inline export function inRam(v: u32): bool { return ramSize >= REGION_BYTES && v <= ramSize - REGION_BYTES; }

// One more of the switches the core made, at `counter` in the area.
export function count(counter: u32): void { store<u64>(area + counter, load<u64>(area + counter) + 1); }

// L1's VMRESUME (or VMLAUNCH) in VMX operation at CPL 0, with a current VMCS in the right launch
// state whose checks pass (the VMM's handleEntry() and enterL2(), in their order).
function enterL2(launch: bool): bool {
  const v = load<u32>(area + LS_L1_VMCS);
  if (v == LS_NONE || load<u32>(area + LS_L2_VMCS) != LS_NONE || !inRam(v)) return false;
  if (core(G_CPL) != 0 || (core(G_INTERRUPTIBILITY) & INTERRUPTIBILITY_MOV_SS)) return false;
  const launched = load<u32>(ramBase + v + REGION_LAUNCH_STATE) == LAUNCHED;
  if (launch == launched) return false;
  if (!entryControlsValid(v) || !hostStateValid(v) || guestStateCheck(v) != GUEST_STATE_VALID) return false;
  if (read12(v, ENTRY_MSR_LOAD_COUNT) != 0) return false;
  saveL1Controls();
  loadL2State(v);
  if (launch) store<u32>(ramBase + v + REGION_LAUNCH_STATE, LAUNCHED);
  mergeControls(v, true);
  store<u32>(area + LS_L2_VMCS, v);
  // L2's VMREAD and VMWRITE are L1's exits: no shadowing while L2 runs.
  setCore(C_SECONDARY, 0);
  setCore(C_VMCS_LINK, LS_NONE);
  // (What the VMM's interrupt injector does after an entry with nothing waiting leaves the controls as merged.)
  count(launch ? LS_VMLAUNCHES_LO : LS_VMRESUMES_LO);
  return true;
}

// L2's CPUID, reflected into L1 (the VMM's reflectExit()).
function reflectCpuid(): bool {
  const v = load<u32>(area + LS_L2_VMCS);
  if (v == LS_NONE || !inRam(v)) return false;
  if (read12(v, EXIT_MSR_STORE_COUNT) != 0 || read12(v, EXIT_MSR_LOAD_COUNT) != 0) return false;
  writeExitInformation(v, EXIT_CPUID, true, 0);
  saveL2State(v);
  resumeL1(v);
  // What the VMM's interrupt injector does after the switch with nothing waiting: no window exits.
  setCore(C_PRIMARY, core(C_PRIMARY) & ~CTL_INTERRUPT_WINDOW);
  count(LS_REFLECTED_CPUID_LO);
  return true;
}

// Whether L2 runs now, under VMX or SVM (the core completes none of L2's exits for L0: they are L1's to see first).
export function l2Runs(): bool { return load<u32>(area + LS_L2_VMCS) != LS_NONE || load<u32>(area + LS_SVM_L2) != 0; }

// L1's STGI (`set`) or CLGI, its checks passed: true when it completed here, with no exit. Only
// while L1 runs (L2's may wake its virtual interrupt: svm-run.ts) and no interrupt waits (which
// the VMM delivers as GIF is set), outside emulate()'s one-instruction run.
export function globalInterruptFlagInCore(set: bool): bool {
  if (emulating || l2Runs() || load<u32>(area + LS_INTERRUPTS_WAIT) != 0) return false;
  store<u32>(area + LS_SVM_GIF_CLEAR, set ? 0 : 1);
  return true;
}
