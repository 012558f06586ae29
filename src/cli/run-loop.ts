// The CLI's run loop around VirtualMachine.run(): the guest runs in chunks of 50 ms
// with Node's event loop turning in between, so that SIGINT, SIGTERM and SIGHUP are noticed
// (a synchronous run would leave them pending until the guest stopped) and the run can end cleanly:
// the terminal restored, the disk image flushed, the statistics printed. The user's limits
// (--max-instructions, --timeout) apply to the whole run; the result adds the chunks up.

import type { RunLimits, RunResult, VirtualMachine } from "../vmm/virtual-machine.js";

const CHUNK_SECONDS = 0.05;
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** 128 + the signal number, the shell's status for a process a signal ended. */
export const signalStatus: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export async function runUntilStopped(vm: VirtualMachine, limits: RunLimits): Promise<RunResult> {
  const start = performance.now();
  const deadline = limits.timeoutSeconds === undefined ? Infinity : start + limits.timeoutSeconds * 1000;
  let caught: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => (caught ??= signal);
  for (const signal of SIGNALS) process.on(signal, onSignal);
  let instructions = 0;
  try {
    for (;;) {
      const chunk = Math.min(CHUNK_SECONDS, Math.max(0.001, (deadline - performance.now()) / 1000));
      const result = vm.run({ ...limits, timeoutSeconds: chunk });
      instructions += result.instructions;
      const seconds = (performance.now() - start) / 1000;
      if (result.stop.kind !== "timeout") return { stop: result.stop, instructions, seconds };
      if (performance.now() >= deadline) return { stop: { kind: "timeout", seconds: limits.timeoutSeconds! }, instructions, seconds };
      await new Promise((resolve) => setImmediate(resolve));
      if (caught !== undefined) return { stop: { kind: "interrupted", by: caught }, instructions, seconds };
    }
  } finally {
    for (const signal of SIGNALS) process.off(signal, onSignal);
  }
}
