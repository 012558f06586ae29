// Guest-physical memory: guest RAM inside WASM memory, device memory (video RAM) where the VMM maps
// it, and the write trap. Any other physical address reaches the unassigned-memory handler: reads
// return all ones and writes are dropped, so the guest can never touch the core's own state. Nothing here knows about paging;
// linear.ts and the MMU build on it.
import { emulating } from "../cpu/state";
import {
  VMCS_BASE, C_WRITE_TRAP_BASE, C_WRITE_TRAP_SIZE, X_GUEST_PHYSICAL, EXIT_WRITE_TRAP, C_DEVICE_MEMORY_BASE, C_DEVICE_MEMORY_SIZE,
  DEVICE_MEMORY_BYTES,
} from "../vmcs-layout";
import { vmexit } from "../cpu/vmexit";
import { storeTracked } from "../jit/code-pages";

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

// ---- Device memory: a fixed block of host memory the guest sees where the VMM maps it --------
// Never inside the TLB's plain-RAM fast path (tlb.ts marks only frames below ramSize), so every
// access comes through the functions below, which bound it by the block's size.
export let deviceMemoryBase: u32 = 0; // offset of the block in WASM memory
let deviceGuestBase: u32 = 0;
let deviceGuestSize: u32 = 0;

export function allocateDeviceMemory(): void {
  const first = memory.grow(DEVICE_MEMORY_BYTES >>> 16);
  if (first < 0) unreachable();
  deviceMemoryBase = <u32>first << 16;
}

// The block's host offset for `bytes` at guest-physical `p`, or 0 if they are not all inside it.
@inline function deviceAt(p: u32, bytes: u32): u32 {
  const offset = p - deviceGuestBase;
  return offset < deviceGuestSize && bytes <= deviceGuestSize - offset ? deviceMemoryBase + offset : 0;
}

// ---- Write trap: a physical range whose writes exit to the VMM (EXIT_WRITE_TRAP) ------------
let trapBase: u32 = 0;
let trapSize: u32 = 0;

// The VMM's physical-memory controls (write trap, device memory), at VM entry after it wrote them.
export function loadPhysicalControls(): void {
  trapBase = load<u32>(VMCS_BASE + C_WRITE_TRAP_BASE);
  trapSize = load<u32>(VMCS_BASE + C_WRITE_TRAP_SIZE);
  deviceGuestBase = load<u32>(VMCS_BASE + C_DEVICE_MEMORY_BASE);
  const size = load<u32>(VMCS_BASE + C_DEVICE_MEMORY_SIZE);
  deviceGuestSize = size < <u32>DEVICE_MEMORY_BYTES ? size : DEVICE_MEMORY_BYTES;
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

export function trapWrite(p: u32): void {
  store<u32>(VMCS_BASE + X_GUEST_PHYSICAL, p);
  vmexit(EXIT_WRITE_TRAP, 2); // bit 1: the access was a write
}

// ---- Physical access (every store into RAM is reported to jit/code-pages.ts) -------------------------------------------------------------------------
export function physRead8(p: u32): u32 {
  if (p < ramSize) return load<u8>(ramBase + p);
  const device = deviceAt(p, 1);
  if (device != 0) return load<u8>(device);
  unassignedAccesses++;
  return 0xff;
}
export function physRead16(p: u32): u32 {
  if (p <= ramSize - 2) return load<u16>(ramBase + p);
  const device = deviceAt(p, 2);
  if (device != 0) return load<u16>(device);
  return physRead8(p) | (physRead8(p + 1) << 8);
}
@inline export function physRead32(p: u32): u32 {
  if (p <= ramSize - 4) return load<u32>(ramBase + p);
  const device = deviceAt(p, 4);
  if (device != 0) return load<u32>(device);
  return physRead16(p) | (physRead16(p + 2) << 16);
}
// Device memory holds no code the core tracks (fetch.ts and the block cache take code from RAM only).
export function physWrite8(p: u32, v: u32): void {
  if (writeTrapped(p, 1)) { trapWrite(p); return; }
  if (p < ramSize) { storeTracked(p, v, 1); return; }
  const device = deviceAt(p, 1);
  if (device != 0) store<u8>(device, v);
  else unassignedAccesses++;
}
export function physWrite16(p: u32, v: u32): void {
  if (writeTrapped(p, 2)) { trapWrite(p); return; }
  if (p <= ramSize - 2) { storeTracked(p, v, 2); return; }
  const device = deviceAt(p, 2);
  if (device != 0) store<u16>(device, v);
  else { physWrite8(p, v); physWrite8(p + 1, v >> 8); }
}
export function physWrite32(p: u32, v: u32): void {
  if (writeTrapped(p, 4)) { trapWrite(p); return; }
  if (p <= ramSize - 4) { storeTracked(p, v, 4); return; }
  const device = deviceAt(p, 4);
  if (device != 0) store<u32>(device, v);
  else { physWrite16(p, v); physWrite16(p + 2, v >> 16); }
}
@inline export function physWrite(p: u32, bytes: u32, v: u32): void {
  if (bytes == 4) physWrite32(p, v);
  else if (bytes == 2) physWrite16(p, v);
  else physWrite8(p, v);
}
