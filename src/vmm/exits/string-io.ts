// INS and OUTS, with or without REP, emulated element by element as the SDM describes them: each
// element moves between the port and memory at ES:(E)DI (INS) or seg:(E)SI (OUTS), the index
// register steps by the element size up or down per EFLAGS.DF, and with REP (E)CX counts down, so
// the guest's registers are exact even if an element faults part-way. Memory goes through the
// core's MMU (translateLinear); an unmapped element raises #PF in the guest with EIP still at the
// instruction, as the CPU would, and the guest re-executes it after handling the fault.

import { G_EFLAGS, IOQ_IN, IOQ_REP, X_GUEST_LINEAR, X_INSTRUCTION_INFO } from "../../../assembly/vmcs-layout.js";
import { EFLAGS_DF, Reg } from "../../core/vmcs.js";
import type { IoSize } from "../../devices/device.js";
import { readLinear, writeLinear } from "../guest-memory.js";
import { injectAccessFault } from "../inject.js";
import type { ExitContext } from "./exit-context.js";

/**
 * Elements moved per exit at most. A longer REP leaves EIP on the instruction, so the guest
 * re-executes it and exits again: the run loop keeps control and a runaway count cannot hang it.
 */
export const MAX_ELEMENTS_PER_EXIT = 0x10000;

export function emulateStringIo(vm: ExitContext, qualification: number): void {
  const { vmcs } = vm;
  const size = ((qualification & 7) + 1) as IoSize;
  const port = qualification >>> 16;
  const input = (qualification & IOQ_IN) !== 0;
  const rep = (qualification & IOQ_REP) !== 0;
  // Instruction-information bits 7-9: address size (0 = 16-bit, 1 = 32-bit).
  const addressMask = ((vmcs.get(X_INSTRUCTION_INFO) >>> 7) & 7) === 0 ? 0xffff : 0xffffffff;
  const indexReg = input ? Reg.EDI : Reg.ESI;
  const step = vmcs.get(G_EFLAGS) & EFLAGS_DF ? -size : size;

  let index = vmcs.reg(indexReg);
  // The exit gives the linear address of the first element; the segment base is what remains
  // after taking the index away, and every element's address is base + index (which wraps at
  // 64 KiB with a 16-bit address size).
  const segmentBase = (vmcs.get(X_GUEST_LINEAR) - (index & addressMask)) >>> 0;
  let count = rep ? (vmcs.reg(Reg.ECX) & addressMask) >>> 0 : 1; // unsigned: a count of 2^31 or more is a count
  let done = 0;
  for (; count > 0 && done < MAX_ELEMENTS_PER_EXIT && !vm.stopped; done++) {
    if (!moveElement(vm, input, port, size, (segmentBase + (index & addressMask)) >>> 0)) break;
    index = ((index & ~addressMask) | ((index + step) & addressMask)) >>> 0;
    vmcs.setReg(indexReg, index);
    count--;
    if (rep) vmcs.setReg(Reg.ECX, (vmcs.reg(Reg.ECX) & ~addressMask) | count);
  }
  vm.chargeHostWork(done);
  if (count === 0) vmcs.skipInstruction();
}

/** One element between the port and memory at `linear`; false if that raised #PF in the guest. */
function moveElement(vm: ExitContext, input: boolean, port: number, size: IoSize, linear: number): boolean {
  if (input) {
    const value = vm.bus.read(port, size);
    if (writeLinear(vm, linear, size, value)) return true;
    injectAccessFault(vm.vmcs, linear, true);
    return false;
  }
  const value = readLinear(vm, linear, size);
  if (value === undefined) {
    injectAccessFault(vm.vmcs, linear, false);
    return false;
  }
  vm.bus.write(port, size, value);
  return true;
}
