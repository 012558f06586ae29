// Instruction fetch through a window: a range of EIP values whose bytes sit contiguously in host
// memory (the rest of RAM below the CS limit with paging off, the current page with paging on).
// The common fetch is then one compare and one load; leaving the window refills it, checking the
// CS limit and translating the new address.
import { eip, segBase, segLimit, raise, pending, EXC_GP, cpl } from "./state";
import { SR_CS } from "../vmcs-layout";
import { ramBase, ramSize, physRead8 } from "../memory/physical";
import { pagingEnabled, translate } from "../memory/linear";
import { winStart, winLen, winBias, invalidateFetchWindow, setFetchWindow } from "../mmu/fetch-window";

// The window depends on CS's base and limit, and on the CPL (user fetches are checked against
// the page's U/S bit): forget it only when one of them changes (the segment cache is recomputed
// at every segment load and at entries after the VMM wrote a segment: usually CS did not change).
let windowCsBase: u32 = 0;
let windowCsLimit: u32 = 0;
let windowCpl: u32 = 0;
export function noteCodeSegment(base: u32, limit: u32, privilege: u32): void {
  if (base == windowCsBase && limit == windowCsLimit && privilege == windowCpl) return;
  windowCsBase = base;
  windowCsLimit = limit;
  windowCpl = privilege;
  invalidateFetchWindow();
}

// Rebuild the window around `e`, or return false after raising a fault / when the byte is not RAM.
function refill(e: u32): bool {
  const limit = segLimit(SR_CS);
  if (e > limit) { raise(EXC_GP, 0); return false; }
  const base = segBase(SR_CS);
  const lin = base + e;
  const phys = translate(lin, false, cpl == 3);
  if (pending) return false;
  if (phys >= ramSize) return false;
  // bytes available in host memory from e on: to the end of the page (paging) or of RAM
  let avail: u32 = pagingEnabled ? 0x1000 - (lin & 0xfff) : ramSize - phys;
  const toLimit = limit - e + 1; // 0 when limit = 0xFFFFFFFF and e = 0: treat as unlimited
  if (toLimit != 0 && toLimit < avail) avail = toLimit;
  setFetchWindow(e, avail, ramBase + phys - e);
  return true;
}

function fetch8Slow(): u32 {
  const e = eip;
  if (!refill(e)) {
    if (pending) return 0;
    eip = e + 1;
    return physRead8(translate(segBase(SR_CS) + e, false, cpl == 3)); // unassigned memory
  }
  eip = e + 1;
  return load<u8>(winBias + e);
}

@inline export function fetch8(): u32 {
  const e = eip;
  if (e - winStart < winLen) {
    eip = e + 1;
    return load<u8>(winBias + e);
  }
  return fetch8Slow();
}

export function fetch16(): u32 {
  const e = eip;
  if (e - winStart < winLen - 1 && winLen > 1) {
    eip = e + 2;
    return load<u16>(winBias + e);
  }
  const lo = fetch8();
  return lo | (fetch8() << 8);
}

export function fetch32(): u32 {
  const e = eip;
  if (e - winStart < winLen - 3 && winLen > 3) {
    eip = e + 4;
    return load<u32>(winBias + e);
  }
  const lo = fetch16();
  return lo | (fetch16() << 16);
}

// The window rebuilt around EIP if EIP left it: the bytes it holds from EIP on, or -1 when that
// faulted (the fault pending) or EIP is not in RAM. With eipPhysical(), for the binary translator.
export function windowFromEip(): i32 {
  if (eip - winStart >= winLen && !refill(eip)) return -1;
  return <i32>(winLen - (eip - winStart));
}
// EIP's guest-physical address, while the window holds EIP.
export function eipPhysical(): u32 { return winBias + eip - ramBase; }

// How many bytes from EIP on the window holds (0 when EIP is outside it).
export function bytesLeftInWindow(): u32 { return eip - winStart < winLen ? winLen - (eip - winStart) : 0; }

// Whether fewer than 15 bytes (the longest instruction) of the window are left from EIP: the next
// instruction may run into the CS limit or an unmapped page, so step() probes it before it
// executes. A window EIP has left (a branch to another page, an address-space switch) is first
// rebuilt around EIP, so that only instructions really close to its end are probed; when that
// faults, the fault is pending and the instruction must not run.
@inline export function nearWindowEnd(): bool { return eip - winStart + 15 > winLen && nearRefilledWindowEnd(); }
function nearRefilledWindowEnd(): bool {
  if (eip - winStart >= winLen && !refill(eip)) return true;
  return eip - winStart + 15 > winLen;
}

// The byte `ahead` bytes past EIP read as a fetch would (CS limit, paging), without consuming it;
// -1 after raising the fault.
export function probeByte(ahead: u32): i32 {
  const e = eip + ahead;
  if (e > segLimit(SR_CS)) { raise(EXC_GP, 0); return -1; }
  const p = translate(segBase(SR_CS) + e, false, cpl == 3);
  if (pending) return -1;
  return <i32>physRead8(p);
}

// The byte `ahead` bytes past EIP without consuming it, or -1 when it is not in the window.
@inline export function peekByte(ahead: u32): i32 {
  const e = eip + ahead;
  return e - winStart < winLen ? <i32>load<u8>(winBias + e) : -1;
}

// The next byte, for fast paths that depend on the ModR/M form; 0 (a memory form) when it is not
// in the window, which sends the caller down the general path.
@inline export function peekModrm(): u32 {
  const e = eip;
  return e - winStart < winLen ? load<u8>(winBias + e) : 0;
}
