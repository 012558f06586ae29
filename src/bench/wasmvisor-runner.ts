// Runs the vmexit guest on wasmvisor for the exit benchmarks: one fresh VM per run, configured as
// the benchmark rows ask (interrupt-flag mode, --vga-trap, INVLPG exiting), with the guest's
// console stamped line by line with the clock given (wall time, or the CPU time of this thread).
// The console callback runs inside the I/O exit's handler, so each stamp is taken the moment the
// guest writes the newline.

import { CTL_INVLPG_EXITING, C_PRIMARY } from "../../assembly/vmcs-layout.js";
import { describeStop } from "../vmm/stop-reason.js";
import { VirtualMachine } from "../vmm/virtual-machine.js";
import { BenchGuestError } from "./bench-guest-error.js";
import type { WasmvisorSetup } from "./exit-benchmarks.js";
import { LineStamper, type Clock, type StampedLine } from "./marker-timing.js";

/** Longest a run of the vmexit guest may take before it counts as hung. */
export const GUEST_TIMEOUT_SECONDS = 300;

export async function runOnWasmvisor(kernel: Uint8Array, core: BufferSource, cmdline: string, setup: WasmvisorSetup, clock: Clock): Promise<StampedLine[]> {
  const { invlpgExiting, ...options } = setup;
  const stamper = new LineStamper(clock);
  const vm = await VirtualMachine.boot(kernel, { ...options, core, cmdline: `vmexit.elf ${cmdline}`, serialOutput: (byte) => stamper.byte(byte) });
  if (invlpgExiting) vm.vmcs.set(C_PRIMARY, vm.vmcs.get(C_PRIMARY) | CTL_INVLPG_EXITING);
  const { stop } = vm.run({ timeoutSeconds: GUEST_TIMEOUT_SECONDS });
  if (stop.kind !== "guest-exit" || stop.code !== 0) {
    throw new BenchGuestError(`guests/vmexit.elf "${cmdline}" on wasmvisor: ${describeStop(stop)}`);
  }
  return stamper.lines;
}

/**
 * Whether the core makes interrupt-window exits (SDM 25.2). Without them an interrupt raised
 * while IF = 0 waits for the next exit of any kind, which in the `irq` test's spin loop is the
 * end of the time slice: millions of instructions per iteration.
 */
export async function hasInterruptWindowExits(kernel: Uint8Array, core: BufferSource): Promise<boolean> {
  const vm = await VirtualMachine.boot(kernel, { core, cmdline: "vmexit.elf 1 irq" });
  return vm.run({ maxInstructions: 1_500_000 }).stop.kind === "guest-exit";
}
