// VMCS shadowing (SDM 25.10; VMREAD and VMWRITE in VMX non-root operation, Vol. 3C chapter 31):
// the part of the hardware feature L0 uses to let a guest hypervisor's VMREAD and VMWRITE complete
// without a VM exit (src/vmm/nested/vmcs-shadowing.ts turns it on). The shadow VMCS is the guest
// hypervisor's current VMCS region itself, in guest RAM, laid out as the field table says (the VMM
// writes the table from src/vmm/nested/vmcs12-fields.ts, the one description of that layout), so
// L0 reads what the core wrote with nothing to copy. Only what succeeds is done here: a field the
// table does not support (or a read-only one for VMWRITE), a link pointer that is not a region in
// RAM, shadowing off, all exit as before, and L0 gives its VMfail; what is left for the core is
// #GP(0) at CPL > 0, the operand's own faults, and VMsucceed.
import {
  VMCS_BASE, C_SECONDARY, CTL2_VMCS_SHADOWING, C_VMCS_LINK, FIELD_TABLE_ENTRIES, FIELD_SUPPORTED,
  FIELD_READ_ONLY, FIELD_16_BIT, FIELD_CLEARS_HIGH, FIELD_WORD,
} from "../vmcs-layout";
import { cpl, raise, EXC_GP, pending, ARITH_FLAGS, cr4, CR4_VMXE, r32, w32 } from "./state";
import { flagsWord, lazyMask } from "./flags";
import { modReg, readReg, readRm, writeRm } from "./modrm";
import { ramBase, ramSize } from "../memory/physical";
import { storeTracked } from "../jit/code-pages";

const REGION_BYTES: u32 = 0x1000;
const fieldTable = memory.data(FIELD_TABLE_ENTRIES * 2, 2);

export function vmcsFieldTable(): usize { return fieldTable; }

// The 32-bit word of the region where the field `encoding` (a supported one) lives.
@inline export function fieldWord(encoding: u32): u32 { return <u32>load<u16>(fieldTable + (encoding << 1)) & FIELD_WORD; }

// The field-table entry of `encoding` when an access to it completes here: shadowing on, the link
// pointer a region in RAM, a supported field, not read-only for VMWRITE. 0 when it must exit.
function shadowedField(encoding: u32, write: bool): u32 {
  if (!(load<u32>(VMCS_BASE + C_SECONDARY) & CTL2_VMCS_SHADOWING)) return 0;
  const shadow = load<u32>(VMCS_BASE + C_VMCS_LINK);
  if (ramSize < REGION_BYTES || shadow > ramSize - REGION_BYTES) return 0;
  if (encoding >= <u32>FIELD_TABLE_ENTRIES) return 0;
  const field = <u32>load<u16>(fieldTable + (encoding << 1));
  if (!(field & FIELD_SUPPORTED) || (write && (field & FIELD_READ_ONLY))) return 0;
  return field;
}

// The field's word in RAM (of the shadow VMCS, which shadowedField() checked) and its width.
@inline function shadowSlot(field: u32): u32 { return load<u32>(VMCS_BASE + C_VMCS_LINK) + ((field & FIELD_WORD) << 2); }
@inline function fieldMask(field: u32): u32 { return field & FIELD_16_BIT ? 0xffff : 0xffffffff; }

function writeShadow(field: u32, value: u32): void {
  const at = shadowSlot(field);
  storeTracked(at, value & fieldMask(field), 4);
  if (field & FIELD_CLEARS_HIGH) storeTracked(at + 4, 0, 4);
}
@inline function readShadow(field: u32): u32 { return load<u32>(ramBase + shadowSlot(field)) & fieldMask(field); }

// VMsucceed: CF PF AF ZF SF OF clear.
function vmSucceed(): void {
  flagsWord &= ~ARITH_FLAGS;
  lazyMask = 0;
}

// VMREAD (write = false) or VMWRITE whose ModR/M is decoded and whose #UD checks passed: true when
// it completed here (or faulted), false when it must exit.
export function shadowedVmreadVmwrite(write: bool): bool {
  const field = shadowedField(readReg(modReg, 4), write);
  if (!field) return false;
  if (cpl != 0) { raise(EXC_GP, 0); return true; }
  if (write) {
    // The source is read first: its fault leaves the VMCS as it was.
    const value = readRm(4);
    if (pending) return true;
    writeShadow(field, value);
  } else {
    writeRm(4, readShadow(field));
    if (pending) return true;
  }
  vmSucceed();
  return true;
}

// VMREAD or VMWRITE between registers (`reg` the encoding's, `rm` the other) for a compiled block,
// which runs in protected mode, never virtual-8086, and holds no prefixed VMX form: true when it
// completed here; false, changing nothing, when the interpreter must perform it (CR4.VMXE clear,
// CPL > 0, or a field that exits).
export function shadowedRegisterAccess(write: bool, reg: u32, rm: u32): bool {
  if (!(cr4() & CR4_VMXE) || cpl != 0) return false;
  const field = shadowedField(r32(reg), write);
  if (!field) return false;
  if (write) writeShadow(field, r32(rm));
  else w32(rm, readShadow(field));
  vmSucceed();
  return true;
}
