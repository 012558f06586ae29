// Exits whose handling is pure data, completed by the core itself: CPUID answered from the table
// the VMM wrote (its CPU model, src/vmm/exits/cpuid.ts), and IN/OUT to a latched port, a register
// that only holds what was last written (the UART's scratch register), kept here for its device.
// The exit still happens in the VT-x sense: the instruction is intercepted as before, its reason,
// qualification and length are recorded in the VMCS exit-information fields, it is counted
// (the VMM adds the counts to its statistics), and it does not retire, as an exit the VMM
// completes does not. What is saved is the round trip to the VMM in JavaScript. The VMM allows it
// only while nobody watches exits one by one (tracing, timing, listeners, pre-dispatch stages);
// otherwise every exit goes to it as before. Anything unusual takes that path too: emulate()'s
// run, single-stepping, and blocking by STI or MOV SS (which the exit would end).
import { VMCS_BASE, X_REASON, X_QUALIFICATION, X_INSTRUCTION_LENGTH, EXIT_CPUID, EXIT_IO, IOQ_IN } from "../vmcs-layout";
import {
  IC_ENABLED, IN_CORE_CPUID, IN_CORE_IO, IC_CPUID_EXITS_LO, IC_IO_EXITS_LO, IC_CPUID_RANGE_COUNT, IC_CPUID_RANGES,
  CPUID_RANGE_SIZE, MAX_CPUID_RANGES, IC_LATCH_COUNT, IC_LATCHES, LATCH_PORT, LATCH_MASK, LATCH_VALUE, LATCH_SIZE,
  MAX_LATCHES, EXITS_IN_CORE_BYTES,
} from "../exits-in-core-layout";
import { eip, instrStart, emulating, TF, EAX, EBX, ECX, EDX, r32, w32 } from "../cpu/state";
import { flagsWord } from "../cpu/flags";
import { noteNotRetired, inEventShadow } from "../cpu/retirement";
import { l2Runs } from "./level-switch";

const area = memory.data(EXITS_IN_CORE_BYTES, 8);

export function exitsInCoreArea(): usize { return area; }

// A fresh VM: nothing is handled here until the VMM programs the area.
export function clearExitsInCore(): void { memory.fill(area, 0, EXITS_IN_CORE_BYTES); }

// Whether an exit of this kind may complete here now; if so it is recorded and counted.
function takeExit(kind: u32, reason: u32, qualification: u32, counter: usize): bool {
  // While a nested guest (L2) runs, its exits are for its hypervisor to see first.
  if (!(load<u32>(area + IC_ENABLED) & kind) || emulating || (flagsWord & TF) || inEventShadow() || l2Runs()) return false;
  store<u32>(VMCS_BASE + X_REASON, reason);
  store<u32>(VMCS_BASE + X_QUALIFICATION, qualification);
  store<u32>(VMCS_BASE + X_INSTRUCTION_LENGTH, eip - instrStart);
  store<u64>(area + counter, load<u64>(area + counter) + 1);
  noteNotRetired();
  return true;
}

// CPUID at instrStart, EIP past it: true if answered here (the instruction is complete).
export function cpuidInCore(): bool {
  const leaf = r32(EAX);
  const count = min(load<u32>(area + IC_CPUID_RANGE_COUNT), MAX_CPUID_RANGES);
  for (let i: u32 = 0; i < count; i++) {
    const range = area + IC_CPUID_RANGES + i * CPUID_RANGE_SIZE;
    if (leaf < load<u32>(range) || leaf > load<u32>(range, 4)) continue;
    if (!takeExit(IN_CORE_CPUID, EXIT_CPUID, 0, IC_CPUID_EXITS_LO)) return false;
    w32(EAX, load<u32>(range, 8));
    w32(EBX, load<u32>(range, 12));
    w32(ECX, load<u32>(range, 16));
    w32(EDX, load<u32>(range, 20));
    return true;
  }
  return false; // a leaf the table does not cover: the VMM answers
}

// IN or OUT (not string) that exits with `qualification`: true if the port is latched and the
// access was completed here. As the I/O bus does, an access goes wholly to the register at its
// first port; IN returns the register in the low bits of the access (the rest of EAX kept).
export function portIoInCore(port: u32, bytes: u32, qualification: u32): bool {
  const count = min(load<u32>(area + IC_LATCH_COUNT), MAX_LATCHES);
  for (let i: u32 = 0; i < count; i++) {
    const latch = area + IC_LATCHES + i * LATCH_SIZE;
    if (load<u32>(latch, LATCH_PORT) != port) continue;
    if (!takeExit(IN_CORE_IO, EXIT_IO, qualification, IC_IO_EXITS_LO)) return false;
    const sizeMask: u32 = bytes == 4 ? 0xffffffff : (1 << (bytes << 3)) - 1;
    const eax = r32(EAX);
    if (qualification & IOQ_IN) w32(EAX, (eax & ~sizeMask) | (load<u32>(latch, LATCH_VALUE) & sizeMask));
    else store<u32>(latch, eax & sizeMask & load<u32>(latch, LATCH_MASK), LATCH_VALUE);
    return true;
  }
  return false;
}
