// `wasmvisor run <kernel>`: boot one Multiboot kernel with the guest's console on stdout, and turn
// how the run ended into the process exit status (see exit-status.ts). Diagnostics go to stderr so
// stdout is exactly what the guest printed, as with `qemu-system-i386 -serial stdio`: the
// one-line stop reason, `--trace exits` (one line per VM exit) and `--stats`.

import { writeSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { LoadError } from "../loader/load-error.js";
import { qemuStyleCmdline } from "../loader/multiboot.js";
import { formatExitTrace } from "../vmm/exit-event.js";
import { describeStop } from "../vmm/stop-reason.js";
import type { VmConfig } from "../vmm/vm-config.js";
import { VirtualMachine, type RunResult } from "../vmm/virtual-machine.js";
import { ConsoleOutput } from "./console-output.js";
import { EXIT_GUEST_DID_NOT_EXIT, EXIT_OUTPUT_CLOSED, UsageError } from "./exit-status.js";
import { formatStats, statsJson } from "./stats-report.js";

export interface RunOptions extends VmConfig {
  mem: number;
  cmdline?: string;
  maxInstructions?: number;
  timeout?: number;
  stats?: boolean;
  statsJson?: string;
  trace?: "exits";
}

/** Returns the process exit status. */
export async function runCommand(kernelPath: string, options: RunOptions): Promise<number> {
  const kernel = await readKernel(kernelPath);
  // A reader that closed stdout wants no more: end at once, as a Unix tool killed by SIGPIPE.
  const guestConsole = new ConsoleOutput(undefined, () => process.exit(EXIT_OUTPUT_CLOSED));
  const { mem, cmdline, maxInstructions, timeout, stats, statsJson: jsonPath, trace, ...config } = options;
  let vm: VirtualMachine;
  try {
    vm = await VirtualMachine.boot(kernel, {
      ...config,
      memoryMiB: mem,
      cmdline: qemuStyleCmdline(kernelPath, cmdline),
      serialOutput: guestConsole.write,
      timeExits: stats === true || jsonPath !== undefined,
    });
  } catch (error) {
    if (error instanceof LoadError) throw new UsageError(`${kernelPath}: ${error.message}`);
    throw error;
  }
  const traceOutput = trace === "exits" ? new ConsoleOutput((chunk) => writeSync(2, chunk)) : undefined;
  if (traceOutput) vm.onExit((exit) => traceOutput.writeText(formatExitTrace(exit)));
  const flush = () => {
    guestConsole.flush();
    traceOutput?.flush();
  };

  let result: RunResult;
  try {
    result = vm.run({ maxInstructions, timeoutSeconds: timeout, onSliceEnd: flush });
  } finally {
    flush();
  }

  if (stats) process.stderr.write(formatStats(vm.statistics()));
  if (jsonPath !== undefined) await writeFile(jsonPath, statsJson(vm.statistics(), vm.config, result.stop));
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
