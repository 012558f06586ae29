// The VMCB as L0 reads and writes it (APM Vol. 2, appendix B): one 4 KiB page of the guest
// hypervisor's (L1's) RAM, a control area at 000h and a state-save area at 400h, in the APM's
// layout, since unlike VT-x's VMCS the VMCB is architected memory L1 reads and writes directly.
// A VMCB is used only when its whole page lies in RAM (vmcbInRam, checked by VMRUN, VMLOAD and
// VMSAVE before anything else), so every word access is inside L1's RAM. Its offsets and bits are
// in assembly/vmcb-layout.ts, shared with the core, which makes the common level switches itself
// (assembly/vm/svm-switch.ts).

import { VMCB_SIZE } from "../../../assembly/vmcb-layout.js";

export * from "../../../assembly/vmcb-layout.js";

/** A VMCB pointer (rAX of VMRUN, VMLOAD, VMSAVE): page-aligned and within the 32-bit physical address space (APM: else #GP(0)). */
export function vmcbPointerValid(pointer: number): boolean {
  return (pointer & 0xfff) === 0 && pointer >= 0 && pointer <= 0xffffffff;
}

export function vmcbInRam(ram: Uint8Array, pointer: number): boolean {
  return pointer >= 0 && pointer + VMCB_SIZE <= ram.length;
}

/** A permission map's base, as the core's checks take it (bits 11:0 ignored), unsigned. */
export function permissionMapBase(vmcb: Vmcb, field: number): number {
  return (vmcb.read(field) & ~0xfff) >>> 0;
}

/** A VMCB in RAM (vmcbInRam), word by word in little-endian order. */
export class Vmcb {
  private readonly view: DataView;

  constructor(
    readonly ram: Uint8Array,
    readonly pointer: number,
  ) {
    this.view = new DataView(ram.buffer, ram.byteOffset + pointer, VMCB_SIZE);
  }

  read(offset: number): number {
    return this.view.getUint32(offset, true);
  }

  write(offset: number, value: number): void {
    this.view.setUint32(offset, value >>> 0, true);
  }

  /** A 64-bit field from a 32-bit value: the high word 0, or all ones for a negative `value` (sign-extended). */
  write64(offset: number, value: number): void {
    this.write(offset, value);
    this.write(offset + 4, value < 0 ? 0xffffffff : 0);
  }

  read8(offset: number): number {
    return this.view.getUint8(offset);
  }

  write8(offset: number, value: number): void {
    this.view.setUint8(offset, value);
  }

  read16(offset: number): number {
    return this.view.getUint16(offset, true);
  }

  write16(offset: number, value: number): void {
    this.view.setUint16(offset, value, true);
  }
}

/**
 * A view of the VMCB at `pointer` (in RAM) that is the one made last time when it is the same page of
 * the same RAM: a round trip through L1 reads the same VMCB and host save area again and again.
 */
function cachedView(): (ram: Uint8Array, pointer: number) => Vmcb {
  let last: Vmcb | undefined;
  return (ram, pointer) => {
    if (last === undefined || last.ram !== ram || last.pointer !== pointer) last = new Vmcb(ram, pointer);
    return last;
  };
}

/** L1's VMCB (VMRUN's, VMLOAD's, VMSAVE's). */
export const vmcbAt = cachedView();
/** The host save area at VM_HSAVE_PA, in the state-save layout of a VMCB. */
export const hostSaveAreaAt = cachedView();
