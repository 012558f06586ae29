// The VMX capability a guest hypervisor (L1) sees, as numbers both halves use: the VMM reports them
// in the capability MSRs (src/vmm/nested/vmx-capabilities.ts says what each bit is and why) and
// the core checks a VM entry against them (assembly/vm/vmentry-checks.ts). Plain TypeScript that
// is also valid AssemblyScript, as vmcs-layout.ts.

/** Our VMCS revision identifier ("XVMW"; bit 31 is the shadow-VMCS indicator and stays clear). */
export const VMCS_REVISION = 0x574d5658;
export const VMCS_REGION_SIZE = 0x1000;

// Each control field's allowed-0 settings (bits that must be 1) and allowed-1 settings (bits that may be 1).
export const PIN_ALLOWED0 = 0x16; // default1 bits 1, 2, 4
export const PIN_ALLOWED1 = 0x17; // and external-interrupt exiting (0)
export const PRIMARY_ALLOWED0 = 0x0401e172; // default1 bits 1, 4-6, 8, 13-16, 26
// and interrupt window (2), TSC offsetting (3), HLT (7), INVLPG (9), RDTSC (12), unconditional I/O
// (24), I/O bitmaps (25), MSR bitmaps (28)
export const PRIMARY_ALLOWED1 = 0x1701f3fe;
export const EXIT_ALLOWED0 = 0x00036dff; // default1 bits 0-8, 10, 11, 13, 14, 16, 17; nothing optional
export const EXIT_ALLOWED1 = EXIT_ALLOWED0;
export const ENTRY_ALLOWED0 = 0x000011ff; // default1 bits 0-8, 12; nothing optional
export const ENTRY_ALLOWED1 = ENTRY_ALLOWED0;

export const CR0_FIXED0 = 0x80000021; // PG NE PE
export const CR0_FIXED1 = 0xffffffff;
export const CR4_VMXE = 1 << 13;
export const CR4_FIXED0 = CR4_VMXE;
/** TSD, PSE, PGE, PCE and VMXE: the CR4 bits this CPU can hold. */
export const CR4_FIXED1 = 0x2194;

export const CR3_TARGET_COUNT = 4;
