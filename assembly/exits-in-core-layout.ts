// The exits the core handles for the VMM (assembly/vm/exits-in-core.ts, src/vmm/exits-in-core.ts):
// the layout of the area the VMM programs and reads. Plain TypeScript that is also valid
// AssemblyScript, as vmcs-layout.ts. The area is the VMM's, not the guest's: it is not part of a
// saved machine (the VMM programs it again for every VM), so none of it is in the VMCS.
// Offsets are in bytes from the area's start (the core's exitsInCoreArea()).

// Which exits the core may complete itself (the VMM clears it while anyone watches exits one by one).
export const IC_ENABLED = 0x00;
export const IN_CORE_CPUID = 1 << 0;
export const IN_CORE_IO = 1 << 1;
// u64 counts of the exits the core completed, per kind; the VMM adds them to its statistics and
// clears them (ExitStats).
export const IC_CPUID_EXITS_LO = 0x08;
export const IC_IO_EXITS_LO = 0x10;
// CPUID: ranges of leaves, first match wins; each is first, last (inclusive, unsigned), EAX EBX ECX EDX.
export const IC_CPUID_RANGE_COUNT = 0x18;
export const IC_CPUID_RANGES = 0x20;
export const CPUID_RANGE_SIZE = 24;
export const MAX_CPUID_RANGES = 32;
// Latched ports: registers that only hold what was last written (the UART's scratch register).
// Each is the port, the mask of the bits the register keeps, and its value.
export const IC_LATCH_COUNT = IC_CPUID_RANGES + MAX_CPUID_RANGES * CPUID_RANGE_SIZE;
export const IC_LATCHES = IC_LATCH_COUNT + 4;
export const LATCH_PORT = 0;
export const LATCH_MASK = 4;
export const LATCH_VALUE = 8;
export const LATCH_SIZE = 12;
export const MAX_LATCHES = 8;
export const EXITS_IN_CORE_BYTES = IC_LATCHES + MAX_LATCHES * LATCH_SIZE;
