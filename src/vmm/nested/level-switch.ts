// Switching the one guest CPU between L1 and L2. The core has one VMCS (KVM would say vmcs02
// while L2 runs, vmcs01 while L1 does): L0 runs L2 on it by loading L2's guest state from L1's
// VMCS (vmcs12) and merging L1's controls into its own (prepare_vmcs02 in KVM's nested.c), and
// goes back to L1 by saving L2's state into vmcs12 and loading L1's host state from it
// (load_vmcs12_host_state; Bochs' VMexit). L0's own controls for L1 are kept aside meanwhile.
// What VM entry and exit do not load passes through, as on hardware: the general registers but
// ESP, CR2, DR0-DR6. The TSC offset is L0's for L1, plus L1's for L2 with TSC offsetting.

import {
  C_CLEAN_FIELDS, C_CR_INTERCEPTS, C_CR0_MASK, C_CR0_SHADOW, C_CR3_TARGETS, C_CR3_TARGET_COUNT, C_CR4_MASK, C_CR4_SHADOW,
  C_EXCEPTION_BITMAP, C_PIN, C_PREEMPTION_TIMER, C_PRIMARY, CTL_CR3_LOAD_EXITING, CTL_CR3_STORE_EXITING, CTL_HLT_EXITING,
  CTL_INTERRUPT_WINDOW, CTL_INVLPG_EXITING, CTL_RDTSC_EXITING, CTL_UNCONDITIONAL_IO, E_INSTRUCTION_LENGTH, E_INTR_ERROR,
  E_INTR_INFO, G_ACTIVITY, G_CR0, G_CR3, G_CR4, G_DR, G_EFLAGS, G_EIP, G_GDTR_BASE, G_GDTR_LIMIT, G_IDTR_BASE,
  G_IDTR_LIMIT, G_INTERRUPTIBILITY, G_REGS, G_MSR_SYSENTER_CS, G_MSR_SYSENTER_EIP, G_MSR_SYSENTER_ESP, G_TSC_HI, G_TSC_LO,
  G_SEG, SEG_AR, SEG_BASE, SEG_LIMIT, SEG_SEL, SEG_STRIDE, SR_CS, SR_LDTR, SR_TR,
} from "../../../assembly/vmcs-layout.js";
import { Reg, type Vmcs } from "../../core/vmcs.js";
import { CR0_ET } from "../control-registers.js";
import { setTscOffset, tscOffset } from "../virtual-tsc.js";
import { SLOT_WORD, VMCS_FIELD as F } from "./vmcs12-fields.js";
import type { Vmcs12 } from "./vmcs12.js";

/** The core's control fields L0 keeps for L1 while L2 runs (not the live budget or the clean bits). */
const L1_CONTROL_WORDS = (() => {
  const words: number[] = [];
  for (let at = C_PIN; at < C_CLEAN_FIELDS + 8; at += 4) if (at !== C_PREEMPTION_TIMER && at !== C_CLEAN_FIELDS) words.push(at);
  return [...words, C_CR_INTERCEPTS, G_TSC_LO, G_TSC_HI];
})();

/** Where the saved controls keep the words mergeControls() and l0InterceptsException() read. */
const SAVED_EXCEPTION_BITMAP = L1_CONTROL_WORDS.indexOf(C_EXCEPTION_BITMAP);
const SAVED_CR0_MASK = L1_CONTROL_WORDS.indexOf(C_CR0_MASK);
const SAVED_CR4_MASK = L1_CONTROL_WORDS.indexOf(C_CR4_MASK);

/** L0's controls for L1 (and L1's TSC offset), to give back at the exit to L1. */
export function saveL1Controls(vmcs: Vmcs): number[] {
  const saved = new Array<number>(L1_CONTROL_WORDS.length);
  for (let i = 0; i < L1_CONTROL_WORDS.length; i++) saved[i] = vmcs.get(L1_CONTROL_WORDS[i]);
  return saved;
}

export function restoreL1Controls(vmcs: Vmcs, saved: readonly number[]): void {
  for (let i = 0; i < L1_CONTROL_WORDS.length; i++) vmcs.set(L1_CONTROL_WORDS[i], saved[i]);
  vmcs.set(C_CLEAN_FIELDS, 0);
}

/** L0's own exception bitmap for L1, among the saved controls. */
export function l0ExceptionBitmap(saved: readonly number[]): number {
  return saved[SAVED_EXCEPTION_BITMAP];
}

/** L0's own CR0 (cr 0) or CR4 (cr 4) guest/host mask for L1, among the saved controls. */
export function l0CrMask(saved: readonly number[], cr: 0 | 4): number {
  return saved[cr === 0 ? SAVED_CR0_MASK : SAVED_CR4_MASK];
}

/** Whether L0's own exception bitmap for L1 (among the saved controls) takes `vector`. */
export function l0InterceptsException(saved: readonly number[], vector: number): boolean {
  return ((saved[SAVED_EXCEPTION_BITMAP] >>> vector) & 1) === 1;
}

const CTL_TSC_OFFSETTING = 1 << 3;
/** The primary controls the core carries out for L1 as they are (the others L0 decides at the exit). */
const L1_PRIMARY_IN_CORE = CTL_INTERRUPT_WINDOW | CTL_INVLPG_EXITING | CTL_RDTSC_EXITING | CTL_CR3_LOAD_EXITING | CTL_CR3_STORE_EXITING;
const PF_VECTOR_BIT = 1 << 14;

/**
 * The guest-state fields an entry loads and an exit saves as they are (SDM 27.3.2, 28.3), as word
 * copies between the core's VMCS and vmcs12's slots, listed once: a level switch copies ~35 words
 * each way, and field-by-field calls were ~10 % of an L2 round trip. CR0, the selectors, the
 * interruptibility state and the pending debug exceptions are not plain copies (below).
 */
const STATE_COPIES = (() => {
  const pairs: Array<[number, number]> = [
    [G_CR3, F.GUEST_CR3], [G_CR4, F.GUEST_CR4], [G_DR + 7 * 4, F.GUEST_DR7],
    [G_GDTR_BASE, F.GUEST_GDTR_BASE], [G_GDTR_LIMIT, F.GUEST_GDTR_LIMIT], [G_IDTR_BASE, F.GUEST_IDTR_BASE], [G_IDTR_LIMIT, F.GUEST_IDTR_LIMIT],
    [G_REGS + 4 * Reg.ESP, F.GUEST_RSP], [G_EIP, F.GUEST_RIP], [G_EFLAGS, F.GUEST_RFLAGS],
    [G_MSR_SYSENTER_CS, F.GUEST_SYSENTER_CS], [G_MSR_SYSENTER_ESP, F.GUEST_SYSENTER_ESP], [G_MSR_SYSENTER_EIP, F.GUEST_SYSENTER_EIP],
    [G_ACTIVITY, F.GUEST_ACTIVITY_STATE],
  ];
  for (let i = 0; i <= SR_TR; i++) {
    const at = G_SEG + i * SEG_STRIDE;
    pairs.push([at + SEG_BASE, F.GUEST_ES_BASE + 2 * i], [at + SEG_LIMIT, F.GUEST_ES_LIMIT + 2 * i], [at + SEG_AR, F.GUEST_ES_ACCESS_RIGHTS + 2 * i]);
  }
  const slots = Int32Array.from(pairs, ([, field]) => SLOT_WORD[field]);
  if (slots.includes(-1)) throw new Error("level-switch.ts: a guest-state field without a slot in vmcs12");
  return { core: Int32Array.from(pairs, ([at]) => at >> 2), slots };
})();

const SELECTOR_SLOTS = Int32Array.from({ length: SR_TR + 1 }, (_, i) => SLOT_WORD[F.GUEST_ES_SELECTOR + 2 * i]);
const CR0_SLOT = SLOT_WORD[F.GUEST_CR0];
const INTERRUPTIBILITY_SLOT = SLOT_WORD[F.GUEST_INTERRUPTIBILITY];

/** L2's guest state from vmcs12 into the core (SDM 27.3.2). */
export function loadL2State(vmcs: Vmcs, v: Vmcs12): void {
  const core = vmcs.i32, words = v.words, coreAt = STATE_COPIES.core, slots = STATE_COPIES.slots;
  for (let i = 0; i < coreAt.length; i++) core[coreAt[i]] = words[slots[i]];
  for (let i = 0; i <= SR_TR; i++) core[(G_SEG + i * SEG_STRIDE + SEG_SEL) >> 2] = words[SELECTOR_SLOTS[i]] & 0xffff;
  core[G_CR0 >> 2] = words[CR0_SLOT] | CR0_ET;
  core[G_INTERRUPTIBILITY >> 2] = words[INTERRUPTIBILITY_SLOT] & 3;
  core[C_CLEAN_FIELDS >> 2] = 0; // the copies above went past Vmcs.set()'s bookkeeping
}

/**
 * The controls L2 runs under: L0's for L1 merged with L1's (prepare_vmcs02_early and friends),
 * so that an exit either asked for happens. L0 always takes HLT and every port (its bus decides
 * what a port is); the core carries out L1's interrupt-window, INVLPG, RDTSC, CR3-load (with L1's
 * CR3-target list) and CR3-store exiting itself; L1's I/O and MSR bitmaps are read at the exit
 * (l2-exits.ts). The CR0/CR4 masks are the union of both; a bit only L0 owns shows L2 its real value.
 */
export function mergeControls(vmcs: Vmcs, v: Vmcs12, l1: readonly number[]): void {
  const primary = v.read(F.PRIMARY_CONTROLS);
  vmcs.set(C_PIN, 0);
  vmcs.set(C_PRIMARY, CTL_HLT_EXITING | CTL_UNCONDITIONAL_IO | (primary & L1_PRIMARY_IN_CORE));
  // A #PF exits under L1's mask and match even with bit 14 clear: let the core exit for every #PF then.
  const pfMayExit = v.read(F.PAGE_FAULT_ERROR_MASK) !== 0 || v.read(F.PAGE_FAULT_ERROR_MATCH) !== 0;
  vmcs.set(C_EXCEPTION_BITMAP, l1[SAVED_EXCEPTION_BITMAP] | v.read(F.EXCEPTION_BITMAP) | (pfMayExit ? PF_VECTOR_BIT : 0));
  mergeCrMask(vmcs, C_CR0_MASK, C_CR0_SHADOW, G_CR0, l1[SAVED_CR0_MASK], v.read(F.CR0_GUEST_HOST_MASK), v.read(F.CR0_READ_SHADOW));
  mergeCrMask(vmcs, C_CR4_MASK, C_CR4_SHADOW, G_CR4, l1[SAVED_CR4_MASK], v.read(F.CR4_GUEST_HOST_MASK), v.read(F.CR4_READ_SHADOW));
  const targets = primary & CTL_CR3_LOAD_EXITING ? v.read(F.CR3_TARGET_COUNT) : 0;
  vmcs.set(C_CR3_TARGET_COUNT, targets);
  for (let slot = 0; slot < 4; slot++) vmcs.set(C_CR3_TARGETS + 4 * slot, slot < targets ? v.read(F.CR3_TARGET_0 + 2 * slot) : 0);
  if (primary & CTL_TSC_OFFSETTING) setTscOffset(vmcs, tscOffset(vmcs) + tscOffsetOf(v));
  vmcs.set(E_INTR_INFO, v.read(F.ENTRY_INTERRUPTION_INFO));
  vmcs.set(E_INTR_ERROR, v.read(F.ENTRY_EXCEPTION_ERROR_CODE));
  vmcs.set(E_INSTRUCTION_LENGTH, v.read(F.ENTRY_INSTRUCTION_LENGTH));
  vmcs.set(C_CLEAN_FIELDS, 0);
}

/**
 * A CR0/CR4 guest/host mask for L2: the union of L0's and L1's; the read shadow is L1's for L1's
 * bits and L2's real value for the bits only L0 owns.
 */
export function mergeCrMask(vmcs: Vmcs, maskField: number, shadowField: number, crField: number, l0Mask: number, l1Mask: number, l1Shadow: number): void {
  vmcs.set(maskField, l0Mask | l1Mask);
  vmcs.set(shadowField, (l1Shadow & l1Mask) | (vmcs.get(crField) & ~l1Mask));
}

/** The 64-bit TSC offset of vmcs12, two's complement, as a number. */
function tscOffsetOf(v: Vmcs12): number {
  return v.read(F.TSC_OFFSET) + (v.read(F.TSC_OFFSET + 1) | 0) * 0x1_0000_0000;
}

/** L2's state into vmcs12's guest-state area at an exit (SDM 28.3). */
export function saveL2State(vmcs: Vmcs, v: Vmcs12): void {
  const core = vmcs.i32, words = v.words, coreAt = STATE_COPIES.core, slots = STATE_COPIES.slots;
  for (let i = 0; i < coreAt.length; i++) words[slots[i]] = core[coreAt[i]];
  for (let i = 0; i <= SR_TR; i++) words[SELECTOR_SLOTS[i]] = core[(G_SEG + i * SEG_STRIDE + SEG_SEL) >> 2] & 0xffff;
  words[CR0_SLOT] = core[G_CR0 >> 2];
  words[INTERRUPTIBILITY_SLOT] = core[G_INTERRUPTIBILITY >> 2] & 3;
  words[SLOT_WORD[F.GUEST_PENDING_DEBUG_EXCEPTIONS]] = 0;
}

// Host segments after an exit (SDM 28.5.2): flat 4 GiB, 32-bit, accessed; TR a busy 32-bit TSS of
// limit 67H; LDTR unusable. A null selector leaves a data segment unusable.
const AR_CODE = 0xc09b;
const AR_DATA = 0xc093;
const AR_TSS = 0x8b;
const AR_UNUSABLE = 0x10000;
const HOST_SELECTORS = [F.HOST_ES_SELECTOR, F.HOST_CS_SELECTOR, F.HOST_SS_SELECTOR, F.HOST_DS_SELECTOR, F.HOST_FS_SELECTOR, F.HOST_GS_SELECTOR];
const EFLAGS_FIXED = 2;
const DR7_AFTER_EXIT = 0x400;
const DESCRIPTOR_TABLE_LIMIT_AFTER_EXIT = 0xffff;

/** L1's host state from vmcs12 into the core (SDM 28.5): L1 runs on at HOST_RIP. */
export function loadHostState(vmcs: Vmcs, v: Vmcs12): void {
  vmcs.set(G_CR0, v.read(F.HOST_CR0) | CR0_ET);
  vmcs.set(G_CR3, v.read(F.HOST_CR3));
  vmcs.set(G_CR4, v.read(F.HOST_CR4));
  vmcs.set(G_DR + 7 * 4, DR7_AFTER_EXIT);
  for (let sreg = 0; sreg < HOST_SELECTORS.length; sreg++) {
    const selector = v.read(HOST_SELECTORS[sreg]) & 0xffff;
    const base = sreg === 4 ? v.read(F.HOST_FS_BASE) : sreg === 5 ? v.read(F.HOST_GS_BASE) : 0;
    const usable = sreg === SR_CS || selector !== 0;
    vmcs.setSegmentFields(sreg, selector, base, 0xffffffff, sreg === SR_CS ? AR_CODE : usable ? AR_DATA : AR_DATA | AR_UNUSABLE);
  }
  vmcs.setSegmentFields(SR_LDTR, 0, 0, 0, AR_UNUSABLE);
  vmcs.setSegmentFields(SR_TR, v.read(F.HOST_TR_SELECTOR) & 0xffff, v.read(F.HOST_TR_BASE), 0x67, AR_TSS);
  vmcs.set(G_GDTR_BASE, v.read(F.HOST_GDTR_BASE));
  vmcs.set(G_GDTR_LIMIT, DESCRIPTOR_TABLE_LIMIT_AFTER_EXIT);
  vmcs.set(G_IDTR_BASE, v.read(F.HOST_IDTR_BASE));
  vmcs.set(G_IDTR_LIMIT, DESCRIPTOR_TABLE_LIMIT_AFTER_EXIT);
  vmcs.setReg(Reg.ESP, v.read(F.HOST_RSP));
  vmcs.set(G_EIP, v.read(F.HOST_RIP));
  vmcs.set(G_EFLAGS, EFLAGS_FIXED);
  vmcs.set(G_MSR_SYSENTER_CS, v.read(F.HOST_SYSENTER_CS));
  vmcs.set(G_MSR_SYSENTER_ESP, v.read(F.HOST_SYSENTER_ESP));
  vmcs.set(G_MSR_SYSENTER_EIP, v.read(F.HOST_SYSENTER_EIP));
  vmcs.set(G_INTERRUPTIBILITY, 0);
  vmcs.set(G_ACTIVITY, 0);
  vmcs.set(E_INTR_INFO, 0);
  vmcs.set(C_CLEAN_FIELDS, 0);
}
