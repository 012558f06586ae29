// Guest memory as the VMM sees it when it emulates an instruction that touches memory (string I/O)
// or reads what the guest points it at (hypercall arguments, the opcode at a faulting EIP):
// linear addresses go through the core's MMU (translateLinear, which walks the guest's page tables
// as the instruction would have), physical ones index guest RAM. Bytes are translated one at a time
// so an access that straddles a page boundary is right; this path is rare enough not to matter.
// Physical addresses past the end of RAM read as all ones and ignore writes, like an empty bus.

import type { ExitContext } from "./exits/exit-context.js";

/** The part of a VM that guest-memory access needs. */
export type GuestMemory = Pick<ExitContext, "core" | "ram">;

/** translateLinear's answer for an address the guest's page tables do not map (it returns an i32). */
const UNMAPPED = -1;

/** The first of `length` bytes at `linear` the guest's page tables do not map for the access, if any. */
export function firstUnmapped(vm: GuestMemory, linear: number, length: number, write: boolean): number | undefined {
  for (let i = 0; i < length; i++) {
    const at = (linear + i) >>> 0;
    if (vm.core.translateLinear(at, write ? 1 : 0) === UNMAPPED) return at;
  }
  return undefined;
}

/** Reads `size` bytes at `linear`, little-endian; undefined if a byte is not mapped. */
export function readLinear(vm: GuestMemory, linear: number, size: number): number | undefined {
  let value = 0;
  for (let i = 0; i < size; i++) {
    const phys = vm.core.translateLinear((linear + i) >>> 0, 0);
    if (phys === UNMAPPED) return undefined;
    const byte = phys >>> 0 < vm.ram.length ? vm.ram[phys] : 0xff;
    value |= byte << (8 * i);
  }
  return value >>> 0;
}

/** Writes `size` bytes of `value` at `linear`; false (having written nothing) if a byte is not mapped. */
export function writeLinear(vm: GuestMemory, linear: number, size: number, value: number): boolean {
  const phys: number[] = [];
  for (let i = 0; i < size; i++) {
    const p = vm.core.translateLinear((linear + i) >>> 0, 1);
    if (p === UNMAPPED) return false;
    phys.push(p >>> 0);
  }
  phys.forEach((p, i) => {
    if (p >= vm.ram.length) return;
    vm.ram[p] = value >>> (8 * i);
    vm.core.noteHostWrite(p, 1); // compiled code there is forgotten
  });
  return true;
}

/** `length` bytes starting at `linear`; undefined if any of them is not mapped. */
export function readLinearBytes(vm: GuestMemory, linear: number, length: number): Uint8Array | undefined {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const byte = readLinear(vm, (linear + i) >>> 0, 1);
    if (byte === undefined) return undefined;
    bytes[i] = byte;
  }
  return bytes;
}
