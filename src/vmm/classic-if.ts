// CLI and STI under `--if-mode classic`, where the guest kernel is deprivileged and both raise #GP
// for the VMM to catch: the trap-and-emulate half of pre-VT virtualisation. The VMM decodes the
// instruction at the guest's EIP (prefixes allowed, as the CPU allows them), applies it to the
// virtual interrupt flag (guest-interrupt-flag.ts) and moves EIP past it; STI also starts the
// one-instruction interrupt shadow, as it does on hardware when it sets IF. Only the guest kernel,
// or code whose IOPL allows it, gets this: anywhere else the #GP is the guest's own.

import { G_CPL, G_EFLAGS, G_EIP, G_INTERRUPTIBILITY, INTERRUPTIBILITY_STI, INTR_VALID, SR_CS, X_VECTORING_INFO } from "../../assembly/vmcs-layout.js";
import type { ExitContext } from "./exits/exit-context.js";
import { readLinear } from "./guest-memory.js";

const CLI = 0xfa;
const STI = 0xfb;
/** Segment overrides, operand/address size, LOCK, REP: prefixes CLI and STI may carry. */
const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);
const MAX_INSTRUCTION_LENGTH = 15;
const IOPL_SHIFT = 12;

/** Emulates the CLI or STI that raised this #GP; false if the #GP came from anything else. */
export function emulateClassicIf(vm: ExitContext): boolean {
  const { vmcs } = vm;
  // A #GP raised while an event was delivered (through a bad gate, say) is the event's, whatever EIP points at.
  if (vmcs.get(X_VECTORING_INFO) & INTR_VALID) return false;
  const cpl = vmcs.get(G_CPL);
  if (cpl !== 0 && cpl > ((vmcs.get(G_EFLAGS) >>> IOPL_SHIFT) & 3)) return false;
  const start = (vmcs.segment(SR_CS).base + vmcs.get(G_EIP)) >>> 0;
  for (let length = 1; length <= MAX_INSTRUCTION_LENGTH; length++) {
    const byte = readLinear(vm, (start + length - 1) >>> 0, 1);
    if (byte === undefined) return false;
    if (PREFIXES.has(byte)) continue;
    if (byte !== CLI && byte !== STI) return false;
    vmcs.advanceEip(length);
    const wasEnabled = vm.interrupts.flag.enabled();
    vm.interrupts.flag.setVirtual(byte === STI);
    if (byte === STI && !wasEnabled) vmcs.set(G_INTERRUPTIBILITY, INTERRUPTIBILITY_STI);
    vm.interrupts.deliver();
    return true;
  }
  return false;
}
