// Guest memory: the physical address space (guest RAM inside WASM memory) and linear accesses.
// Every guest access goes linear -> physical through `translate` here, so the shadow MMU can slot
// in at this one place. A physical address outside RAM reaches the unassigned-memory handler:
// reads return all ones and writes are dropped, so the guest can never touch the core's own state.
import { cr0, CR0_PG, pending } from "./state";
import { VMCS_BASE, C_WRITE_TRAP_BASE, C_WRITE_TRAP_SIZE, X_GUEST_PHYSICAL, EXIT_EPT_VIOLATION } from "../vmcs-layout";
import { vmexit } from "./vmexit";
import { mmuTranslate, checkPagingMode } from "../mmu/mmu";
import { emulating } from "./ifmode";
import { updateJitMode } from "./jit";

// The PC's hole between 640 KiB and 1 MiB (VGA frame buffer, ROMs): RAM for the interpreter, but
// compiled blocks leave it to the interpreter (assembly/cpu/jit.ts, assembly/mmu/tlb.ts; the host
// compiler, src/jit/translate.ts, has its own copy of the numbers).
export const HOLE_START: u32 = 0xa0000;
export const HOLE_END: u32 = 0x100000;

export let ramBase: u32 = 0; // offset of guest-physical 0 in WASM memory
export let ramSize: u32 = 0;
export let unassignedAccesses: u32 = 0;

export function allocateRam(bytes: u32): void {
  const pages = (bytes + 0xffff) >>> 16;
  const first = memory.grow(<i32>pages);
  if (first < 0) unreachable();
  ramBase = <u32>first << 16;
  ramSize = pages << 16; // memory.grow hands out zeroed pages: nothing to clear
}

// ---- Write trap: a physical range whose writes exit to the VMM (EPT-violation style) ---------
let trapBase: u32 = 0;
let trapSize: u32 = 0;

export function loadWriteTrap(): void {
  trapBase = load<u32>(VMCS_BASE + C_WRITE_TRAP_BASE);
  trapSize = load<u32>(VMCS_BASE + C_WRITE_TRAP_SIZE);
}

// Does a write of `bytes` at `p` touch the trapped range? (The VMM's emulate() lets it through.)
@inline export function writeTrapped(p: u32, bytes: u32): bool {
  return (p - trapBase < trapSize || p + bytes - 1 - trapBase < trapSize) && !emulating;
}

// Can `len` bytes at `p` be stored directly, as one block (REP MOVS/STOS in string.ts)? In RAM
// and clear of the write trap (the emulate() exception does not matter: it runs one instruction).
export function storableAtOnce(p: u32, len: u32): bool {
  const trapped = trapSize != 0 && (p - trapBase < trapSize || trapBase - p < len);
  return p <= ramSize && len <= ramSize - p && !trapped;
}

function trapWrite(p: u32): void {
  store<u32>(VMCS_BASE + X_GUEST_PHYSICAL, p);
  vmexit(EXIT_EPT_VIOLATION, 2); // bit 1: the access was a write
}

// ---- Physical access -------------------------------------------------------------------------
export function physRead8(p: u32): u32 {
  if (p < ramSize) return load<u8>(ramBase + p);
  unassignedAccesses++;
  return 0xff;
}
export function physRead16(p: u32): u32 {
  if (p <= ramSize - 2) return load<u16>(ramBase + p);
  return physRead8(p) | (physRead8(p + 1) << 8);
}
export function physRead32(p: u32): u32 {
  if (p <= ramSize - 4) return load<u32>(ramBase + p);
  return physRead16(p) | (physRead16(p + 2) << 16);
}
export function physWrite8(p: u32, v: u32): void {
  if (writeTrapped(p, 1)) { trapWrite(p); return; }
  if (p < ramSize) store<u8>(ramBase + p, <u8>v);
  else unassignedAccesses++;
}
export function physWrite16(p: u32, v: u32): void {
  if (writeTrapped(p, 2)) { trapWrite(p); return; }
  if (p <= ramSize - 2) store<u16>(ramBase + p, <u16>v);
  else { physWrite8(p, v); physWrite8(p + 1, v >> 8); }
}
export function physWrite32(p: u32, v: u32): void {
  if (writeTrapped(p, 4)) { trapWrite(p); return; }
  if (p <= ramSize - 4) store<u32>(ramBase + p, v);
  else { physWrite16(p, v); physWrite16(p + 2, v >> 16); }
}

// ---- Linear -> physical ----------------------------------------------------------------------
// With paging off linear addresses are physical. With paging on the shadow MMU (assembly/mmu/)
// translates, and may raise #PF (setting `pending`), in which case the result is meaningless.
export let pagingEnabled: bool = false;

// CR0/CR4 changed (or VM entry): follow paging being switched on or off, and the paging mode.
export function refreshPagingMode(): void {
  pagingEnabled = (cr0() & CR0_PG) != 0;
  checkPagingMode();
}
export function updatePagingMode(): void {
  refreshPagingMode();
  updateJitMode();
}

export function translate(lin: u32, write: bool, user: bool): u32 {
  if (!pagingEnabled) return lin;
  return mmuTranslate(lin, write, user);
}

// Linear accesses. `user` is true for accesses made with CPL 3 privileges.
// An access that crosses a page boundary is split so each half is translated on its own.
export function linRead8(lin: u32, user: bool): u32 {
  const p = translate(lin, false, user);
  if (pending) return 0;
  return physRead8(p);
}
export function linRead16(lin: u32, user: bool): u32 {
  if ((lin & 0xfff) == 0xfff && pagingEnabled) {
    const lo = linRead8(lin, user);
    return lo | (linRead8(lin + 1, user) << 8);
  }
  const p = translate(lin, false, user);
  if (pending) return 0;
  return physRead16(p);
}
export function linRead32(lin: u32, user: bool): u32 {
  if (!pagingEnabled) {
    if (lin <= ramSize - 4) return load<u32>(ramBase + lin);
    return physRead32(lin);
  }
  if ((lin & 0xfff) > 0xffc) {
    const lo = linRead16(lin, user);
    return lo | (linRead16(lin + 2, user) << 16);
  }
  const p = translate(lin, false, user);
  if (pending) return 0;
  return physRead32(p);
}
export function linWrite8(lin: u32, v: u32, user: bool): void {
  const p = translate(lin, true, user);
  if (pending) return;
  physWrite8(p, v);
}
export function linWrite16(lin: u32, v: u32, user: bool): void {
  if ((lin & 0xfff) == 0xfff && pagingEnabled) {
    // probe both pages before writing either, so a fault leaves memory unchanged
    translate(lin + 1, true, user);
    if (pending) return;
    linWrite8(lin, v, user);
    linWrite8(lin + 1, v >> 8, user);
    return;
  }
  const p = translate(lin, true, user);
  if (pending) return;
  physWrite16(p, v);
}
export function linWrite32(lin: u32, v: u32, user: bool): void {
  if (!pagingEnabled) {
    if (lin <= ramSize - 4 && !writeTrapped(lin, 4)) store<u32>(ramBase + lin, v);
    else physWrite32(lin, v);
    return;
  }
  if ((lin & 0xfff) > 0xffc) {
    translate(lin + 3, true, user);
    if (pending) return;
    linWrite16(lin, v, user);
    linWrite16(lin + 2, v >> 16, user);
    return;
  }
  const p = translate(lin, true, user);
  if (pending) return;
  physWrite32(p, v);
}

// Make sure a later write of `bytes` at `lin` cannot fault or exit: translate it for writing
// (raising #PF now, setting the dirty bit) and check the write trap (exiting now). Read-modify-
// write instructions call this before they read, so a write that would fail changes nothing.
export function probeWrite(lin: u32, bytes: u32, user: bool): void {
  const p = translate(lin, true, user);
  if (pending) return;
  if (writeTrapped(p, bytes)) { trapWrite(p); return; }
  if (pagingEnabled && (lin & 0xfff) + bytes > 0x1000) {
    const q = translate(lin + bytes - 1, true, user);
    if (pending) return;
    if (writeTrapped(q, 1)) trapWrite(q);
  }
}

@inline export function linRead(lin: u32, bytes: u32, user: bool): u32 {
  if (bytes == 4) return linRead32(lin, user);
  if (bytes == 2) return linRead16(lin, user);
  return linRead8(lin, user);
}
@inline export function linWrite(lin: u32, bytes: u32, v: u32, user: bool): void {
  if (bytes == 4) linWrite32(lin, v, user);
  else if (bytes == 2) linWrite16(lin, v, user);
  else linWrite8(lin, v, user);
}
