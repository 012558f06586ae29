// The checks of VMLAUNCH and VMRESUME on L1's VMCS (SDM Vol. 3C 27.2 and 27.3.1), for what this CPU
// offers (32 bits, no unrestricted guest, no secondary controls, activity states active and HLT):
// the one implementation, which the VMM's nested code (src/vmm/nested/vmentry-checks.ts) and the
// core's own entry (level-switch.ts) both use. Control failures are VMfailValid 7, host-state
// failures VMfailValid 8; guest-state failures are an entry-failure exit 33 (the VMM's).
//  - controls: each control field against its capability; the CR3-target count; the I/O and MSR
//    bitmap addresses when their controls are on; the MSR-load/store areas (16-byte aligned,
//    inside 32 bits); the VM-entry interruption information (26.2.1.3);
//  - host state: the CR0/CR4 fixed bits; the selectors (RPL and TI clear, CS and TR not null, SS
//    not null with a 32-bit host);
//  - guest state: CR0/CR4 fixed bits, RFLAGS, the segment registers (protected mode, or
//    virtual-8086 mode with RFLAGS.VM), GDTR/IDTR limits, activity and interruptibility state,
//    pending debug exceptions and the VMCS link pointer.
// Every vmcs12 pointer given here is a 4 KiB region inside RAM (VMPTRLD made sure).
import { CTL_USE_IO_BITMAPS, CTL_USE_MSR_BITMAPS, AR_UNUSABLE, INTR_VALID } from "../vmcs-layout";
import { GUEST_STATE_VALID, GUEST_STATE_INVALID, GUEST_STATE_BAD_LINK } from "../level-switch-layout";
import {
  PIN_ALLOWED0, PIN_ALLOWED1, PRIMARY_ALLOWED0, PRIMARY_ALLOWED1, EXIT_ALLOWED0, EXIT_ALLOWED1, ENTRY_ALLOWED0,
  ENTRY_ALLOWED1, CR0_FIXED0, CR4_FIXED0, CR4_FIXED1, CR3_TARGET_COUNT, VMCS_REVISION, VMCS_REGION_SIZE,
} from "../vmx-capability-layout";
import {
  read12, GUEST_ES_SELECTOR, HOST_ES_SELECTOR, HOST_CS_SELECTOR, HOST_SS_SELECTOR, HOST_TR_SELECTOR,
  IO_BITMAP_A, IO_BITMAP_B, MSR_BITMAP, EXIT_MSR_STORE_ADDRESS, EXIT_MSR_LOAD_ADDRESS, ENTRY_MSR_LOAD_ADDRESS,
  VMCS_LINK_POINTER, PIN_CONTROLS, PRIMARY_CONTROLS, CR3_TARGET_COUNT_FIELD, EXIT_CONTROLS,
  EXIT_MSR_STORE_COUNT, EXIT_MSR_LOAD_COUNT, ENTRY_CONTROLS, ENTRY_MSR_LOAD_COUNT, ENTRY_INTERRUPTION_INFO,
  ENTRY_EXCEPTION_ERROR_CODE, ENTRY_INSTRUCTION_LENGTH, GUEST_ES_LIMIT, GUEST_GDTR_LIMIT, GUEST_IDTR_LIMIT,
  GUEST_ES_ACCESS_RIGHTS, GUEST_INTERRUPTIBILITY, GUEST_ACTIVITY_STATE, GUEST_CR0, GUEST_CR4, GUEST_ES_BASE,
  GUEST_RFLAGS, GUEST_PENDING_DEBUG_EXCEPTIONS, HOST_CR0, HOST_CR4,
} from "./vmcs12";
import { ramBase, ramSize } from "../memory/physical";



@inline function allowed(value: u32, allowed0: u32, allowed1: u32): bool {
  return (value & allowed0) == allowed0 && (value & ~allowed1) == 0;
}

// Whether CR0 and CR4 hold the values VMX operation requires (their FIXED0/FIXED1 MSRs).
function crFixedBitsHold(cr0: u32, cr4: u32): bool {
  return (cr0 & <u32>CR0_FIXED0) == <u32>CR0_FIXED0 && (cr4 & CR4_FIXED0) == CR4_FIXED0 && (cr4 & ~CR4_FIXED1) == 0;
}

// A 64-bit address field: page-aligned and within 32 bits (ours are).
function addressValid(v: u32, encoding: u32): bool {
  return read12(v, encoding + 1) == 0 && (read12(v, encoding) & 0xfff) == 0;
}

export function entryControlsValid(v: u32): bool {
  const primary = read12(v, PRIMARY_CONTROLS);
  return (
    allowed(read12(v, PIN_CONTROLS), PIN_ALLOWED0, PIN_ALLOWED1) &&
    allowed(primary, PRIMARY_ALLOWED0, PRIMARY_ALLOWED1) &&
    allowed(read12(v, EXIT_CONTROLS), EXIT_ALLOWED0, EXIT_ALLOWED1) &&
    allowed(read12(v, ENTRY_CONTROLS), ENTRY_ALLOWED0, ENTRY_ALLOWED1) &&
    read12(v, CR3_TARGET_COUNT_FIELD) <= <u32>CR3_TARGET_COUNT &&
    (!(primary & CTL_USE_IO_BITMAPS) || (addressValid(v, IO_BITMAP_A) && addressValid(v, IO_BITMAP_B))) &&
    (!(primary & CTL_USE_MSR_BITMAPS) || addressValid(v, MSR_BITMAP)) &&
    msrAreaValid(v, EXIT_MSR_STORE_ADDRESS, EXIT_MSR_STORE_COUNT) &&
    msrAreaValid(v, EXIT_MSR_LOAD_ADDRESS, EXIT_MSR_LOAD_COUNT) &&
    msrAreaValid(v, ENTRY_MSR_LOAD_ADDRESS, ENTRY_MSR_LOAD_COUNT) &&
    entryEventValid(v)
  );
}

// An MSR-load/store area with entries: 16-byte aligned, and its last byte within 32 bits.
function msrAreaValid(v: u32, address: u32, count: u32): bool {
  const entries = read12(v, count);
  if (entries == 0) return true;
  const low = read12(v, address);
  return read12(v, address + 1) == 0 && (low & 15) == 0 && <u64>low + <u64>entries * 16 - 1 <= 0xffffffff;
}

// Interruption-information fields (SDM 24.8.3): vector 7:0, type 10:8, error code 11, valid 31.
const INTERRUPTION_RESERVED: u32 = 0x7ffff000;
const TYPE_EXTERNAL: u32 = 0;
const TYPE_NMI: u32 = 2;
const TYPE_HW_EXCEPTION: u32 = 3;
const TYPE_SW_INTERRUPT: u32 = 4;
const TYPE_PRIV_SW_EXCEPTION: u32 = 5;
const TYPE_SW_EXCEPTION: u32 = 6;
// The exceptions that push an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC.
const ERROR_CODE_VECTORS: u32 = (1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 17);

// The VM-entry interruption information (SDM 26.2.1.3) of an event to inject.
function entryEventValid(v: u32): bool {
  const info = read12(v, ENTRY_INTERRUPTION_INFO);
  if (!(info & INTR_VALID)) return true;
  const vector = info & 0xff;
  const type = (info >> 8) & 7;
  const errorCode = (info & (1 << 11)) != 0;
  if (info & INTERRUPTION_RESERVED) return false;
  if (type == 1 || type == 7) return false; // reserved; "other event" needs the monitor trap flag
  if (type == TYPE_NMI && vector != 2) return false;
  if (type == TYPE_HW_EXCEPTION && vector > 31) return false;
  // Protected mode is certain (guest CR0.PE is fixed to 1): hardware exceptions with an error code deliver one.
  const pushesErrorCode = type == TYPE_HW_EXCEPTION && vector < 32 && ((ERROR_CODE_VECTORS >> vector) & 1) != 0;
  if (errorCode != pushesErrorCode) return false;
  if (errorCode && (read12(v, ENTRY_EXCEPTION_ERROR_CODE) >> 15) != 0) return false;
  if (type == TYPE_SW_INTERRUPT || type == TYPE_PRIV_SW_EXCEPTION || type == TYPE_SW_EXCEPTION) {
    const length = read12(v, ENTRY_INSTRUCTION_LENGTH);
    if (length < 1 || length > 15) return false; // IA32_VMX_MISC bit 30 (length 0 allowed) is clear
  }
  return true;
}

const SELECTOR_RPL_TI: u32 = 7;
const SELECTOR_TI: u32 = 4;

export function hostStateValid(v: u32): bool {
  if (!crFixedBitsHold(read12(v, HOST_CR0), read12(v, HOST_CR4))) return false;
  for (let encoding = HOST_ES_SELECTOR; encoding <= HOST_TR_SELECTOR; encoding += 2) {
    if (read12(v, encoding) & SELECTOR_RPL_TI) return false;
  }
  return (read12(v, HOST_CS_SELECTOR) & 0xffff) != 0 && (read12(v, HOST_SS_SELECTOR) & 0xffff) != 0 && (read12(v, HOST_TR_SELECTOR) & 0xffff) != 0;
}

// ---- Guest state (SDM 27.3.1) ------------------------------------------------------------------

// Access rights (VMCS format): type 3:0, S 4, DPL 6:5, P 7, reserved 11:8, AVL 12, L 13, D/B 14,
// G 15, unusable 16, reserved 31:17.
const AR_S: u32 = 1 << 4;
const AR_P: u32 = 1 << 7;
const AR_G: u32 = 1 << 15;
const AR_RESERVED: u32 = 0xfffe0f00 & ~AR_UNUSABLE;
@inline function dpl(ar: u32): u32 { return (ar >> 5) & 3; }

// RFLAGS: bit 1 is 1; bits 3, 5, 15 and 31:22 are 0. VM is bit 17, IF bit 9.
const RFLAGS_RESERVED: u32 = 0xffc08028;
const RFLAGS_VM: u32 = 1 << 17;
const RFLAGS_IF: u32 = 1 << 9;
const ACTIVITY_ACTIVE: u32 = 0;
const ACTIVITY_HLT: u32 = 1;
const BLOCKING_STI: u32 = 1;
const BLOCKING_MOV_SS: u32 = 2;
const BLOCKING_SMI: u32 = 4;
// Interruptibility bits 31:5 are reserved; 4 (enclave interruption) needs SGX.
const INTERRUPTIBILITY_RESERVED: u32 = 0xfffffff0;
// Pending debug exceptions: B3-B0 (3:0), enabled breakpoint (12), BS (14), RTM (16).
const PENDING_DEBUG_ALLOWED: u32 = 0xf | (1 << 12) | (1 << 14) | (1 << 16);

// Guest segments in the field encodings' order: ES CS SS DS FS GS LDTR TR.
const ES: u32 = 0, CS: u32 = 1, SS: u32 = 2, DS: u32 = 3, FS: u32 = 4, GS: u32 = 5, LDTR: u32 = 6, TR: u32 = 7;
@inline function selector(v: u32, i: u32): u32 { return read12(v, GUEST_ES_SELECTOR + 2 * i) & 0xffff; }
@inline function base(v: u32, i: u32): u32 { return read12(v, GUEST_ES_BASE + 2 * i); }
@inline function limit(v: u32, i: u32): u32 { return read12(v, GUEST_ES_LIMIT + 2 * i); }
@inline function rights(v: u32, i: u32): u32 { return read12(v, GUEST_ES_ACCESS_RIGHTS + 2 * i); }

// Sets of segment types as bit masks (bit n: type n).
@inline function typeIn(types: u32, ar: u32): bool { return ((types >> (ar & 0xf)) & 1) != 0; }
const CODE_TYPES: u32 = (1 << 9) | (1 << 11) | (1 << 13) | (1 << 15);
const STACK_TYPES: u32 = (1 << 3) | (1 << 7);
const TSS_TYPES: u32 = (1 << 3) | (1 << 11);

// G must be 1 when limit bits 31:20 are not all 0, and 0 when bits 11:0 are not all 1.
function granularityFits(limit: u32, ar: u32): bool {
  if ((limit & 0xfff) != 0xfff && (ar & AR_G)) return false;
  return (limit & 0xfff00000) == 0 || (ar & AR_G) != 0;
}

// What every usable segment of protected mode needs besides its type: S (unless system), P, reserved bits, G.
function presentAndFits(v: u32, i: u32, system: bool): bool {
  const ar = rights(v, i);
  return (ar & AR_S) == (system ? 0 : AR_S) && (ar & AR_P) != 0 && (ar & AR_RESERVED) == 0 && granularityFits(limit(v, i), ar);
}

function protectedModeSegmentsValid(v: u32): bool {
  const csAr = rights(v, CS), ssAr = rights(v, SS), trAr = rights(v, TR), ldtrAr = rights(v, LDTR);
  if (selector(v, TR) & SELECTOR_TI) return false;
  if (!(ldtrAr & AR_UNUSABLE) && (selector(v, LDTR) & SELECTOR_TI)) return false;
  if ((selector(v, SS) & 3) != (selector(v, CS) & 3)) return false;
  if (!typeIn(CODE_TYPES, csAr) || (csAr & AR_UNUSABLE) || !presentAndFits(v, CS, false)) return false;
  if ((csAr & 0xf) <= 11 ? dpl(csAr) != dpl(ssAr) : dpl(csAr) > dpl(ssAr)) return false;
  if (!(ssAr & AR_UNUSABLE)) {
    if (!typeIn(STACK_TYPES, ssAr) || !presentAndFits(v, SS, false)) return false;
    if (dpl(ssAr) != (selector(v, SS) & 3)) return false;
  }
  for (let i: u32 = ES; i <= GS; i++) {
    if (i == CS || i == SS) continue;
    const ar = rights(v, i);
    if (ar & AR_UNUSABLE) continue;
    const type = ar & 0xf;
    if (!(type & 1) || ((type & 8) && !(type & 2)) || !presentAndFits(v, i, false)) return false;
    if (type <= 11 && dpl(ar) < (selector(v, i) & 3)) return false;
  }
  if ((trAr & AR_UNUSABLE) || !typeIn(TSS_TYPES, trAr) || !presentAndFits(v, TR, true)) return false;
  if (!(ldtrAr & AR_UNUSABLE) && ((ldtrAr & 0xf) != 2 || !presentAndFits(v, LDTR, true))) return false;
  return true;
}

// Virtual-8086 mode (RFLAGS.VM): CS SS DS ES FS GS are real-mode-like segments with access rights F3H.
function virtual8086SegmentsValid(v: u32): bool {
  for (let i: u32 = ES; i <= GS; i++) {
    if (base(v, i) != selector(v, i) << 4 || limit(v, i) != 0xffff || rights(v, i) != 0xf3) return false;
  }
  const trAr = rights(v, TR);
  return !(trAr & AR_UNUSABLE) && typeIn(TSS_TYPES, trAr) && presentAndFits(v, TR, true);
}

// Events an entry in the HLT state may inject: external interrupts, NMI, #DB and #MC (SDM 27.3.1.5).
function hltWakingEvent(event: u32): bool {
  const type = (event >> 8) & 7;
  const vector = event & 0xff;
  return type == TYPE_EXTERNAL || type == TYPE_NMI || (type == TYPE_HW_EXCEPTION && (vector == 1 || vector == 18));
}

// All ones (no VMCS shadowing is offered to L1, so the pointer is unused), or a VMCS region of ours.
function linkPointerValid(v: u32): bool {
  const low = read12(v, VMCS_LINK_POINTER);
  const high = read12(v, VMCS_LINK_POINTER + 1);
  if (low == 0xffffffff && high == 0xffffffff) return true;
  if (high != 0 || (low & 0xfff) != 0 || ramSize < <u32>VMCS_REGION_SIZE || low > ramSize - VMCS_REGION_SIZE) return false;
  return load<u32>(ramBase + low) == <u32>VMCS_REVISION;
}

// The guest state's checks, in the SDM's order: GUEST_STATE_VALID when the entry may load it.
export function guestStateCheck(v: u32): u32 {
  if (!crFixedBitsHold(read12(v, GUEST_CR0), read12(v, GUEST_CR4))) return GUEST_STATE_INVALID;
  const rflags = read12(v, GUEST_RFLAGS);
  if ((rflags & RFLAGS_RESERVED) || !(rflags & 2)) return GUEST_STATE_INVALID;
  const event = read12(v, ENTRY_INTERRUPTION_INFO);
  const injectsExternal = (event & INTR_VALID) != 0 && ((event >> 8) & 7) == TYPE_EXTERNAL;
  if (injectsExternal && !(rflags & RFLAGS_IF)) return GUEST_STATE_INVALID;
  if (!(rflags & RFLAGS_VM ? virtual8086SegmentsValid(v) : protectedModeSegmentsValid(v))) return GUEST_STATE_INVALID;
  if ((read12(v, GUEST_GDTR_LIMIT) >> 16) != 0 || (read12(v, GUEST_IDTR_LIMIT) >> 16) != 0) return GUEST_STATE_INVALID;
  const activity = read12(v, GUEST_ACTIVITY_STATE);
  if (activity != ACTIVITY_ACTIVE && activity != ACTIVITY_HLT) return GUEST_STATE_INVALID; // IA32_VMX_MISC offers HLT only
  if (activity == ACTIVITY_HLT && dpl(rights(v, SS)) != 0) return GUEST_STATE_INVALID;
  if (activity == ACTIVITY_HLT && (event & INTR_VALID) && !hltWakingEvent(event)) return GUEST_STATE_INVALID;
  const blocking = read12(v, GUEST_INTERRUPTIBILITY);
  if ((blocking & INTERRUPTIBILITY_RESERVED) || (blocking & BLOCKING_SMI)) return GUEST_STATE_INVALID;
  if ((blocking & (BLOCKING_STI | BLOCKING_MOV_SS)) == (BLOCKING_STI | BLOCKING_MOV_SS)) return GUEST_STATE_INVALID;
  if ((blocking & BLOCKING_STI) && !(rflags & RFLAGS_IF)) return GUEST_STATE_INVALID;
  if (injectsExternal && (blocking & (BLOCKING_STI | BLOCKING_MOV_SS))) return GUEST_STATE_INVALID;
  if (read12(v, GUEST_PENDING_DEBUG_EXCEPTIONS) & ~PENDING_DEBUG_ALLOWED) return GUEST_STATE_INVALID;
  if (!linkPointerValid(v)) return GUEST_STATE_BAD_LINK;
  return GUEST_STATE_VALID;
}
