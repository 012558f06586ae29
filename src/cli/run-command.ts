// `wasmvisor run <kernel>`: boot one Multiboot kernel with the guest's console on stdout, and turn
// how the run ended into the process exit status (see exit-status.ts). Diagnostics go to stderr so
// stdout is exactly what the guest printed, as with `qemu-system-i386 -serial stdio`: the
// one-line stop reason, `--trace exits` (one line per VM exit) and `--stats`. The PC's devices are
// connected to the host by pc-host.ts (disk image, terminal input, VGA screen); the guest runs in
// chunks (run-loop.ts) so a signal ends the run cleanly. The machine is booted from a kernel or
// restored from a state file (machine-source.ts); with --save-state it is saved when the run ends,
// however it ends, a signal included (output-files.ts writes it atomically).

import { writeSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { formatExitTrace } from "../vmm/exit-event.js";
import { describeStop, type StopReason } from "../vmm/stop-reason.js";
import type { VmConfig } from "../vmm/vm-config.js";
import { VirtualMachine, type RunResult } from "../vmm/virtual-machine.js";
import { ConsoleOutput } from "./console-output.js";
import { EXIT_GUEST_DID_NOT_EXIT, EXIT_OUTPUT_CLOSED, UsageError } from "./exit-status.js";
import { readMachineSource, startMachine } from "./machine-source.js";
import { checkOutputFile, checkStatePaths, writeFileAtomically } from "./output-files.js";
import { PcHost, type PcHostOptions } from "./pc-host.js";
import { runUntilStopped, signalStatus } from "./run-loop.js";
import { formatStats, statsJson } from "./stats-report.js";

/** How long output may take to reach stdout's reader once --timeout or a signal has ended the run. */
const STOPPED_OUTPUT_GRACE_MS = 50;

export interface RunOptions extends VmConfig, PcHostOptions {
  mem: number;
  cmdline?: string;
  /** --module, each "FILE [ARGS]" (machine-source.ts). */
  module?: string[];
  maxInstructions?: number;
  timeout?: number;
  stats?: boolean;
  statsJson?: string;
  trace?: "exits";
  /** --jit: the compiling tier on or off (VirtualMachineOptions.compilingTier). */
  jit: "on" | "off";
  /** --vmcs-shadowing: L1's VMREAD/VMWRITE in the core or by exits (VirtualMachineOptions.vmcsShadowing). */
  vmcsShadowing: "on" | "off";
  saveState?: string;
  restoreState?: string;
  /** --vga-trap: the older spelling of --display-update trap. */
  vgaTrap?: boolean;
}

/** Returns the process exit status. */
export async function runCommand(kernelPath: string | undefined, options: RunOptions): Promise<number> {
  const { mem, cmdline, module: modules, maxInstructions, timeout, stats, statsJson: jsonPath, trace, jit, vmcsShadowing, disk, diskReadonly, display, screenshot, saveState, restoreState, ...rest } = options;
  const source = await readMachineSource(kernelPath, restoreState, modules);
  checkStatePaths(saveState, restoreState);
  for (const [path, option] of [[saveState, "--save-state"], [jsonPath, "--stats-json"], [screenshot, "--screenshot"]] as const) {
    if (path !== undefined) checkOutputFile(path, option);
  }
  const { vgaTrap, displayUpdate: asked, refreshHz, clock, ...config } = rest;
  if (vgaTrap === true && asked !== undefined && asked !== "trap") throw new UsageError(`--vga-trap is --display-update trap; it cannot go with --display-update ${asked}`);
  const displayUpdate = vgaTrap === true ? "trap" : asked;
  if (source.kind === "kernel" && config.nested === "vmx" && config.cpu !== "intel") throw new UsageError("--nested vmx needs --cpu intel: AMD processors have no VMX");
  if (source.kind === "kernel" && config.nested === "svm" && config.cpu !== "amd") throw new UsageError("--nested svm needs --cpu amd: Intel processors have no SVM");
  // A restored machine keeps its clock and display update; the host follows them.
  const kept = source.kind === "state" ? { displayUpdate: source.machine.displayUpdate, clock: source.machine.clock } : { displayUpdate, clock };
  const host = new PcHost({ disk, diskReadonly, display, screenshot, refreshHz, ...kept });
  // A reader that closed stdout wants no more: end at once, as a Unix tool killed by SIGPIPE.
  const guestConsole = new ConsoleOutput(host.consoleWriter(), () => process.exit(EXIT_OUTPUT_CLOSED));
  let vm: VirtualMachine;
  try {
    const consoleSide = { serialOutput: guestConsole.write, consoleRoom: guestConsole.room };
    const measured = stats === true || jsonPath !== undefined;
    const hostSide = { ...host.vmOptions(), ...consoleSide, timeExits: measured, countInterpretedForms: measured, compilingTier: jit === "on", vmcsShadowing: vmcsShadowing === "on" };
    vm = await startMachine(source, hostSide, { ...config, memoryMiB: mem, cmdline });
  } catch (error) {
    host.finish();
    throw error;
  }
  const traceOutput = trace === "exits" ? new ConsoleOutput((chunk) => writeSync(2, chunk)) : undefined;
  if (traceOutput) vm.onExit((exit) => traceOutput.writeText(formatExitTrace(exit)));
  const flush = () => {
    host.onSlice();
    guestConsole.flush();
    vm.consoleDrained();
    traceOutput?.flush();
  };

  let result: RunResult;
  const start = performance.now();
  try {
    host.attach(vm, () => vm.stop({ kind: "interrupted", by: "Ctrl-A x" }));
    result = await runUntilStopped(vm, { maxInstructions, timeoutSeconds: timeout, onSliceEnd: flush });
  } finally {
    flush();
    host.finish();
  }

  if (saveState !== undefined) writeFileAtomically(saveState, vm.saveState(), "state file");
  if (stats) process.stderr.write(formatStats(vm.statistics()));
  if (jsonPath !== undefined) await writeFile(jsonPath, statsJson(vm.statistics(), vm.config, result.stop));
  await guestConsole.drain(outputDeadline(result.stop, start, timeout));
  if (result.stop.kind === "guest-exit") return result.stop.code & 0xff;
  if (result.stop.kind === "interrupted") {
    process.stderr.write(`wasmvisor: ${describeStop(result.stop)}\n`);
    return signalStatus[result.stop.by] ?? signalStatus.SIGINT;
  }
  process.stderr.write(`wasmvisor: ${describeStop(result.stop)}\n${vm.registerDump()}\n`);
  return EXIT_GUEST_DID_NOT_EXIT;
}

/**
 * Until when the end of a run waits for stdout's reader to take the guest's last output. After
 * --timeout or a signal, briefly: the user asked for the process to end. After any other end, as
 * long as the reader takes its time, as a Unix tool would, but never past --timeout; a signal then
 * ends the process (the run loop no longer catches them).
 */
function outputDeadline(stop: StopReason, start: number, timeout: number | undefined): number {
  if (stop.kind === "timeout" || stop.kind === "interrupted") return performance.now() + STOPPED_OUTPUT_GRACE_MS;
  return timeout === undefined ? Infinity : start + timeout * 1000;
}
