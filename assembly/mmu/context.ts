// The paging context a translation is made in: which page directory the walk starts from, the
// rules it follows (CR0.WP, CR4.PSE, CR4.PGE), how a paging-structure entry is read and written,
// and the address-space tag under which shadows and TLB banks are kept. Today the one context in
// use is the guest's own: its root from CR3 at every address-space switch (loadGuestRoot), its
// rules from CR0 and CR4 whenever they change (loadGuestRules). A guest
// hypervisor's guest will be a second context: another root, another tag, and table reads that go
// through its hypervisor's translation first (as KVM's struct kvm_mmu does with its walk_mmu).
import { VMCS_BASE, G_CR3 } from "../vmcs-layout";
import { cr0, cr4, CR0_PG, CR0_WP, CR4_PSE, CR4_PGE } from "../cpu/state";
import { physRead32, physWrite32 } from "../memory/physical";

// Address spaces are told apart by (level << 32) | directory frame | 1: never 0, so 0 can mean
// "no address space"; the level (0: the guest's own) keeps a nested guest's spaces apart from its
// hypervisor's even where their directories share a frame number.
const GUEST_LEVEL: u64 = 0;

export let contextDirectory: u32 = 0; // guest-physical address of the page directory
export let contextTag: u64 = 0;
let contextCr3: u32 = 0; // the raw CR3 the context was loaded from (any 32-bit value is possible)
export let contextWriteProtect: bool = false; // CR0.WP: supervisor writes honour R/W
export let contextLargePages: bool = false; // CR4.PSE: 4 MiB pages
export let contextGlobalPages: bool = false; // CR4.PGE: global pages

// The guest's own address space, from its CR3 in the VMCS (a CR3-target hit does this inside the
// guest's MOV to CR3: it stays a few loads and stores).
export function loadGuestRoot(): void {
  contextCr3 = load<u32>(VMCS_BASE + G_CR3);
  contextDirectory = contextCr3 & 0xfffff000;
  contextTag = (GUEST_LEVEL << 32) | <u64>(contextDirectory | 1);
}

// The guest's paging rules, from its CR0 and CR4 in the VMCS.
export function loadGuestRules(): void {
  contextWriteProtect = (cr0() & CR0_WP) != 0;
  contextLargePages = (cr4() & CR4_PSE) != 0;
  contextGlobalPages = (cr4() & CR4_PGE) != 0;
}

// Whether the loaded context is still the guest's (its CR3 unchanged since loadGuestRoot).
@inline export function guestContextCurrent(): bool {
  return contextCr3 == load<u32>(VMCS_BASE + G_CR3);
}

// The rules a shadow entry was computed under: shadows made under other rules are wrong.
export function guestPagingRules(): u32 {
  return (cr0() & (CR0_PG | CR0_WP)) | (cr4() & (CR4_PSE | CR4_PGE));
}

// How the walker reads and updates a paging-structure entry at guest-physical `p`.
@inline export function readTableEntry(p: u32): u32 { return physRead32(p); }
@inline export function writeTableEntry(p: u32, v: u32): void { physWrite32(p, v); }
