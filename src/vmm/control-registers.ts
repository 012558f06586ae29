// CR0 and CR4 as the VMM treats them: the architectural bits it checks, and which bits it owns
// through the VMCS guest/host masks. Writing an owned bit away from its read shadow exits (reason
// 28, exits/cr-access.ts). We own:
//  - CR0.PG, CR0.WP and CR4.PSE, CR4.PGE: the paging-mode bits a shadow MMU must see change (the
//    core follows them at the next entry, followPagingRules in assembly/mmu/mmu.ts; KVM intercepts
//    the same bits when it shadows page tables);
//  - the CR4 bits of features CPUID does not report (VME, PVI, DE, PAE, MCE, OSFXSR, OSXMMEXCPT):
//    on this CPU they are reserved, so setting one gets the guest #GP(0), as on a real CPU
//    without the feature.

export const CR0_PE = 1 << 0;
export const CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4;
export const CR0_WP = 1 << 16;
export const CR0_NW = 1 << 29;
export const CR0_CD = 1 << 30;
export const CR0_PG = 1 << 31;

const CR4_VME = 1 << 0;
const CR4_PVI = 1 << 1;
const CR4_DE = 1 << 3;
const CR4_PSE = 1 << 4;
const CR4_PAE = 1 << 5;
const CR4_MCE = 1 << 6;
const CR4_PGE = 1 << 7;
const CR4_OSFXSR = 1 << 9;
const CR4_OSXMMEXCPT = 1 << 10;

/** CR4 bits for features this CPU does not have (see cpuid.ts). */
export const CR4_UNSUPPORTED = CR4_VME | CR4_PVI | CR4_DE | CR4_PAE | CR4_MCE | CR4_OSFXSR | CR4_OSXMMEXCPT;

/** Guest/host masks: the bits whose writes exit. */
export const CR0_OWNED = (CR0_PG | CR0_WP) >>> 0;
export const CR4_OWNED = CR4_PSE | CR4_PGE | CR4_UNSUPPORTED;
