// The three interrupt-flag modes of docs/design.md, as the core applies them to the IF-sensitive
// instructions (CLI STI PUSHF POPF IRET; for classic mode, the SGDT/SIDT/SLDT/STR/SMSW leaks and
// the ring the kernel is shown):
//  vt      - the guest owns IF; nothing exits (what VT-x and AMD-V give).
//  trap    - each IF-sensitive instruction exits before it executes; the VMM completes it by
//            calling emulate(), which runs it once with `emulating` set.
//  classic - pre-VT deprivileging: the guest kernel runs as if at ring 1 with IOPL 0, so CLI/STI
//            raise #GP for the VMM to catch, while POPF and IRET silently keep the real IF; the
//            guest's reads of its privilege show ring 1 (ring compression, below).
//  bt      - deprivileged as classic, but CPL-0 code runs only as translated code (assembly/bt/),
//            which performs the sensitive instructions against the virtual CPU: while it does,
//            `virtualView` is set and none of classic's deprivileging shows.
import {
  VMCS_BASE, C_IF_MODE, IF_MODE_TRAP, IF_MODE_CLASSIC, IF_MODE_BT, C_VMM_GDTR_BASE, C_VMM_GDTR_LIMIT,
  C_VMM_IDTR_BASE, C_VMM_IDTR_LIMIT, C_VMM_CR0, C_VMM_LDTR, C_VMM_TR, SR_CS, SR_SS,
} from "../vmcs-layout";
import { o32, emulating, IOPL, cpl, segSel } from "./state";
import { protectedMode } from "./descriptors";
import { vmexit } from "./vmexit";

export let ifMode: u32 = 0;

export function loadIfMode(): void { ifMode = load<u32>(VMCS_BASE + C_IF_MODE); }

// Set by the binary translator's executor (assembly/bt/executor.ts) while a rewritten instruction
// runs: it sees the virtual CPU (its own IF, tables, ring 0), not the deprivileged one.
export let virtualView: bool = false;
export function setVirtualView(on: bool): void { virtualView = on; }

// The guest kernel is deprivileged: classic, and bt outside a rewritten instruction.
@inline function deprivileged(): bool {
  return ifMode == IF_MODE_CLASSIC || (ifMode == IF_MODE_BT && !virtualView);
}
// Under bt, whether code at this CPL runs only as translated code: the guest kernel's.
@inline export function translatedOnly(): bool { return ifMode == IF_MODE_BT && cpl == 0; }

// Trap mode: exit with `reason` instead of executing. Returns true when the instruction exited.
export function trapIfSensitive(reason: u32): bool {
  if (ifMode != IF_MODE_TRAP || emulating) return false;
  vmexit(reason, o32 ? 4 : 2);
  return true;
}

// The privilege level and IOPL that decide who may change IF. In classic mode a guest kernel
// (CPL 0 in its own eyes) really runs at ring 1, and the real IOPL is the VMM's 0.
export function ifPrivilege(cpl: u32): u32 { return deprivileged() && cpl == 0 ? 1 : cpl; }
export function ifIopl(eflags: u32): u32 { return deprivileged() ? 0 : (eflags & IOPL) >> 12; }
@inline export function mayChangeIf(cpl: u32, eflags: u32): bool { return ifPrivilege(cpl) <= ifIopl(eflags); }

// SGDT/SIDT/SLDT/STR/SMSW: in classic mode the guest sees the VMM's values (the tell-tale of Popek and
// Goldberg's "sensitive but unprivileged" instructions).
export function leaksVmm(): bool { return deprivileged(); }
export function vmmTableBase(idt: bool): u32 { return load<u32>(VMCS_BASE + (idt ? C_VMM_IDTR_BASE : C_VMM_GDTR_BASE)); }
export function vmmTableLimit(idt: bool): u32 { return load<u32>(VMCS_BASE + (idt ? C_VMM_IDTR_LIMIT : C_VMM_GDTR_LIMIT)); }
export function vmmCr0(): u32 { return load<u32>(VMCS_BASE + C_VMM_CR0); }
export function vmmSystemSelector(tr: bool): u32 { return load<u32>(VMCS_BASE + (tr ? C_VMM_TR : C_VMM_LDTR)); }

// Classic mode's ring compression, as VMware's pre-VT monitor ran guest kernels: at ring 1, with
// the guest's DPL-0 descriptors shadowed as DPL 1. The core keeps the kernel at CPL 0 and shows it
// what ring 1 would: CS and SS read (MOV, PUSH, a far call's return address) with RPL 1, and its
// DPL-0 code and data descriptors with DPL 1 (LAR). A selector with RPL 1 that the kernel hands
// back (a segment load, far transfer, RETF, IRET, LAR/LSL/VERR/VERW) means its ring 0 again, as
// rings 0 and 1 are one under compression (a guest that uses ring 1 itself is not supported).
@inline function compressed(): bool { return deprivileged() && cpl == 0 && protectedMode(); }
export function shownSelector(sreg: u32): u32 {
  const sel = segSel(sreg);
  return compressed() && (sreg == SR_CS || sreg == SR_SS) ? (sel & 0xfffc) | 1 : sel;
}
// (Not under bt: there the kernel's reads of CS and SS are rewritten to show RPL 0, so a selector it
// hands back with RPL 1 is one it made itself, and keeps its RPL as on a CPU without a VMM.)
export function takenSelector(sel: u32): u32 {
  return ifMode == IF_MODE_CLASSIC && cpl == 0 && protectedMode() && (sel & 3) == 1 ? sel & 0xfffc : sel;
}
// LAR's access rights (the descriptor's high word): DPL 0 shows as 1 for a code or data segment.
export function shownAccessRights(hi: u32): u32 {
  return compressed() && (hi & 0x1000) != 0 && (hi & 0x6000) == 0 ? hi | 0x2000 : hi;
}
