// Where indirect CALLs and JMPs (`call *%edi`, a C function pointer) went last, one slot per
// branch address's low bits (assembly/jit-abi.ts INDIRECT_TARGETS_OFFSET). The interpreter notes
// every one it performs, compiled code every one that leaves its region; the host's compiler
// reads the slot when it forms a region holding such a branch, so that a function the pointer
// calls in the same page (qsort's comparison) joins the region and the call, and the RET back,
// stay inside it (src/jit/region.ts). A stale or colliding slot only costs a guess: the compiled
// branch compares the target it computes with the blocks it holds.
import { INDIRECT_TARGETS_OFFSET, INDIRECT_TARGET_SLOTS, INDIRECT_TARGET_SIZE } from "../jit-abi";
import { VMCS_BASE, C_JIT } from "../vmcs-layout";

let slots: u32 = 0; // address of the table, 0 before the block cache exists

export function placeIndirectTargets(cacheBase: u32): void { slots = cacheBase + INDIRECT_TARGETS_OFFSET; }

// The indirect branch at `site` went to `target`. Not with the compiling tier off (the VMM's
// control), where the block cache stays untouched.
@inline export function noteIndirectTarget(site: u32, target: u32): void {
  if (slots == 0 || load<u32>(VMCS_BASE + C_JIT) == 0) return;
  const slot = slots + (site & (INDIRECT_TARGET_SLOTS - 1)) * INDIRECT_TARGET_SIZE;
  store<u32>(slot, site);
  store<u32>(slot, target, 4);
}
