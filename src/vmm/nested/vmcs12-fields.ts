// The VMCS fields L1 can name with VMREAD and VMWRITE: the SDM's encodings (Vol. 3D appendix B)
// of every field of the features vmx-capabilities.ts offers on a 32-bit processor, and where each
// lives in L1's VMCS region (VMCS12 in KVM's terms). That layout is ours to choose, as it is
// implementation-specific on hardware: the revision ID, the VMX-abort indicator, the launch state,
// then one 8-byte slot per field in the order below. The region is in L1's RAM and L1 can write it
// directly, so nothing read from it is trusted (vmcs12.ts checks every access against RAM).
//
// An encoding (SDM 25.11.2): bit 0 access type (1: the high 32 bits of a 64-bit field), bits 9:1
// index, bits 11:10 type (0 control, 1 read-only data, 2 guest state, 3 host state), bits 14:13
// width (0 16-bit, 1 64-bit, 2 32-bit, 3 natural width); bits 12 and 15-31 are 0.
//
// The core reads the same description, encoded as its field table (FIELD_TABLE below), when it
// completes VMREAD and VMWRITE under VMCS shadowing (vmcs-shadowing.ts).

import {
  FIELD_CLEARS_HIGH, FIELD_READ_ONLY, FIELD_SUPPORTED, FIELD_TABLE_ENTRIES, FIELD_16_BIT,
} from "../../../assembly/vmcs-layout.js";

export const enum FieldWidth {
  Bits16 = 0,
  Bits64 = 1,
  Bits32 = 2,
  Natural = 3,
}
export const enum FieldType {
  Control = 0,
  ReadOnly = 1,
  Guest = 2,
  Host = 3,
}

/** Byte offsets in L1's VMCS region of the header words. */
export const REGION_REVISION = 0;
export const REGION_ABORT = 4;
export const REGION_LAUNCH_STATE = 8;
/** The launch-state word's value for "launched"; anything else reads as clear. */
export const LAUNCHED = 1;
const FIRST_SLOT = 16;
const SLOT_BYTES = 8;

// Field encodings by name, for the VMM's own use (entry checks, exits).
export const VMCS_FIELD = {
  GUEST_ES_SELECTOR: 0x0800, GUEST_CS_SELECTOR: 0x0802, GUEST_SS_SELECTOR: 0x0804, GUEST_DS_SELECTOR: 0x0806,
  GUEST_FS_SELECTOR: 0x0808, GUEST_GS_SELECTOR: 0x080a, GUEST_LDTR_SELECTOR: 0x080c, GUEST_TR_SELECTOR: 0x080e,
  HOST_ES_SELECTOR: 0x0c00, HOST_CS_SELECTOR: 0x0c02, HOST_SS_SELECTOR: 0x0c04, HOST_DS_SELECTOR: 0x0c06,
  HOST_FS_SELECTOR: 0x0c08, HOST_GS_SELECTOR: 0x0c0a, HOST_TR_SELECTOR: 0x0c0c,
  IO_BITMAP_A: 0x2000, IO_BITMAP_B: 0x2002, MSR_BITMAP: 0x2004, EXIT_MSR_STORE_ADDRESS: 0x2006,
  EXIT_MSR_LOAD_ADDRESS: 0x2008, ENTRY_MSR_LOAD_ADDRESS: 0x200a, EXECUTIVE_VMCS_POINTER: 0x200c, TSC_OFFSET: 0x2010,
  VMCS_LINK_POINTER: 0x2800, GUEST_DEBUGCTL: 0x2802,
  PIN_CONTROLS: 0x4000, PRIMARY_CONTROLS: 0x4002, EXCEPTION_BITMAP: 0x4004, PAGE_FAULT_ERROR_MASK: 0x4006,
  PAGE_FAULT_ERROR_MATCH: 0x4008, CR3_TARGET_COUNT: 0x400a, EXIT_CONTROLS: 0x400c, EXIT_MSR_STORE_COUNT: 0x400e,
  EXIT_MSR_LOAD_COUNT: 0x4010, ENTRY_CONTROLS: 0x4012, ENTRY_MSR_LOAD_COUNT: 0x4014, ENTRY_INTERRUPTION_INFO: 0x4016,
  ENTRY_EXCEPTION_ERROR_CODE: 0x4018, ENTRY_INSTRUCTION_LENGTH: 0x401a,
  VM_INSTRUCTION_ERROR: 0x4400, EXIT_REASON: 0x4402, EXIT_INTERRUPTION_INFO: 0x4404, EXIT_INTERRUPTION_ERROR_CODE: 0x4406,
  IDT_VECTORING_INFO: 0x4408, IDT_VECTORING_ERROR_CODE: 0x440a, EXIT_INSTRUCTION_LENGTH: 0x440c, EXIT_INSTRUCTION_INFO: 0x440e,
  GUEST_ES_LIMIT: 0x4800, GUEST_CS_LIMIT: 0x4802, GUEST_SS_LIMIT: 0x4804, GUEST_DS_LIMIT: 0x4806,
  GUEST_FS_LIMIT: 0x4808, GUEST_GS_LIMIT: 0x480a, GUEST_LDTR_LIMIT: 0x480c, GUEST_TR_LIMIT: 0x480e,
  GUEST_GDTR_LIMIT: 0x4810, GUEST_IDTR_LIMIT: 0x4812,
  GUEST_ES_ACCESS_RIGHTS: 0x4814, GUEST_CS_ACCESS_RIGHTS: 0x4816, GUEST_SS_ACCESS_RIGHTS: 0x4818, GUEST_DS_ACCESS_RIGHTS: 0x481a,
  GUEST_FS_ACCESS_RIGHTS: 0x481c, GUEST_GS_ACCESS_RIGHTS: 0x481e, GUEST_LDTR_ACCESS_RIGHTS: 0x4820, GUEST_TR_ACCESS_RIGHTS: 0x4822,
  GUEST_INTERRUPTIBILITY: 0x4824, GUEST_ACTIVITY_STATE: 0x4826, GUEST_SMBASE: 0x4828, GUEST_SYSENTER_CS: 0x482a,
  HOST_SYSENTER_CS: 0x4c00,
  CR0_GUEST_HOST_MASK: 0x6000, CR4_GUEST_HOST_MASK: 0x6002, CR0_READ_SHADOW: 0x6004, CR4_READ_SHADOW: 0x6006,
  CR3_TARGET_0: 0x6008, CR3_TARGET_1: 0x600a, CR3_TARGET_2: 0x600c, CR3_TARGET_3: 0x600e,
  EXIT_QUALIFICATION: 0x6400, IO_RCX: 0x6402, IO_RSI: 0x6404, IO_RDI: 0x6406, IO_RIP: 0x6408, GUEST_LINEAR_ADDRESS: 0x640a,
  GUEST_CR0: 0x6800, GUEST_CR3: 0x6802, GUEST_CR4: 0x6804,
  GUEST_ES_BASE: 0x6806, GUEST_CS_BASE: 0x6808, GUEST_SS_BASE: 0x680a, GUEST_DS_BASE: 0x680c,
  GUEST_FS_BASE: 0x680e, GUEST_GS_BASE: 0x6810, GUEST_LDTR_BASE: 0x6812, GUEST_TR_BASE: 0x6814,
  GUEST_GDTR_BASE: 0x6816, GUEST_IDTR_BASE: 0x6818, GUEST_DR7: 0x681a, GUEST_RSP: 0x681c, GUEST_RIP: 0x681e,
  GUEST_RFLAGS: 0x6820, GUEST_PENDING_DEBUG_EXCEPTIONS: 0x6822, GUEST_SYSENTER_ESP: 0x6824, GUEST_SYSENTER_EIP: 0x6826,
  HOST_CR0: 0x6c00, HOST_CR3: 0x6c02, HOST_CR4: 0x6c04, HOST_FS_BASE: 0x6c06, HOST_GS_BASE: 0x6c08,
  HOST_TR_BASE: 0x6c0a, HOST_GDTR_BASE: 0x6c0c, HOST_IDTR_BASE: 0x6c0e, HOST_SYSENTER_ESP: 0x6c10,
  HOST_SYSENTER_EIP: 0x6c12, HOST_RSP: 0x6c14, HOST_RIP: 0x6c16,
} as const;

/** A supported field: where its value lives in the region, and what kind of field it is. */
export interface FieldSlot {
  /** Byte offset of the field's slot (the low 32 bits; a 64-bit field's high half follows). */
  offset: number;
  width: FieldWidth;
  type: FieldType;
  /** The encoding names the high 32 bits of a 64-bit field. */
  high: boolean;
}

export const fieldWidth = (encoding: number): FieldWidth => (encoding >>> 13) & 3;
export const fieldType = (encoding: number): FieldType => (encoding >>> 10) & 3;
const fieldIndex = (encoding: number) => (encoding >>> 1) & 0x1ff;

const SLOTS: ReadonlyMap<number, FieldSlot> = (() => {
  const slots = new Map<number, FieldSlot>();
  Object.values(VMCS_FIELD).forEach((encoding, i) => {
    const slot = { offset: FIRST_SLOT + i * SLOT_BYTES, width: fieldWidth(encoding), type: fieldType(encoding) };
    slots.set(encoding, { ...slot, high: false });
    if (slot.width === FieldWidth.Bits64) slots.set(encoding + 1, { ...slot, offset: slot.offset + 4, high: true });
  });
  return slots;
})();

/** By encoding (all are below 8000H): the 32-bit word of its slot in the region, for L0's own accesses (vmcs12.ts). */
export const SLOT_WORD = (() => {
  const words = new Int16Array(0x8000).fill(-1);
  for (const [encoding, slot] of SLOTS) words[encoding] = slot.offset >> 2;
  return words;
})();

/** Every supported encoding as the core's field table has it (assembly/vmcs-layout.ts, FIELD_*). */
export const FIELD_TABLE = (() => {
  const table = new Uint16Array(FIELD_TABLE_ENTRIES);
  for (const [encoding, slot] of SLOTS) {
    table[encoding] =
      FIELD_SUPPORTED |
      (slot.type === FieldType.ReadOnly ? FIELD_READ_ONLY : 0) |
      (slot.width === FieldWidth.Bits16 ? FIELD_16_BIT : 0) |
      (slot.width === FieldWidth.Bits64 && !slot.high ? FIELD_CLEARS_HIGH : 0) |
      (slot.offset >> 2);
  }
  return table;
})();

/** The slot of a field L1 names, or undefined when this VMCS does not support the encoding (VMfailValid 12). */
export function fieldSlot(encoding: number): FieldSlot | undefined {
  return SLOTS.get(encoding >>> 0);
}

/** The field's name (VMCS_FIELD's, with "_HIGH" for the high half of a 64-bit field), or undefined when this VMCS does not support the encoding. */
export function fieldName(encoding: number): string | undefined {
  return NAMES.get(encoding >>> 0);
}

const NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(VMCS_FIELD).flatMap(([name, encoding]): Array<[number, string]> =>
    fieldWidth(encoding) === FieldWidth.Bits64 ? [[encoding, name], [encoding + 1, `${name}_HIGH`]] : [[encoding, name]],
  ),
);

/** The bits a field holds: 16-bit fields are zero-extended, every other access is 32 bits wide. */
export function fieldMask(slot: FieldSlot): number {
  return slot.width === FieldWidth.Bits16 ? 0xffff : 0xffffffff;
}

/** What IA32_VMX_VMCS_ENUM reports in bits 9:1: the highest index of any supported encoding. */
export function highestFieldIndex(): number {
  return Math.max(...Object.values(VMCS_FIELD).map(fieldIndex));
}

/** The bytes of the region the layout uses (every slot fits the region size IA32_VMX_BASIC reports). */
export const REGION_BYTES_USED = FIRST_SLOT + Object.keys(VMCS_FIELD).length * SLOT_BYTES;
