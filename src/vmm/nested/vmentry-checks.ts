// The checks of VMLAUNCH and VMRESUME on L1's current VMCS (SDM Vol. 3C 27.2 and 27.3.1), for what
// this CPU offers (32 bits, no unrestricted guest, no secondary controls, activity states active
// and HLT). Control failures are VMfailValid 7, host-state failures VMfailValid 8: L1 goes on after
// the instruction. Guest-state failures are an entry-failure exit 33 (nested-entry.ts).
//  - controls: each control field against its capability MSR; the CR3-target count; the I/O and
//    MSR bitmap addresses when their controls are on; the MSR-load/store areas (16-byte aligned,
//    inside 32 bits); the VM-entry interruption information (26.2.1.3);
//  - host state: the CR0/CR4 fixed bits; the selectors (RPL and TI clear, CS and TR not null, SS
//    not null with a 32-bit host);
//  - guest state: CR0/CR4 fixed bits, DR7, RFLAGS, the segment registers (protected mode, or
//    virtual-8086 mode with RFLAGS.VM), GDTR/IDTR limits, activity and interruptibility state,
//    pending debug exceptions and the VMCS link pointer.

import { CTL_USE_IO_BITMAPS } from "../../../assembly/vmcs-layout.js";
import {
  CR3_TARGET_COUNT,
  ENTRY_CONTROLS,
  EXIT_CONTROLS,
  PIN_CONTROLS,
  PRIMARY_CONTROLS,
  VMCS_REVISION,
  controlsAllowed,
  crFixedBitsHold,
} from "./vmx-capabilities.js";
import { REGION_REVISION, VMCS_FIELD as F } from "./vmcs12-fields.js";
import { regionInRam, readRegionWord, type Vmcs12 } from "./vmcs12.js";

export const USE_MSR_BITMAPS = 1 << 28;
const SELECTOR_RPL_TI = 7;
const SELECTOR_TI = 4;

/** Interruption-information fields (SDM 24.8.3): vector 7:0, type 10:8, error code 11, valid 31. */
export const INTERRUPTION_VALID = 1 << 31;
const INTERRUPTION_RESERVED = 0x7ffff000;
const TYPE_EXTERNAL = 0;
const TYPE_NMI = 2;
const TYPE_HW_EXCEPTION = 3;
const TYPE_SW_INTERRUPT = 4;
const TYPE_PRIV_SW_EXCEPTION = 5;
const TYPE_SW_EXCEPTION = 6;
/** The exceptions that push an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC. */
const ERROR_CODE_VECTORS = new Set([8, 10, 11, 12, 13, 14, 17]);

export function entryControlsValid(v: Vmcs12): boolean {
  const primary = v.read(F.PRIMARY_CONTROLS);
  return (
    controlsAllowed(v.read(F.PIN_CONTROLS), PIN_CONTROLS) &&
    controlsAllowed(primary, PRIMARY_CONTROLS) &&
    controlsAllowed(v.read(F.EXIT_CONTROLS), EXIT_CONTROLS) &&
    controlsAllowed(v.read(F.ENTRY_CONTROLS), ENTRY_CONTROLS) &&
    v.read(F.CR3_TARGET_COUNT) <= CR3_TARGET_COUNT &&
    (!(primary & CTL_USE_IO_BITMAPS) || (v.addressValid(F.IO_BITMAP_A) && v.addressValid(F.IO_BITMAP_B))) &&
    (!(primary & USE_MSR_BITMAPS) || v.addressValid(F.MSR_BITMAP)) &&
    msrAreaValid(v, F.EXIT_MSR_STORE_ADDRESS, F.EXIT_MSR_STORE_COUNT) &&
    msrAreaValid(v, F.EXIT_MSR_LOAD_ADDRESS, F.EXIT_MSR_LOAD_COUNT) &&
    msrAreaValid(v, F.ENTRY_MSR_LOAD_ADDRESS, F.ENTRY_MSR_LOAD_COUNT) &&
    entryEventValid(v)
  );
}

/** An MSR-load/store area with entries: 16-byte aligned, and its last byte within 32 bits. */
function msrAreaValid(v: Vmcs12, address: number, count: number): boolean {
  const entries = v.read(count);
  if (entries === 0) return true;
  const low = v.read(address);
  return v.read(address + 1) === 0 && (low & 15) === 0 && low + entries * 16 - 1 <= 0xffffffff;
}

/** The VM-entry interruption information (SDM 26.2.1.3) of an event to inject. */
function entryEventValid(v: Vmcs12): boolean {
  const info = v.read(F.ENTRY_INTERRUPTION_INFO);
  if (!(info & INTERRUPTION_VALID)) return true;
  const vector = info & 0xff;
  const type = (info >>> 8) & 7;
  const errorCode = (info & (1 << 11)) !== 0;
  if (info & INTERRUPTION_RESERVED) return false;
  if (type === 1 || type === 7) return false; // reserved; "other event" needs the monitor trap flag
  if (type === TYPE_NMI && vector !== 2) return false;
  if (type === TYPE_HW_EXCEPTION && vector > 31) return false;
  // Protected mode is certain (guest CR0.PE is fixed to 1): hardware exceptions with an error code deliver one.
  if (errorCode !== (type === TYPE_HW_EXCEPTION && ERROR_CODE_VECTORS.has(vector))) return false;
  if (errorCode && v.read(F.ENTRY_EXCEPTION_ERROR_CODE) >>> 15 !== 0) return false;
  if (type === TYPE_SW_INTERRUPT || type === TYPE_PRIV_SW_EXCEPTION || type === TYPE_SW_EXCEPTION) {
    const length = v.read(F.ENTRY_INSTRUCTION_LENGTH);
    if (length < 1 || length > 15) return false; // IA32_VMX_MISC bit 30 (length 0 allowed) is clear
  }
  return true;
}

export function hostStateValid(v: Vmcs12): boolean {
  const selectors = [F.HOST_ES_SELECTOR, F.HOST_CS_SELECTOR, F.HOST_SS_SELECTOR, F.HOST_DS_SELECTOR, F.HOST_FS_SELECTOR, F.HOST_GS_SELECTOR, F.HOST_TR_SELECTOR];
  return (
    crFixedBitsHold(v.read(F.HOST_CR0), v.read(F.HOST_CR4)) &&
    selectors.every((selector) => (v.read(selector) & SELECTOR_RPL_TI) === 0) &&
    [F.HOST_CS_SELECTOR, F.HOST_SS_SELECTOR, F.HOST_TR_SELECTOR].every((selector) => (v.read(selector) & 0xffff) !== 0)
  );
}

// ---- Guest state (SDM 27.3.1) ---------------------------------------------------------------

/** The check a guest state fails, and the entry-failure exit's qualification (4 for the link pointer). */
export type GuestStateFailure = { check: string; qualification: number };

const EXIT_QUALIFICATION_LINK_POINTER = 4;

// Access rights (VMCS format): type 3:0, S 4, DPL 6:5, P 7, reserved 11:8, AVL 12, L 13, D/B 14,
// G 15, unusable 16, reserved 31:17.
const AR_S = 1 << 4;
const AR_P = 1 << 7;
const AR_G = 1 << 15;
const AR_UNUSABLE = 1 << 16;
const AR_RESERVED = 0xfffe0f00 & ~AR_UNUSABLE;
const dpl = (ar: number) => (ar >>> 5) & 3;

// RFLAGS: bit 1 is 1; bits 3, 5, 15 and 31:22 are 0. VM is bit 17, IF bit 9.
const RFLAGS_RESERVED = 0xffc08028;
const RFLAGS_VM = 1 << 17;
const RFLAGS_IF = 1 << 9;
const ACTIVITY_ACTIVE = 0;
const ACTIVITY_HLT = 1;
const BLOCKING_STI = 1;
const BLOCKING_MOV_SS = 2;
const BLOCKING_SMI = 4;
/** Interruptibility bits 31:5 are reserved; 4 (enclave interruption) needs SGX. */
const INTERRUPTIBILITY_RESERVED = 0xfffffff0;
/** Pending debug exceptions: B3-B0 (3:0), enabled breakpoint (12), BS (14), RTM (16). */
const PENDING_DEBUG_ALLOWED = 0xf | (1 << 12) | (1 << 14) | (1 << 16);

const SEGMENTS = ["ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR"] as const;
interface GuestSegment {
  selector: number;
  base: number;
  limit: number;
  ar: number;
}

/** Guest segment `index` (ES CS SS DS FS GS LDTR TR: the field encodings' order) from the VMCS. */
function guestSegment(v: Vmcs12, index: number): GuestSegment {
  return readGuestSegment(v, index, { selector: 0, base: 0, limit: 0, ar: 0 });
}

function readGuestSegment(v: Vmcs12, index: number, into: GuestSegment): GuestSegment {
  into.selector = v.read(F.GUEST_ES_SELECTOR + 2 * index) & 0xffff;
  into.base = v.read(F.GUEST_ES_BASE + 2 * index);
  into.limit = v.read(F.GUEST_ES_LIMIT + 2 * index);
  into.ar = v.read(F.GUEST_ES_ACCESS_RIGHTS + 2 * index);
  return into;
}

/** The guest segments as the checks below read them, in SEGMENTS' order: filled at each entry, never allocated again. */
const checked: GuestSegment[] = SEGMENTS.map(() => ({ selector: 0, base: 0, limit: 0, ar: 0 }));
const CS = SEGMENTS.indexOf("CS"), SS = SEGMENTS.indexOf("SS"), LDTR = SEGMENTS.indexOf("LDTR"), TR = SEGMENTS.indexOf("TR");
const DATA_SEGMENTS = (["DS", "ES", "FS", "GS"] as const).map((name) => [name, SEGMENTS.indexOf(name)] as const);
/** Sets of segment types as bit masks (bit n: type n). */
const typeIn = (types: number, ar: number) => ((types >>> (ar & 0xf)) & 1) === 1;
const CODE_TYPES = (1 << 9) | (1 << 11) | (1 << 13) | (1 << 15);
const STACK_TYPES = (1 << 3) | (1 << 7);
const TSS_TYPES = (1 << 3) | (1 << 11);

/** G must be 1 when limit bits 31:20 are not all 0, and 0 when bits 11:0 are not all 1. */
function granularityFits({ limit, ar }: GuestSegment): boolean {
  if ((limit & 0xfff) !== 0xfff && ar & AR_G) return false;
  return (limit & 0xfff00000) === 0 || (ar & AR_G) !== 0;
}

/** What every usable segment of protected mode needs besides its type: S (unless system), P, reserved bits, G. */
function presentAndFits(segment: GuestSegment, system: boolean): boolean {
  const { ar } = segment;
  return (ar & AR_S) === (system ? 0 : AR_S) && (ar & AR_P) !== 0 && (ar & AR_RESERVED) === 0 && granularityFits(segment);
}

function protectedModeSegmentsFail(v: Vmcs12): string | undefined {
  for (let i = 0; i < SEGMENTS.length; i++) readGuestSegment(v, i, checked[i]);
  const cs = checked[CS];
  const ss = checked[SS];
  const tr = checked[TR];
  const ldtr = checked[LDTR];
  if (tr.selector & SELECTOR_TI) return "TR selector TI";
  if (!(ldtr.ar & AR_UNUSABLE) && ldtr.selector & SELECTOR_TI) return "LDTR selector TI";
  if ((ss.selector & 3) !== (cs.selector & 3)) return "SS.RPL differs from CS.RPL";
  const csType = cs.ar & 0xf;
  if (!typeIn(CODE_TYPES, cs.ar) || cs.ar & AR_UNUSABLE || !presentAndFits(cs, false)) return "CS access rights";
  if (csType <= 11 ? dpl(cs.ar) !== dpl(ss.ar) : dpl(cs.ar) > dpl(ss.ar)) return "CS.DPL against SS.DPL";
  if (!(ss.ar & AR_UNUSABLE)) {
    if (!typeIn(STACK_TYPES, ss.ar) || !presentAndFits(ss, false)) return "SS access rights";
    if (dpl(ss.ar) !== (ss.selector & 3)) return "SS.DPL differs from SS.RPL";
  }
  for (const [name, index] of DATA_SEGMENTS) {
    const segment = checked[index];
    if (segment.ar & AR_UNUSABLE) continue;
    const type = segment.ar & 0xf;
    if (!(type & 1) || (type & 8 && !(type & 2)) || !presentAndFits(segment, false)) return `${name} access rights`;
    if (type <= 11 && dpl(segment.ar) < (segment.selector & 3)) return `${name}.DPL below its RPL`;
  }
  if (tr.ar & AR_UNUSABLE || !typeIn(TSS_TYPES, tr.ar) || !presentAndFits(tr, true)) return "TR access rights";
  if (!(ldtr.ar & AR_UNUSABLE) && ((ldtr.ar & 0xf) !== 2 || !presentAndFits(ldtr, true))) return "LDTR access rights";
  return undefined;
}

/** Virtual-8086 mode (RFLAGS.VM): CS SS DS ES FS GS are real-mode-like segments with access rights F3H. */
function virtual8086SegmentsFail(v: Vmcs12): string | undefined {
  for (let i = 0; i < 6; i++) {
    const segment = guestSegment(v, i);
    if (segment.base !== segment.selector << 4 || segment.limit !== 0xffff || segment.ar !== 0xf3) return `${SEGMENTS[i]} in virtual-8086 mode`;
  }
  const tr = guestSegment(v, TR);
  if (tr.ar & AR_UNUSABLE || !typeIn(TSS_TYPES, tr.ar) || !presentAndFits(tr, true)) return "TR access rights";
  return undefined;
}

/** The first guest-state check the VMCS fails, or undefined when the entry may load it. */
export function guestStateFailure(v: Vmcs12, ram: Uint8Array): GuestStateFailure | undefined {
  const fail = (check: string | undefined) => (check === undefined ? undefined : { check, qualification: 0 });
  if (!crFixedBitsHold(v.read(F.GUEST_CR0), v.read(F.GUEST_CR4))) return fail("guest CR0/CR4 fixed bits");
  const rflags = v.read(F.GUEST_RFLAGS);
  if (rflags & RFLAGS_RESERVED || !(rflags & 2)) return fail("RFLAGS reserved bits");
  const event = v.read(F.ENTRY_INTERRUPTION_INFO);
  const injectsExternal = (event & INTERRUPTION_VALID) !== 0 && ((event >>> 8) & 7) === TYPE_EXTERNAL;
  if (injectsExternal && !(rflags & RFLAGS_IF)) return fail("RFLAGS.IF clear for an injected external interrupt");
  const segments = rflags & RFLAGS_VM ? virtual8086SegmentsFail(v) : protectedModeSegmentsFail(v);
  if (segments !== undefined) return fail(segments);
  if (v.read(F.GUEST_GDTR_LIMIT) >>> 16 !== 0 || v.read(F.GUEST_IDTR_LIMIT) >>> 16 !== 0) return fail("GDTR/IDTR limit");
  const activity = v.read(F.GUEST_ACTIVITY_STATE);
  if (activity !== ACTIVITY_ACTIVE && activity !== ACTIVITY_HLT) return fail("activity state"); // IA32_VMX_MISC offers HLT only
  if (activity === ACTIVITY_HLT && dpl(guestSegment(v, SS).ar) !== 0) return fail("HLT state with SS.DPL not 0");
  if (activity === ACTIVITY_HLT && event & INTERRUPTION_VALID && !hltWakingEvent(event)) return fail("event that cannot wake the HLT state");
  const blocking = v.read(F.GUEST_INTERRUPTIBILITY);
  if (blocking & INTERRUPTIBILITY_RESERVED || blocking & BLOCKING_SMI) return fail("interruptibility reserved bits");
  if ((blocking & (BLOCKING_STI | BLOCKING_MOV_SS)) === (BLOCKING_STI | BLOCKING_MOV_SS)) return fail("blocking by STI and MOV SS");
  if (blocking & BLOCKING_STI && !(rflags & RFLAGS_IF)) return fail("blocking by STI with RFLAGS.IF clear");
  if (injectsExternal && blocking & (BLOCKING_STI | BLOCKING_MOV_SS)) return fail("blocking against an injected external interrupt");
  if (v.read(F.GUEST_PENDING_DEBUG_EXCEPTIONS) & ~PENDING_DEBUG_ALLOWED) return fail("pending debug exceptions reserved bits");
  if (!linkPointerValid(v, ram)) return { check: "VMCS link pointer", qualification: EXIT_QUALIFICATION_LINK_POINTER };
  return undefined;
}

/** Events an entry in the HLT state may inject: external interrupts, NMI, #DB and #MC (SDM 27.3.1.5). */
function hltWakingEvent(event: number): boolean {
  const type = (event >>> 8) & 7;
  const vector = event & 0xff;
  return type === TYPE_EXTERNAL || type === TYPE_NMI || (type === TYPE_HW_EXCEPTION && (vector === 1 || vector === 18));
}

/** All ones (no VMCS shadowing is offered, so the pointer is unused), or a VMCS region of ours. */
function linkPointerValid(v: Vmcs12, ram: Uint8Array): boolean {
  const low = v.read(F.VMCS_LINK_POINTER);
  const high = v.read(F.VMCS_LINK_POINTER + 1);
  if (low === 0xffffffff && high === 0xffffffff) return true;
  return high === 0 && (low & 0xfff) === 0 && regionInRam(ram, low) && readRegionWord(ram, low, REGION_REVISION) === VMCS_REVISION;
}
