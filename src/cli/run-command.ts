// `wasmvisor run <kernel>`: boot one Multiboot kernel with the guest's serial console on stdout,
// and turn how the run ended into the process exit status (see exit-status.ts). Diagnostics go to
// stderr so stdout is exactly what the guest printed, as with `qemu-system-i386 -serial stdio`.

import { readFile } from "node:fs/promises";
import { LoadError } from "../loader/load-error.js";
import { qemuStyleCmdline } from "../loader/multiboot.js";
import { describeStop } from "../vmm/stop-reason.js";
import { VirtualMachine, type RunResult } from "../vmm/virtual-machine.js";
import { ConsoleOutput } from "./console-output.js";
import { EXIT_GUEST_DID_NOT_EXIT, EXIT_OUTPUT_CLOSED, UsageError } from "./exit-status.js";

export interface RunOptions {
  mem: number;
  cmdline?: string;
  maxInstructions?: number;
  timeout?: number;
  stats?: boolean;
}

/** Returns the process exit status. */
export async function runCommand(kernelPath: string, options: RunOptions): Promise<number> {
  const kernel = await readKernel(kernelPath);
  // A reader that closed stdout wants no more: end at once, as a Unix tool killed by SIGPIPE.
  const guestConsole = new ConsoleOutput(undefined, () => process.exit(EXIT_OUTPUT_CLOSED));
  const vm = await VirtualMachine.create({ memoryMiB: options.mem, serialOutput: guestConsole.write });
  try {
    vm.loadKernel(kernel, qemuStyleCmdline(kernelPath, options.cmdline));
  } catch (error) {
    if (error instanceof LoadError) throw new UsageError(`${kernelPath}: ${error.message}`);
    throw error;
  }

  let result: RunResult;
  try {
    result = vm.run({ maxInstructions: options.maxInstructions, timeoutSeconds: options.timeout, onSliceEnd: guestConsole.flush });
  } finally {
    guestConsole.flush();
  }

  if (options.stats) process.stderr.write(formatStats(vm, result));
  if (result.stop.kind === "guest-exit") return result.stop.code & 0xff;
  process.stderr.write(`wasmvisor: ${describeStop(result.stop)}\n${vm.registerDump()}\n`);
  return EXIT_GUEST_DID_NOT_EXIT;
}

async function readKernel(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : (error as Error).message;
    throw new UsageError(`cannot read kernel ${path}: ${why}`);
  }
}

function formatStats(vm: VirtualMachine, result: RunResult): string {
  const mips = result.seconds > 0 ? result.instructions / result.seconds / 1e6 : 0;
  const lines = [`--- ${vm.stats.total} VM exits ---`];
  for (const { reason, name, count } of vm.stats.entries()) {
    lines.push(`${String(reason).padStart(5)}  ${name.padEnd(24)} ${String(count).padStart(12)}`);
  }
  lines.push(`${result.instructions} instructions in ${result.seconds.toFixed(3)} s: ${mips.toFixed(1)} MIPS`);
  return `${lines.join("\n")}\n`;
}
