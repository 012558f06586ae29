// The guest page walker: x86 32-bit paging as the guest's own tables define it (4 KiB pages,
// 4 MiB pages with CR4.PSE, global pages with CR4.PGE, U/S and R/W with CR0.WP), in the paging
// context of context.ts (its directory, its rules, its way of reading a table). Written once
// and used by every shadow miss (KVM's paging_tmpl.h plays this part). It sets the accessed and
// dirty bits in the guest's entries when an access succeeds, as hardware (and QEMU) do, and on a
// fault raises #PF with the architectural error code and CR2. The result is a shadow entry:
// the guest-physical frame plus the effective permissions of the whole walk.
import { STAT_GUEST_PAGE_FAULTS } from "../vmcs-layout";
import { addStat } from "./stats";
import { raise, EXC_PF, notePageFault } from "../cpu/state";
import {
  contextDirectory, contextWriteProtect, contextLargePages, readTableEntry, writeTableEntry,
} from "./context";
import { S_PRESENT, S_SUPER_WRITE, S_USER_READ, S_USER_WRITE } from "../jit-abi";

// Guest page-table entry bits
const PTE_P: u32 = 1;
const PTE_W: u32 = 2;
const PTE_U: u32 = 4;
const PTE_A: u32 = 0x20;
const PTE_D: u32 = 0x40;
const PDE_PS: u32 = 0x80;

// Shadow-entry bits (frame in bits 12-31): the permission bits, which compiled code tests in TLB
// entries, are in jit-abi.ts (S_PRESENT ... S_USER_WRITE); this one is the walker's own.
export const S_LARGE: u32 = 0x20; // derived from a 4 MiB page (its PDE is the only guest entry)

// #PF error-code bits
const PF_PROTECTION: u32 = 1;
const PF_WRITE: u32 = 2;
const PF_USER: u32 = 4;

function pageFault(lin: u32, present: bool, write: bool, user: bool): u32 {
  notePageFault(lin);
  raise(EXC_PF, <i32>((present ? PF_PROTECTION : 0) | (write ? PF_WRITE : 0) | (user ? PF_USER : 0)));
  addStat(STAT_GUEST_PAGE_FAULTS);
  return 0;
}

// Walk the guest tables for `lin`. Returns the shadow entry, or 0 after raising #PF.
// The walked entries' physical addresses are left in `pdeAddress` / `pteAddress` for the caller.
export let pdeAddress: u32 = 0;
export let pteAddress: u32 = 0;

export function walk(lin: u32, write: bool, user: bool): u32 {
  pdeAddress = contextDirectory + ((lin >> 22) << 2);
  const pde = readTableEntry(pdeAddress);
  if (!(pde & PTE_P)) return pageFault(lin, false, write, user);
  const wp = contextWriteProtect;
  let frame: u32;
  let allowUser: bool;
  let allowWrite: bool; // guest R/W in every level
  let dirty: bool;
  let flags: u32 = 0;
  if ((pde & PDE_PS) && contextLargePages) {
    pteAddress = 0;
    allowUser = (pde & PTE_U) != 0;
    allowWrite = (pde & PTE_W) != 0;
    if (!permitted(allowUser, allowWrite, write, user, wp)) return pageFault(lin, true, write, user);
    const updated = pde | PTE_A | (write ? PTE_D : 0);
    if (updated != pde) writeTableEntry(pdeAddress, updated);
    frame = (pde & 0xffc00000) | (lin & 0x3ff000);
    dirty = (updated & PTE_D) != 0;
    flags = S_LARGE;
  } else {
    pteAddress = (pde & 0xfffff000) + (((lin >> 12) & 0x3ff) << 2);
    const pte = readTableEntry(pteAddress);
    if (!(pte & PTE_P)) return pageFault(lin, false, write, user);
    allowUser = (pde & pte & PTE_U) != 0;
    allowWrite = (pde & pte & PTE_W) != 0;
    if (!permitted(allowUser, allowWrite, write, user, wp)) return pageFault(lin, true, write, user);
    if (!(pde & PTE_A)) writeTableEntry(pdeAddress, pde | PTE_A);
    const updated = pte | PTE_A | (write ? PTE_D : 0);
    if (updated != pte) writeTableEntry(pteAddress, updated);
    frame = pte & 0xfffff000;
    dirty = (updated & PTE_D) != 0;
  }
  // A page is writable in the shadow only once it is dirty, so the first write comes back here
  // to set D.
  flags |= S_PRESENT;
  if (allowUser) flags |= S_USER_READ;
  if (dirty && allowUser && allowWrite) flags |= S_USER_WRITE;
  if (dirty && (allowWrite || !wp)) flags |= S_SUPER_WRITE;
  return frame | flags;
}

@inline function permitted(allowUser: bool, allowWrite: bool, write: bool, user: bool, wp: bool): bool {
  if (user) return allowUser && (!write || allowWrite);
  return !write || allowWrite || !wp;
}
