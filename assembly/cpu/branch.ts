// Near branches: the target check every JMP, CALL, RET, Jcc and LOOP makes before it commits
// (SDM: #GP(0) before anything changes when the target is beyond the CS limit).
import { eip, o32, raise, segLimit, EXC_GP } from "./state";
import { SR_CS } from "../vmcs-layout";

// A near branch target, wrapped to the operand size; false after raising #GP(0).
@inline export function branchTarget(target: u32): bool {
  if ((o32 ? target : target & 0xffff) > segLimit(SR_CS)) { raise(EXC_GP, 0); return false; }
  return true;
}
@inline export function jumpTo(target: u32): void {
  if (branchTarget(target)) eip = o32 ? target : target & 0xffff;
}
