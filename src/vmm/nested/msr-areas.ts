// The VM-entry MSR-load area and the VM-exit MSR-store and MSR-load areas (SDM 25.7.2, 25.8.2,
// 27.4, 28.4): lists in L1's memory of 16-byte entries, the MSR's index in bytes 3:0, zero in
// bytes 7:4, its value in bytes 15:8. They are emulated with the MSRs this CPU has (exits/msr.ts).
// An entry that names an MSR WRMSR or RDMSR would refuse, has reserved bits set, or lies outside
// RAM fails: at entry that is exit 34 with the entry's number (from 1) as qualification; at exit it
// is a VMX abort (28.7), which the caller turns into a shutdown.

import type { ExitContext } from "../exits/exit-context.js";
import { readMsr, writeMsr } from "../exits/msr.js";
import { VMCS_FIELD as F } from "./vmcs12-fields.js";
import type { Vmcs12 } from "./vmcs12.js";

const ENTRY_BYTES = 16;

interface MsrEntry {
  index: number;
  reserved: number;
  low: number;
  high: number;
  /** Physical address of the entry. */
  at: number;
}

function entries(vm: ExitContext, v: Vmcs12, addressField: number, countField: number): (MsrEntry | undefined)[] {
  const address = v.read(addressField);
  const count = v.read(countField);
  if (count === 0) return [];
  const view = new DataView(vm.ram.buffer, vm.ram.byteOffset, vm.ram.byteLength);
  const list: (MsrEntry | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    const at = address + i * ENTRY_BYTES;
    if (at + ENTRY_BYTES > vm.ram.length) {
      list.push(undefined);
      break; // every later entry is outside RAM too
    }
    list.push({ index: view.getUint32(at, true), reserved: view.getUint32(at + 4, true), low: view.getUint32(at + 8, true), high: view.getUint32(at + 12, true), at });
  }
  return list;
}

/** Loads each entry's MSR; the number (from 1) of the first that fails, or 0. */
function loadList(vm: ExitContext, v: Vmcs12, addressField: number, countField: number): number {
  const list = entries(vm, v, addressField, countField);
  for (let i = 0; i < list.length; i++) {
    const entry = list[i];
    if (entry === undefined || entry.reserved !== 0 || !writeMsr(vm, entry.index, entry.low, entry.high)) return i + 1;
  }
  return 0;
}

/** The VM-entry MSR-load area, into L2's MSRs: 0, or the number of the entry that failed (exit 34). */
export function loadEntryMsrs(vm: ExitContext, v: Vmcs12): number {
  return loadList(vm, v, F.ENTRY_MSR_LOAD_ADDRESS, F.ENTRY_MSR_LOAD_COUNT);
}

/** The VM-exit MSR-store area, from L2's MSRs: false for a VMX abort. */
export function storeExitMsrs(vm: ExitContext, v: Vmcs12): boolean {
  for (const entry of entries(vm, v, F.EXIT_MSR_STORE_ADDRESS, F.EXIT_MSR_STORE_COUNT)) {
    const value = entry === undefined || entry.reserved !== 0 ? undefined : readMsr(vm, entry.index);
    if (value === undefined) return false;
    const view = new DataView(vm.ram.buffer, vm.ram.byteOffset, vm.ram.byteLength);
    view.setUint32(entry!.at + 8, value[0], true);
    view.setUint32(entry!.at + 12, value[1], true);
  }
  return true;
}

/** The VM-exit MSR-load area, into L1's MSRs: false for a VMX abort. */
export function loadExitMsrs(vm: ExitContext, v: Vmcs12): boolean {
  return loadList(vm, v, F.EXIT_MSR_LOAD_ADDRESS, F.EXIT_MSR_LOAD_COUNT) === 0;
}
