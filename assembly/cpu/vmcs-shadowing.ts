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
import { cpl, raise, EXC_GP, pending, ARITH_FLAGS } from "./state";
import { flagsWord, lazyMask } from "./flags";
import { modReg, readReg, readRm, writeRm } from "./modrm";
import { ramBase, ramSize } from "../memory/physical";
import { storeTracked } from "../jit/code-pages";

const REGION_BYTES: u32 = 0x1000;
const fieldTable = memory.data(FIELD_TABLE_ENTRIES * 2, 2);

export function vmcsFieldTable(): usize { return fieldTable; }

// The 32-bit word of the region where the field `encoding` (a supported one) lives.
@inline export function fieldWord(encoding: u32): u32 { return <u32>load<u16>(fieldTable + (encoding << 1)) & FIELD_WORD; }

// VMREAD (write = false) or VMWRITE whose ModR/M is decoded and whose #UD checks passed: true when
// it completed here (or faulted), false when it must exit.
export function shadowedVmreadVmwrite(write: bool): bool {
  if (!(load<u32>(VMCS_BASE + C_SECONDARY) & CTL2_VMCS_SHADOWING)) return false;
  const shadow = load<u32>(VMCS_BASE + C_VMCS_LINK);
  if (ramSize < REGION_BYTES || shadow > ramSize - REGION_BYTES) return false;
  const encoding = readReg(modReg, 4);
  if (encoding >= <u32>FIELD_TABLE_ENTRIES) return false;
  const field = <u32>load<u16>(fieldTable + (encoding << 1));
  if (!(field & FIELD_SUPPORTED) || (write && (field & FIELD_READ_ONLY))) return false;
  if (cpl != 0) { raise(EXC_GP, 0); return true; }
  const mask: u32 = field & FIELD_16_BIT ? 0xffff : 0xffffffff;
  const at = shadow + ((field & FIELD_WORD) << 2);
  if (write) {
    // The source is read first: its fault leaves the VMCS as it was.
    const value = readRm(4);
    if (pending) return true;
    storeTracked(at, value & mask, 4);
    if (field & FIELD_CLEARS_HIGH) storeTracked(at + 4, 0, 4);
  } else {
    writeRm(4, load<u32>(ramBase + at) & mask);
    if (pending) return true;
  }
  // VMsucceed: CF PF AF ZF SF OF clear.
  flagsWord &= ~ARITH_FLAGS;
  lazyMask = 0;
  return true;
}
