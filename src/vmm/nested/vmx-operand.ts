// The operands of an exiting VMX instruction, from the exit information alone, as KVM's
// get_vmx_mem_address does: the VM-exit instruction-information field (SDM Vol. 3C tables 28-9
// and 28-13; assembly/cpu/vmx-instructions.ts fills it) names the registers and segment, the exit
// qualification holds the displacement. A memory operand gets the segment checks the instruction
// itself would make (#GP(0), or #SS(0) through SS) and its bytes go through the guest's paging
// (#PF): on a fault the exception is injected and the instruction does not complete.

import {
  AR_UNUSABLE,
  SR_SS,
  VMX_INFO_NO_BASE,
  VMX_INFO_NO_INDEX,
  VMX_INFO_REGISTER,
  X_INSTRUCTION_INFO,
  X_QUALIFICATION,
} from "../../../assembly/vmcs-layout.js";
import type { Reg } from "../../core/vmcs.js";
import { firstUnmapped, readLinear, writeLinear } from "../guest-memory.js";
import { VECTOR_GP, VECTOR_SS, injectException, injectAccessFault } from "../inject.js";
import type { ExitContext } from "../exits/exit-context.js";

// Segment access rights (VMCS format): type bits 0-3, D/B bit 14.
const AR_CODE = 1 << 3;
const AR_READABLE_OR_WRITABLE = 1 << 1;
const AR_EXPAND_DOWN = 1 << 2;
const AR_BIG = 1 << 14;

export type VmxOperand = { register: Reg } | { linear: number };

/** The r/m operand (VMREAD's destination, VMWRITE's source, the pointer of the others). */
export function vmxOperand(vm: ExitContext, size: number, write: boolean): VmxOperand | undefined {
  const { vmcs } = vm;
  const info = vmcs.get(X_INSTRUCTION_INFO);
  if (info & VMX_INFO_REGISTER) return { register: ((info >>> 3) & 0xf) as Reg };
  const addressMask = ((info >>> 7) & 7) === 0 ? 0xffff : 0xffffffff;
  const base = info & VMX_INFO_NO_BASE ? 0 : vmcs.reg((info >>> 23) & 0xf);
  const index = info & VMX_INFO_NO_INDEX ? 0 : vmcs.reg((info >>> 18) & 0xf) << (info & 3);
  const offset = ((base + index + vmcs.get(X_QUALIFICATION)) & addressMask) >>> 0;
  const sreg = (info >>> 15) & 7;
  const segment = vmcs.segment(sreg);
  if (!segmentAllows(segment.ar, segment.limit, offset, size, write)) {
    injectException(vmcs, sreg === SR_SS ? VECTOR_SS : VECTOR_GP, 0);
    return undefined;
  }
  return { linear: (segment.base + offset) >>> 0 };
}

/** VMREAD and VMWRITE's other operand: the register in bits 28-31 (the field encoding). */
export function vmxRegister2(vm: ExitContext): Reg {
  return (vm.vmcs.get(X_INSTRUCTION_INFO) >>> 28) as Reg;
}

// The protected-mode checks of a data access (SDM Vol. 3A 5.3 and 5.4): a usable segment, readable
// (code) or writable (data) as the access needs, and the whole operand inside its limit.
function segmentAllows(ar: number, limit: number, offset: number, size: number, write: boolean): boolean {
  if (ar & AR_UNUSABLE) return false;
  const code = (ar & AR_CODE) !== 0;
  if (write ? code || !(ar & AR_READABLE_OR_WRITABLE) : code && !(ar & AR_READABLE_OR_WRITABLE)) return false;
  const last = offset + size - 1;
  if (!code && ar & AR_EXPAND_DOWN) return offset > limit && last <= (ar & AR_BIG ? 0xffffffff : 0xffff);
  return last <= limit;
}

/** Reads `words` 32-bit words at `linear`; undefined once the #PF is injected. */
export function readOperand(vm: ExitContext, linear: number, words: number): number[] | undefined {
  if (!mapped(vm, linear, words * 4, false)) return undefined;
  return Array.from({ length: words }, (_, i) => readLinear(vm, (linear + 4 * i) >>> 0, 4)!);
}

/** Writes the 32-bit words in order at `linear`, all or nothing; false once the #PF is injected. */
export function writeOperand(vm: ExitContext, linear: number, words: number[]): boolean {
  if (!mapped(vm, linear, words.length * 4, true)) return false;
  words.forEach((word, i) => writeLinear(vm, (linear + 4 * i) >>> 0, 4, word));
  return true;
}

/** Whether every byte is mapped for the access; if not, the #PF for the first that is not is injected. */
function mapped(vm: ExitContext, linear: number, length: number, write: boolean): boolean {
  const fault = firstUnmapped(vm, linear, length, write);
  if (fault === undefined) return true;
  injectAccessFault(vm.vmcs, fault, write);
  return false;
}
