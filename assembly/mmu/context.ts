// The paging context a translation is made in: which page directory the walk starts from, the
// rules it follows (CR0.WP, CR4.PSE), how a paging-structure entry is read and written, and the
// address-space tag under which shadows and TLB banks are kept. Today the one context in use is
// the guest's own: its root from CR3 at every address-space switch (loadGuestRoot), its rules from
// CR0 and CR4 whenever they change (loadGuestRules). A guest hypervisor's guest will be a second
// context: another root, another tag, and table reads that go through its hypervisor's
// translation first (as KVM's struct kvm_mmu does with its walk_mmu).
import { VMCS_BASE, G_CR3 } from "../vmcs-layout";
import { cr0, cr4, CR0_PG, CR0_WP, CR4_PSE } from "../cpu/state";
import { physRead32, physWrite32 } from "../memory/physical";

// Address spaces are told apart by (rules << 33) | (level << 32) | directory frame | 1: never 0,
// so 0 can mean "no address space". The level (0: the guest's own) keeps a nested guest's spaces
// apart from its hypervisor's even where their directories share a frame number. The rules
// (KVM's role bits) are those a shadow entry's permissions and shape depend on, CR0.WP and
// CR4.PSE: a shadow made under other rules is another shadow, so a guest hypervisor and its
// guest paging under different rules each keep theirs across level switches, where a flush at
// every rule change would rebuild them at every switch. CR4.PGE is not among them: the TLB never
// keeps a translation the guest's tables no longer give (tlb.ts), so global pages change nothing.
const GUEST_LEVEL: u64 = 0;
const RULE_WRITE_PROTECT: u64 = 1;
const RULE_LARGE_PAGES: u64 = 2;

export let contextDirectory: u32 = 0; // guest-physical address of the page directory
export let contextTag: u64 = 0;
let contextCr3: u32 = 0; // the raw CR3 the context was loaded from (any 32-bit value is possible)
export let contextWriteProtect: bool = false; // CR0.WP: supervisor writes honour R/W
export let contextLargePages: bool = false; // CR4.PSE: 4 MiB pages
let contextRules: u64 = 0; // the two above as RULE_* bits, for the tag

// The guest's own address space, from its CR3 in the VMCS (a CR3-target hit does this inside the
// guest's MOV to CR3: it stays a few loads and stores).
export function loadGuestRoot(): void {
  contextCr3 = load<u32>(VMCS_BASE + G_CR3);
  contextDirectory = contextCr3 & 0xfffff000;
  contextTag = (contextRules << 33) | (GUEST_LEVEL << 32) | <u64>(contextDirectory | 1);
}

// The guest's paging rules, from its CR0 and CR4 in the VMCS (the root is loaded again after
// this: its tag has the rules).
export function loadGuestRules(): void {
  contextWriteProtect = (cr0() & CR0_WP) != 0;
  contextLargePages = (cr4() & CR4_PSE) != 0;
  contextRules = (contextWriteProtect ? RULE_WRITE_PROTECT : 0) | (contextLargePages ? RULE_LARGE_PAGES : 0);
}

// Whether the loaded context is still the guest's (its CR3 unchanged since loadGuestRoot).
@inline export function guestContextCurrent(): bool {
  return contextCr3 == load<u32>(VMCS_BASE + G_CR3);
}

// The paging controls translations depend on: CR0.PG, CR0.WP and CR4.PSE.
export function guestPagingControls(): u32 {
  return (cr0() & (CR0_PG | CR0_WP)) | (cr4() & CR4_PSE);
}

// How the walker reads and updates a paging-structure entry at guest-physical `p`.
@inline export function readTableEntry(p: u32): u32 { return physRead32(p); }
@inline export function writeTableEntry(p: u32, v: u32): void { physWrite32(p, v); }
