// L1's VMCS regions as L0 reads and writes them: 32-bit words of L1's RAM at a region pointer plus
// a layout offset (vmcs12-fields.ts). The region is L1's memory, so a pointer is accepted only when
// its whole region lies in RAM (regionInRam, checked by VMXON, VMCLEAR and VMPTRLD), and every
// access checks its own bounds again: nothing L1 writes there can make L0 touch other memory.

import { VMCS_REGION_SIZE } from "./vmx-capabilities.js";
import { SLOT_WORD } from "./vmcs12-fields.js";

/** Region pointers are page-aligned, and this CPU's physical addresses have 32 bits (IA32_VMX_BASIC bit 48). */
export function pointerValid(low: number, high: number): boolean {
  return high === 0 && (low & 0xfff) === 0;
}

export function regionInRam(ram: Uint8Array, pointer: number): boolean {
  return pointer >= 0 && pointer + VMCS_REGION_SIZE <= ram.length;
}

export function readRegionWord(ram: Uint8Array, pointer: number, offset: number): number {
  const at = pointer + offset;
  if (at < 0 || at + 4 > ram.length) return 0xffffffff; // as unassigned memory reads
  return (ram[at] | (ram[at + 1] << 8) | (ram[at + 2] << 16) | (ram[at + 3] << 24)) >>> 0;
}

export function writeRegionWord(ram: Uint8Array, pointer: number, offset: number, value: number): void {
  const at = pointer + offset;
  if (at < 0 || at + 4 > ram.length) return; // as writes to unassigned memory are dropped
  ram[at] = value;
  ram[at + 1] = value >>> 8;
  ram[at + 2] = value >>> 16;
  ram[at + 3] = value >>> 24;
}

/**
 * L1's VMCS at `pointer` read and written field by field, by the SDM's encodings (every encoding
 * L0 names is in vmcs12-fields.ts), through a view of its region: `pointer` must be a region in
 * RAM, as VMPTRLD made sure. A 64-bit field's encoding reads and writes its low half.
 */
export class Vmcs12 {
  /** The region's words (vmcs12-fields.ts SLOT_WORD says which holds a field), for bulk copies. */
  readonly words: Int32Array;

  constructor(
    readonly ram: Uint8Array,
    readonly pointer: number,
  ) {
    this.words = new Int32Array(ram.buffer, ram.byteOffset + pointer, VMCS_REGION_SIZE >> 2);
  }

  read(encoding: number): number {
    return this.words[SLOT_WORD[encoding]] >>> 0;
  }

  write(encoding: number, value: number): void {
    this.words[SLOT_WORD[encoding]] = value;
  }

  /** A 64-bit address field: page-aligned and within 32 bits (ours are). */
  addressValid(encoding: number): boolean {
    return pointerValid(this.read(encoding), this.read(encoding + 1));
  }
}

let lastView: Vmcs12 | undefined;

/**
 * L1's VMCS at `pointer` (a region in RAM, as for the constructor): the view made last time when
 * it is the same region of the same RAM. A level switch reads the VMCS several times, and a view
 * made each time was ~5 % of an L2 round trip, plus its garbage.
 */
export function vmcs12At(ram: Uint8Array, pointer: number): Vmcs12 {
  if (lastView === undefined || lastView.ram !== ram || lastView.pointer !== pointer) lastView = new Vmcs12(ram, pointer);
  return lastView;
}
