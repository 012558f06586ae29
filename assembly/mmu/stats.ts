// The MMU's counters live in the VMCS statistics area itself, where the VMM reads them (--stats),
// so that a VM exit has nothing to publish. A saved VMCS carries them over to a restored VM.
import { VMCS_BASE } from "../vmcs-layout";

@inline export function addStat(field: u32, n: i32 = 1): void {
  store<u32>(VMCS_BASE + field, load<u32>(VMCS_BASE + field) + <u32>n);
}
