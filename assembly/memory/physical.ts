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
// Every page of the range is write-protected until the VMM releases it (releaseTrappedPage): the
// display's dirty log releases a page at its first write and protects the range again at each
// refresh (src/vmm/display-update.ts), while the plain trap never releases one. Every store path
// of the core asks writeTrapped() or storableAtOnce(), so one protection bit covers the
// interpreter, its bulk string copies and compiled code (which never writes the range: it lies in
// the hole below 1 MiB or beyond RAM, jit/block-cache.ts).
let trapBase: u32 = 0;
let trapSize: u32 = 0;
const RELEASABLE_PAGES: u32 = 1024; // 4 MiB: the largest frame buffer; pages beyond stay protected
const releasedPages = memory.data(RELEASABLE_PAGES / 8); // bit per page of the range: writable
// While the VMM emulates a trapped instruction: the guest-physical bytes it wrote in the range.
let spanLow: u32 = 0xffffffff;
let spanHigh: u32 = 0;

// The VMM's physical-memory controls (write trap, device memory), at VM entry after it wrote them.
export function loadPhysicalControls(): void {
  trapBase = load<u32>(VMCS_BASE + C_WRITE_TRAP_BASE);
  trapSize = load<u32>(VMCS_BASE + C_WRITE_TRAP_SIZE);
  deviceGuestBase = load<u32>(VMCS_BASE + C_DEVICE_MEMORY_BASE);
  const size = load<u32>(VMCS_BASE + C_DEVICE_MEMORY_SIZE);
  deviceGuestSize = size < <u32>DEVICE_MEMORY_BYTES ? size : DEVICE_MEMORY_BYTES;
}

// Does a write of `bytes` at `p` touch a protected page of the trapped range? (The VMM's
// emulate() lets it through and notes the bytes written.)
@inline export function writeTrapped(p: u32, bytes: u32): bool {
  return (p - trapBase < trapSize || p + bytes - 1 - trapBase < trapSize) && trapStops(p, bytes);
}

function trapStops(p: u32, bytes: u32): bool {
  if (emulating) {
    const low = p < trapBase ? trapBase : p;
    const high = p + bytes - 1 - trapBase < trapSize ? p + bytes - 1 : trapBase + trapSize - 1;
    if (low < spanLow) spanLow = low;
    if (high > spanHigh) spanHigh = high;
    return false;
  }
  return pageProtected(p) || pageProtected(p + bytes - 1);
}

@inline function pageProtected(p: u32): bool {
  const offset = p - trapBase;
  if (offset >= trapSize) return false;
  const page = offset >>> 12;
  return page >= RELEASABLE_PAGES || ((<u32>load<u8>(releasedPages + (page >>> 3)) >> (page & 7)) & 1) == 0;
}

// Can `len` bytes at `p` be stored directly, as one block (REP MOVS/STOS in string.ts)? In RAM
// and clear of protected pages (never while emulating: the bytes written must be noted).
export function storableAtOnce(p: u32, len: u32): bool {
  if (!(p <= ramSize && len <= ramSize - p)) return false;
  if (trapSize == 0 || len == 0 || !(p - trapBase < trapSize || trapBase - p < len)) return true;
  if (emulating) return false;
  const from = p < trapBase ? trapBase : p;
  const last = p + len - 1 - trapBase < trapSize ? p + len - 1 : trapBase + trapSize - 1;
  for (let at = from & ~0xfff; at <= last; at += 0x1000) {
    if (pageProtected(at < from ? from : at)) return false;
  }
  return true;
}

// The page of the trapped range holding guest-physical `p` becomes writable (no-op outside it).
// The range is the one the VMM programmed (the VMCS), which the core loads only at VM entry.
export function releaseTrappedPage(p: u32): void {
  const offset = p - load<u32>(VMCS_BASE + C_WRITE_TRAP_BASE);
  if (offset >= load<u32>(VMCS_BASE + C_WRITE_TRAP_SIZE) || (offset >>> 12) >= RELEASABLE_PAGES) return;
  const page = offset >>> 12;
  const at = releasedPages + (page >>> 3);
  store<u8>(at, <u32>load<u8>(at) | (<u32>1 << (page & 7)));
}

// Every page of the trapped range is protected again.
export function protectTrappedPages(): void {
  memory.fill(releasedPages, 0, RELEASABLE_PAGES / 8);
}

// The bytes of the trapped range that the instruction emulate() ran wrote: [start, end), empty
// (start == end) when it wrote none there. The VMM's trap strategy copies them to the screen.
export function resetEmulatedWrite(): void {
  spanLow = 0xffffffff;
  spanHigh = 0;
}
export function emulatedWriteStart(): u32 { return spanLow == 0xffffffff ? 0 : spanLow; }
export function emulatedWriteEnd(): u32 { return spanLow == 0xffffffff ? 0 : spanHigh + 1; }

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
