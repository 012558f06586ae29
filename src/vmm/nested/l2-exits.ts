// Which of L2's exits L1 asked for (KVM's nested_vmx_l1_wants_exit): decided from L1's controls in
// its VMCS (vmcs12) and the exit information, as the SDM's chapter 26 ("Instructions that cause VM
// exits") says a CPU running L2 under L1's VMCS would have exited. Exits L1 did not ask for are
// L0's own (its time slices, its interrupt timer, the ports and CR bits it intercepts for itself).
//  - always: triple fault, CPUID, VMCALL and the VMX instructions (they exit unconditionally);
//  - by a control: HLT, INVLPG, RDTSC, interrupt window, CR3 loads (the core already compared
//    L1's CR3-target list), CR3 stores;
//  - by L1's I/O bitmaps when "use I/O bitmaps" is set, else by "unconditional I/O exiting";
//  - RDMSR/WRMSR by L1's MSR bitmaps when it uses them, else every one;
//  - MOV to CR0/CR4, CLTS and LMSW by L1's guest/host masks and read shadows;
//  - exceptions by L1's exception bitmap, a #PF also by its error-code mask and match.
// Bitmaps live in L1's memory and are read at the exit: a byte outside RAM reads as all ones (exit).

import {
  CTL_CR3_LOAD_EXITING, CTL_CR3_STORE_EXITING, CTL_HLT_EXITING, CTL_INTERRUPT_WINDOW, CTL_INVLPG_EXITING,
  CTL_RDTSC_EXITING, CTL_UNCONDITIONAL_IO, CTL_USE_IO_BITMAPS, CTL_USE_MSR_BITMAPS, EXIT_CPUID, EXIT_CR_ACCESS, EXIT_EXCEPTION, EXIT_HLT,
  EXIT_INTERRUPT_WINDOW, EXIT_INVLPG, EXIT_IO, EXIT_RDMSR, EXIT_RDTSC, EXIT_TRIPLE_FAULT, EXIT_VMCALL, EXIT_VMCLEAR,
  EXIT_VMXON, EXIT_WRMSR, INTR_HAS_ERROR, X_INTR_ERROR, X_INTR_INFO, X_QUALIFICATION,
} from "../../../assembly/vmcs-layout.js";
import { Reg, type Vmcs } from "../../core/vmcs.js";
import { CR0_PE, CR0_TS } from "../control-registers.js";
import { CR_ACCESS_CLTS, CR_ACCESS_LMSW, CR_ACCESS_MOV_FROM, CR_ACCESS_MOV_TO, decodeCrAccess } from "../exits/cr-access.js";
import { VMCS_FIELD as F } from "./vmcs12-fields.js";
import type { Vmcs12 } from "./vmcs12.js";

const VECTOR_PF = 14;

/** Whether L1's controls ask for this exit of L2's. */
export function l1WantsExit(vmcs: Vmcs, ram: Uint8Array, v: Vmcs12, reason: number): boolean {
  const primary = v.read(F.PRIMARY_CONTROLS);
  switch (reason) {
    case EXIT_TRIPLE_FAULT:
    case EXIT_CPUID:
    case EXIT_VMCALL:
      return true;
    case EXIT_HLT:
      return (primary & CTL_HLT_EXITING) !== 0;
    case EXIT_INVLPG:
      return (primary & CTL_INVLPG_EXITING) !== 0;
    case EXIT_RDTSC:
      return (primary & CTL_RDTSC_EXITING) !== 0;
    case EXIT_INTERRUPT_WINDOW:
      return (primary & CTL_INTERRUPT_WINDOW) !== 0;
    case EXIT_EXCEPTION:
      return exceptionWanted(vmcs, v);
    case EXIT_CR_ACCESS:
      return crAccessWanted(vmcs, v, primary);
    case EXIT_IO:
      return ioWanted(vmcs.get(X_QUALIFICATION), ram, v, primary);
    case EXIT_RDMSR:
    case EXIT_WRMSR:
      return msrWanted(vmcs.reg(Reg.ECX), reason === EXIT_WRMSR, ram, v, primary);
    default:
      return reason >= EXIT_VMCLEAR && reason <= EXIT_VMXON;
  }
}

/** SDM 26.2: a #PF exits when bit 14 is set exactly when (error code AND mask) = match. */
function exceptionWanted(vmcs: Vmcs, v: Vmcs12): boolean {
  const info = vmcs.get(X_INTR_INFO);
  const vector = info & 0xff;
  const bitmap = v.read(F.EXCEPTION_BITMAP);
  const bit = ((bitmap >>> vector) & 1) === 1;
  if (vector !== VECTOR_PF) return bit;
  const errorCode = info & INTR_HAS_ERROR ? vmcs.get(X_INTR_ERROR) : 0;
  const matches = ((errorCode & v.read(F.PAGE_FAULT_ERROR_MASK)) >>> 0) === v.read(F.PAGE_FAULT_ERROR_MATCH);
  return bit === matches;
}

/** SDM 26.1.3: a write exits when it changes a bit L1 owns away from L1's read shadow. */
function crAccessWanted(vmcs: Vmcs, v: Vmcs12, primary: number): boolean {
  const { cr, type, gpr, lmswData } = decodeCrAccess(vmcs.get(X_QUALIFICATION));
  if (cr === 3) return (primary & (type === CR_ACCESS_MOV_FROM ? CTL_CR3_STORE_EXITING : CTL_CR3_LOAD_EXITING)) !== 0;
  const mask = v.read(cr === 4 ? F.CR4_GUEST_HOST_MASK : F.CR0_GUEST_HOST_MASK);
  const shadow = v.read(cr === 4 ? F.CR4_READ_SHADOW : F.CR0_READ_SHADOW);
  if (type === CR_ACCESS_MOV_TO) return ((vmcs.reg(gpr) ^ shadow) & mask) !== 0;
  if (type === CR_ACCESS_CLTS) return (mask & shadow & CR0_TS) !== 0;
  if (type === CR_ACCESS_LMSW) {
    // LMSW cannot clear PE: only setting an owned PE whose shadow is clear exits.
    const setsPe = (mask & CR0_PE) !== 0 && !(shadow & CR0_PE) && (lmswData & CR0_PE) !== 0;
    return setsPe || ((lmswData ^ shadow) & mask & 0xe) !== 0;
  }
  return false;
}

/** A bit of a bitmap in L1's memory (outside RAM, at 2 GiB and above too: 1, as an empty bus reads); SVM's IOPM and MSRPM too. */
export function bitmapBit(ram: Uint8Array, base: number, bit: number): boolean {
  const at = (base >>> 0) + (bit >>> 3);
  return at >= ram.length || ((ram[at] >>> (bit & 7)) & 1) === 1;
}

/** SDM 26.1.3: with I/O bitmaps, any port of the access with its bit set (or wrapping past FFFFH) exits. */
function ioWanted(qualification: number, ram: Uint8Array, v: Vmcs12, primary: number): boolean {
  if (!(primary & CTL_USE_IO_BITMAPS)) return (primary & CTL_UNCONDITIONAL_IO) !== 0;
  const port = qualification >>> 16;
  const size = (qualification & 7) + 1;
  if (port + size > 0x10000) return true;
  for (let p = port; p < port + size; p++) {
    if (bitmapBit(ram, v.read(p < 0x8000 ? F.IO_BITMAP_A : F.IO_BITMAP_B), p & 0x7fff)) return true;
  }
  return false;
}

/** SDM 25.6.9: the read bitmaps for MSRs 0-1FFFH and C0000000H-C0001FFFH, the write bitmaps 2 KiB on; any other MSR exits. */
function msrWanted(msr: number, write: boolean, ram: Uint8Array, v: Vmcs12, primary: number): boolean {
  if (!(primary & CTL_USE_MSR_BITMAPS)) return true;
  const high = msr >= 0xc0000000 && msr <= 0xc0001fff;
  if (msr > 0x1fff && !high) return true;
  return bitmapBit(ram, v.read(F.MSR_BITMAP) + (write ? 0x800 : 0) + (high ? 0x400 : 0), msr & 0x1fff);
}
