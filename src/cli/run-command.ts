// `wasmvisor run <kernel>`: boot one Multiboot kernel with the guest's console on stdout, and turn
// how the run ended into the process exit status (see exit-status.ts). Diagnostics go to stderr so
// stdout is exactly what the guest printed, as with `qemu-system-i386 -serial stdio`: the
// one-line stop reason, `--trace exits` (one line per VM exit) and `--stats`. The PC's devices are
// connected to the host by pc-host.ts (disk image, terminal input, VGA screen); the guest runs in
// chunks (run-loop.ts) so a signal ends the run cleanly.

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
import { describeFileError } from "./file-disk.js";
import { PcHost, type PcHostOptions } from "./pc-host.js";
import { runUntilStopped, signalStatus } from "./run-loop.js";
import { formatStats, statsJson } from "./stats-report.js";

export interface RunOptions extends VmConfig, PcHostOptions {
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
  const { mem, cmdline, maxInstructions, timeout, stats, statsJson: jsonPath, trace, disk, diskReadonly, display, screenshot, vgaTrap, clock, ...config } = options;
  const host = new PcHost({ disk, diskReadonly, display, screenshot, vgaTrap, clock });
  const guestConsole = new ConsoleOutput(host.consoleWriter(), () => process.exit(EXIT_OUTPUT_CLOSED));
  let vm: VirtualMachine;
  try {
    vm = await VirtualMachine.boot(kernel, {
      ...config,
      ...host.vmOptions(),
      memoryMiB: mem,
      cmdline: qemuStyleCmdline(kernelPath, cmdline),
      serialOutput: guestConsole.write,
      timeExits: stats === true || jsonPath !== undefined,
    });
  } catch (error) {
    host.finish();
    if (error instanceof LoadError) throw new UsageError(`${kernelPath}: ${error.message}`);
    throw error;
  }
  const traceOutput = trace === "exits" ? new ConsoleOutput((chunk) => writeSync(2, chunk)) : undefined;
  if (traceOutput) vm.onExit((exit) => traceOutput.writeText(formatExitTrace(exit)));
  const flush = () => {
    host.onSlice();
    guestConsole.flush();
    traceOutput?.flush();
  };

  let result: RunResult;
  try {
    host.attach(vm, () => vm.stop({ kind: "interrupted", by: "Ctrl-A x" }));
    result = await runUntilStopped(vm, { maxInstructions, timeoutSeconds: timeout, onSliceEnd: flush });
  } finally {
    flush();
    host.finish();
  }

  if (stats) process.stderr.write(formatStats(vm.statistics()));
  if (jsonPath !== undefined) await writeFile(jsonPath, statsJson(vm.statistics(), vm.config, result.stop));
  if (result.stop.kind === "guest-exit") return result.stop.code & 0xff;
  if (result.stop.kind === "interrupted") {
    process.stderr.write(`wasmvisor: ${describeStop(result.stop)}\n`);
    return signalStatus[result.stop.by] ?? signalStatus.SIGINT;
  }
  process.stderr.write(`wasmvisor: ${describeStop(result.stop)}\n${vm.registerDump()}\n`);
  return EXIT_GUEST_DID_NOT_EXIT;
}

async function readKernel(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read kernel ${path}: ${describeFileError(error)}`);
  }
}
