// The first checks of VMLAUNCH and VMRESUME (SDM Vol. 3C 27.2.1 and 27.2.2), on L1's current VMCS:
// a failure is VMfailValid 7 (controls) or 8 (host state) and L1 goes on after the instruction.
// Checked here: each control field against its capability MSR; the CR3-target count; the I/O
// and MSR bitmap addresses, when their controls are on; the host CR0/CR4 fixed bits; the host
// selectors (RPL and TI clear, CS and TR not null, SS not null with a 32-bit host).
// Guest-state checks (exit 33) belong with the entry itself, the next stage of issue 18.

import { CTL_USE_IO_BITMAPS } from "../../../assembly/vmcs-layout.js";
import {
  CR3_TARGET_COUNT,
  ENTRY_CONTROLS,
  EXIT_CONTROLS,
  PIN_CONTROLS,
  PRIMARY_CONTROLS,
  controlsAllowed,
  crFixedBitsHold,
} from "./vmx-capabilities.js";
import { VMCS_FIELD, fieldSlot } from "./vmcs12-fields.js";
import { pointerValid, readRegionWord } from "./vmcs12.js";

const USE_MSR_BITMAPS = 1 << 28;
const SELECTOR_RPL_TI = 7;

/** A field of the VMCS region at `pointer`, by encoding (every one named here is supported). */
function field(ram: Uint8Array, pointer: number, encoding: number): number {
  return readRegionWord(ram, pointer, fieldSlot(encoding)!.offset);
}

/** A 64-bit address field: page-aligned and within 32 bits. */
function addressValid(ram: Uint8Array, pointer: number, encoding: number): boolean {
  return pointerValid(field(ram, pointer, encoding), field(ram, pointer, encoding + 1));
}

export function entryControlsValid(ram: Uint8Array, pointer: number): boolean {
  const F = VMCS_FIELD;
  const primary = field(ram, pointer, F.PRIMARY_CONTROLS);
  return (
    controlsAllowed(field(ram, pointer, F.PIN_CONTROLS), PIN_CONTROLS) &&
    controlsAllowed(primary, PRIMARY_CONTROLS) &&
    controlsAllowed(field(ram, pointer, F.EXIT_CONTROLS), EXIT_CONTROLS) &&
    controlsAllowed(field(ram, pointer, F.ENTRY_CONTROLS), ENTRY_CONTROLS) &&
    field(ram, pointer, F.CR3_TARGET_COUNT) <= CR3_TARGET_COUNT &&
    (!(primary & CTL_USE_IO_BITMAPS) || (addressValid(ram, pointer, F.IO_BITMAP_A) && addressValid(ram, pointer, F.IO_BITMAP_B))) &&
    (!(primary & USE_MSR_BITMAPS) || addressValid(ram, pointer, F.MSR_BITMAP))
  );
}

export function hostStateValid(ram: Uint8Array, pointer: number): boolean {
  const F = VMCS_FIELD;
  const selectors = [F.HOST_ES_SELECTOR, F.HOST_CS_SELECTOR, F.HOST_SS_SELECTOR, F.HOST_DS_SELECTOR, F.HOST_FS_SELECTOR, F.HOST_GS_SELECTOR, F.HOST_TR_SELECTOR];
  return (
    crFixedBitsHold(field(ram, pointer, F.HOST_CR0), field(ram, pointer, F.HOST_CR4)) &&
    selectors.every((selector) => (field(ram, pointer, selector) & SELECTOR_RPL_TI) === 0) &&
    [F.HOST_CS_SELECTOR, F.HOST_SS_SELECTOR, F.HOST_TR_SELECTOR].every((selector) => (field(ram, pointer, selector) & 0xffff) !== 0)
  );
}
