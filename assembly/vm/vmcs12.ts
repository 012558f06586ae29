// Fields of L1's VMCS (vmcs12) the core reads and writes for a nested level switch: their SDM
// encodings (Vol. 3D appendix B; the VMM names every field in src/vmm/nested/vmcs12-fields.ts),
// and their words found through the field table the VMM wrote from that one description of the
// region's layout (assembly/cpu/vmcs-shadowing.ts). `v` is a 4 KiB region inside RAM.
import { fieldWord } from "../cpu/vmcs-shadowing";
import { ramBase } from "../memory/physical";

export const GUEST_ES_SELECTOR: u32 = 0x0800;
export const HOST_ES_SELECTOR: u32 = 0x0c00;
export const HOST_CS_SELECTOR: u32 = 0x0c02;
export const HOST_SS_SELECTOR: u32 = 0x0c04;
export const HOST_DS_SELECTOR: u32 = 0x0c06;
export const HOST_FS_SELECTOR: u32 = 0x0c08;
export const HOST_GS_SELECTOR: u32 = 0x0c0a;
export const HOST_TR_SELECTOR: u32 = 0x0c0c;
export const IO_BITMAP_A: u32 = 0x2000;
export const IO_BITMAP_B: u32 = 0x2002;
export const MSR_BITMAP: u32 = 0x2004;
export const EXIT_MSR_STORE_ADDRESS: u32 = 0x2006;
export const EXIT_MSR_LOAD_ADDRESS: u32 = 0x2008;
export const ENTRY_MSR_LOAD_ADDRESS: u32 = 0x200a;
export const TSC_OFFSET: u32 = 0x2010;
export const VMCS_LINK_POINTER: u32 = 0x2800;
export const PIN_CONTROLS: u32 = 0x4000;
export const PRIMARY_CONTROLS: u32 = 0x4002;
export const EXCEPTION_BITMAP: u32 = 0x4004;
export const PAGE_FAULT_ERROR_MASK: u32 = 0x4006;
export const PAGE_FAULT_ERROR_MATCH: u32 = 0x4008;
export const CR3_TARGET_COUNT_FIELD: u32 = 0x400a;
export const EXIT_CONTROLS: u32 = 0x400c;
export const EXIT_MSR_STORE_COUNT: u32 = 0x400e;
export const EXIT_MSR_LOAD_COUNT: u32 = 0x4010;
export const ENTRY_CONTROLS: u32 = 0x4012;
export const ENTRY_MSR_LOAD_COUNT: u32 = 0x4014;
export const ENTRY_INTERRUPTION_INFO: u32 = 0x4016;
export const ENTRY_EXCEPTION_ERROR_CODE: u32 = 0x4018;
export const ENTRY_INSTRUCTION_LENGTH: u32 = 0x401a;
export const EXIT_REASON: u32 = 0x4402;
export const EXIT_INTERRUPTION_INFO: u32 = 0x4404;
export const EXIT_INTERRUPTION_ERROR_CODE: u32 = 0x4406;
export const IDT_VECTORING_INFO: u32 = 0x4408;
export const IDT_VECTORING_ERROR_CODE: u32 = 0x440a;
export const EXIT_INSTRUCTION_LENGTH: u32 = 0x440c;
export const EXIT_INSTRUCTION_INFO: u32 = 0x440e;
export const GUEST_ES_LIMIT: u32 = 0x4800;
export const GUEST_GDTR_LIMIT: u32 = 0x4810;
export const GUEST_IDTR_LIMIT: u32 = 0x4812;
export const GUEST_ES_ACCESS_RIGHTS: u32 = 0x4814;
export const GUEST_INTERRUPTIBILITY: u32 = 0x4824;
export const GUEST_ACTIVITY_STATE: u32 = 0x4826;
export const GUEST_SYSENTER_CS: u32 = 0x482a;
export const HOST_SYSENTER_CS: u32 = 0x4c00;
export const CR0_GUEST_HOST_MASK: u32 = 0x6000;
export const CR4_GUEST_HOST_MASK: u32 = 0x6002;
export const CR0_READ_SHADOW: u32 = 0x6004;
export const CR4_READ_SHADOW: u32 = 0x6006;
export const CR3_TARGET_0: u32 = 0x6008;
export const EXIT_QUALIFICATION: u32 = 0x6400;
export const GUEST_LINEAR_ADDRESS: u32 = 0x640a;
export const GUEST_CR0: u32 = 0x6800;
export const GUEST_CR3: u32 = 0x6802;
export const GUEST_CR4: u32 = 0x6804;
export const GUEST_ES_BASE: u32 = 0x6806;
export const GUEST_GDTR_BASE: u32 = 0x6816;
export const GUEST_IDTR_BASE: u32 = 0x6818;
export const GUEST_DR7: u32 = 0x681a;
export const GUEST_RSP: u32 = 0x681c;
export const GUEST_RIP: u32 = 0x681e;
export const GUEST_RFLAGS: u32 = 0x6820;
export const GUEST_PENDING_DEBUG_EXCEPTIONS: u32 = 0x6822;
export const GUEST_SYSENTER_ESP: u32 = 0x6824;
export const GUEST_SYSENTER_EIP: u32 = 0x6826;
export const HOST_CR0: u32 = 0x6c00;
export const HOST_CR3: u32 = 0x6c02;
export const HOST_CR4: u32 = 0x6c04;
export const HOST_FS_BASE: u32 = 0x6c06;
export const HOST_GS_BASE: u32 = 0x6c08;
export const HOST_TR_BASE: u32 = 0x6c0a;
export const HOST_GDTR_BASE: u32 = 0x6c0c;
export const HOST_IDTR_BASE: u32 = 0x6c0e;
export const HOST_SYSENTER_ESP: u32 = 0x6c10;
export const HOST_SYSENTER_EIP: u32 = 0x6c12;
export const HOST_RSP: u32 = 0x6c14;
export const HOST_RIP: u32 = 0x6c16;

@inline function at12(v: u32, encoding: u32): usize { return ramBase + v + (fieldWord(encoding) << 2); }
@inline export function read12(v: u32, encoding: u32): u32 { return load<u32>(at12(v, encoding)); }
// vmcs12 is data, not code: plain stores, as the VMM's own writes into it.
@inline export function write12(v: u32, encoding: u32, value: u32): void { store<u32>(at12(v, encoding), value); }
