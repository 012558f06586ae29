// SYSENTER and SYSEXIT (0F 34, 0F 35; SDM Vol. 2B), the fast system call of 32-bit kernels. No
// descriptor is read: both load flat 4 GiB code and stack segments at fixed selectors derived from
// IA32_SYSENTER_CS, which the VMCS holds with IA32_SYSENTER_ESP/EIP (the VMM's RDMSR/WRMSR,
// src/vmm/exits/msr.ts). Compiled blocks end with them through assembly/jit/helpers.ts.
import {
  VMCS_BASE, G_MSR_SYSENTER_CS, G_MSR_SYSENTER_ESP, G_MSR_SYSENTER_EIP, SR_CS, SR_SS,
} from "../vmcs-layout";
import { eip, cpl, raise, r32, w32, EXC_GP, ECX, EDX, ESP, IF, RF, VM } from "./state";
import { setSegment } from "./segment";
import { getEflags, setEflags } from "./flags";
import { protectedMode } from "./descriptors";

// Flat segments with G=1 and D/B=1: code is execute/read accessed (type 11), stack is
// read/write accessed (type 3), present, S=1, at DPL 0 or 3.
const FLAT_CODE_AR: u32 = 0xc09b;
const FLAT_STACK_AR: u32 = 0xc093;
const DPL3: u32 = 3 << 5;

// IA32_SYSENTER_CS, or 0 when its bits 15:2 are zero (a null selector), where both raise #GP(0).
function sysenterCs(): u32 {
  const cs = load<u32>(VMCS_BASE + G_MSR_SYSENTER_CS) & 0xffff;
  return (cs & 0xfffc) == 0 ? 0 : cs;
}

function loadFlat(csSel: u32, ssSel: u32, dplBits: u32): void {
  setSegment(SR_CS, csSel, 0, 0xffffffff, FLAT_CODE_AR | dplBits);
  setSegment(SR_SS, ssSel, 0, 0xffffffff, FLAT_STACK_AR | dplBits); // CPL follows SS.DPL
}

// SYSENTER: to ring 0 at IA32_SYSENTER_EIP with ESP = IA32_SYSENTER_ESP; VM, IF and RF cleared.
export function sysenter(): void {
  const cs = sysenterCs();
  if (!protectedMode() || cs == 0) { raise(EXC_GP, 0); return; }
  setEflags(getEflags() & ~(VM | IF | RF));
  const sel = cs & 0xfffc;
  loadFlat(sel, sel + 8, 0);
  w32(ESP, load<u32>(VMCS_BASE + G_MSR_SYSENTER_ESP));
  eip = load<u32>(VMCS_BASE + G_MSR_SYSENTER_EIP);
}

// SYSEXIT: from ring 0 to ring 3 at EDX with ESP = ECX; EFLAGS is unchanged.
export function sysexit(): void {
  const cs = sysenterCs();
  if (!protectedMode() || cpl != 0 || cs == 0) { raise(EXC_GP, 0); return; }
  loadFlat(((cs + 16) | 3) & 0xffff, ((cs + 24) | 3) & 0xffff, DPL3);
  w32(ESP, r32(ECX));
  eip = r32(EDX);
}
