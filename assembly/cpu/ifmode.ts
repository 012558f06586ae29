// The three interrupt-flag modes of docs/design.md, as the core applies them to the IF-sensitive
// instructions (CLI STI PUSHF POPF IRET, and SGDT/SIDT/SMSW for classic mode's leaks):
//  vt      - the guest owns IF; nothing exits (what VT-x and AMD-V give).
//  trap    - each IF-sensitive instruction exits before it executes; the VMM completes it by
//            calling emulate(), which runs it once with `emulating` set.
//  classic - pre-VT deprivileging: the guest kernel runs as if at ring 1 with IOPL 0, so CLI/STI
//            raise #GP for the VMM to catch, while POPF and IRET silently keep the real IF.
import {
  VMCS_BASE, C_IF_MODE, IF_MODE_TRAP, IF_MODE_CLASSIC, C_VMM_GDTR_BASE, C_VMM_GDTR_LIMIT,
  C_VMM_IDTR_BASE, C_VMM_IDTR_LIMIT, C_VMM_CR0,
} from "../vmcs-layout";
import { o32, emulating, IOPL } from "./state";
import { vmexit } from "./vmexit";

export let ifMode: u32 = 0;

export function loadIfMode(): void { ifMode = load<u32>(VMCS_BASE + C_IF_MODE); }

// Trap mode: exit with `reason` instead of executing. Returns true when the instruction exited.
export function trapIfSensitive(reason: u32): bool {
  if (ifMode != IF_MODE_TRAP || emulating) return false;
  vmexit(reason, o32 ? 4 : 2);
  return true;
}

// The privilege level and IOPL that decide who may change IF. In classic mode a guest kernel
// (CPL 0 in its own eyes) really runs at ring 1, and the real IOPL is the VMM's 0.
export function ifPrivilege(cpl: u32): u32 { return ifMode == IF_MODE_CLASSIC && cpl == 0 ? 1 : cpl; }
export function ifIopl(eflags: u32): u32 { return ifMode == IF_MODE_CLASSIC ? 0 : (eflags & IOPL) >> 12; }
@inline export function mayChangeIf(cpl: u32, eflags: u32): bool { return ifPrivilege(cpl) <= ifIopl(eflags); }

// SGDT/SIDT/SMSW: in classic mode the guest sees the VMM's values (the tell-tale of Popek and
// Goldberg's "sensitive but unprivileged" instructions).
export function leaksVmm(): bool { return ifMode == IF_MODE_CLASSIC; }
export function vmmTableBase(idt: bool): u32 { return load<u32>(VMCS_BASE + (idt ? C_VMM_IDTR_BASE : C_VMM_GDTR_BASE)); }
export function vmmTableLimit(idt: bool): u32 { return load<u32>(VMCS_BASE + (idt ? C_VMM_IDTR_LIMIT : C_VMM_GDTR_LIMIT)); }
export function vmmCr0(): u32 { return load<u32>(VMCS_BASE + C_VMM_CR0); }
