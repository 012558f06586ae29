// The hypercall interface: what a guest can ask of wasmvisor with VMCALL (0F 01 C1), which always
// exits under VT-x (reason 18). The ABI follows KVM's: EAX holds the function number, EBX, ECX and
// EDX the arguments, and the result comes back in EAX (EDX:EAX for 64-bit results), negative on
// error. Only the guest kernel may call (CPL 0), as with KVM. README "Hypercalls" documents it;
// guests/lib/hypercall.h is the guest side. CPUID 0x40000001 (vendor "wasmvisor") gives the ABI
// version and the highest function number.

import { EXIT_REASON_LIMIT } from "./exits/table.js";
import type { ExitContext } from "./exits/exit-context.js";
import { readLinearBytes } from "./guest-memory.js";
import { G_CPL } from "../../assembly/vmcs-layout.js";
import { Reg } from "../core/vmcs.js";

export const HYPERCALL_ABI_VERSION = 1;

/**
 * Write ECX bytes at guest-linear EBX to the console. Returns the number of bytes written, fewer
 * (0 too) when the host's console has no room for more (its reader is not keeping up).
 */
export const HC_CONSOLE_WRITE = 1;
/** Read the virtual clock: instructions the guest has retired, in EDX:EAX. */
export const HC_CLOCK = 2;
/** End the run with status EBX, as a write to isa-debug-exit would. Does not return. */
export const HC_EXIT = 3;
/** Exits with basic reason EBX so far (this VMCALL included), in EDX:EAX. */
export const HC_EXIT_COUNT = 4;
/** Raise external interrupt vector EBX (32-255) after ECX more guest instructions. Returns 0. */
export const HC_INJECT_AFTER = 5;
/**
 * The guest drew the rectangle at x = EBX & 0xFFFF, y = EBX >> 16, ECX & 0xFFFF pixels wide and
 * ECX >> 16 high (text mode: character cells) in its frame buffer: under --display-update pv
 * the VMM copies it to the screen. Returns 0; EINVAL when it does not lie inside the frame buffer.
 */
export const HC_DISPLAY_RECT = 6;
export const HYPERCALL_MAX_FUNCTION = HC_DISPLAY_RECT;

export const HC_ENOSYS = -1; // no such function
export const HC_EFAULT = -2; // a guest pointer the guest's page tables do not map
export const HC_EINVAL = -3; // an argument out of range
export const HC_EPERM = -4; // called from CPL > 0

/** Longest console write in one call; a longer one is refused (EINVAL), so one exit stays short. */
export const MAX_CONSOLE_WRITE = 0x10000;
/** Vectors 0-31 are the CPU's exceptions; an external interrupt on one would confuse any guest. */
const FIRST_INTERRUPT_VECTOR = 32;

type Hypercall = (vm: ExitContext, ebx: number, ecx: number) => number;

/** Puts a 64-bit count in EDX:EAX and returns the low half, which the caller puts in EAX. */
function returnPair(vm: ExitContext, value: number): number {
  vm.vmcs.setEdxEax(value);
  return vm.vmcs.reg(Reg.EAX);
}

const HYPERCALLS: Record<number, Hypercall> = {
  [HC_CONSOLE_WRITE]: (vm, pointer, length) => {
    if (length > MAX_CONSOLE_WRITE) return HC_EINVAL;
    // A short write, as write(2) to a full pipe: only what is accepted is read from the guest.
    const accepted = Math.min(length, vm.consoleRoom());
    const bytes = readLinearBytes(vm, pointer, accepted);
    if (bytes === undefined) return HC_EFAULT;
    vm.writeConsole(bytes);
    return accepted;
  },
  [HC_CLOCK]: (vm) => returnPair(vm, vm.vmcs.instructionsRetired()),
  [HC_EXIT]: (vm, status) => {
    vm.stop({ kind: "guest-exit", code: status });
    return 0;
  },
  [HC_EXIT_COUNT]: (vm, reason) => returnPair(vm, reason < EXIT_REASON_LIMIT ? vm.stats.count(reason) : 0),
  [HC_INJECT_AFTER]: (vm, vector, instructions) => {
    if (vector < FIRST_INTERRUPT_VECTOR || vector > 255) return HC_EINVAL;
    vm.timer.schedule(vector, instructions);
    return 0;
  },
  [HC_DISPLAY_RECT]: (vm, position, size) =>
    vm.display.reportRectangle(position & 0xffff, position >>> 16, size & 0xffff, size >>> 16) ? 0 : HC_EINVAL,
};

/** Carries out the hypercall the guest's registers describe and puts the result in EAX. */
export function hypercall(vm: ExitContext): void {
  const { vmcs } = vm;
  const call = HYPERCALLS[vmcs.reg(Reg.EAX)];
  let result: number;
  if (vmcs.get(G_CPL) !== 0) result = HC_EPERM;
  else if (call === undefined) result = HC_ENOSYS;
  else result = call(vm, vmcs.reg(Reg.EBX), vmcs.reg(Reg.ECX));
  vmcs.setReg(Reg.EAX, result);
}

/** The function's name, for traces. */
export function hypercallName(func: number): string {
  return HYPERCALL_NAMES[func] ?? `function ${func}`;
}

const HYPERCALL_NAMES: Record<number, string> = {
  [HC_CONSOLE_WRITE]: "console-write",
  [HC_CLOCK]: "clock",
  [HC_EXIT]: "exit",
  [HC_EXIT_COUNT]: "exit-count",
  [HC_INJECT_AFTER]: "inject-after",
  [HC_DISPLAY_RECT]: "display-rect",
};
