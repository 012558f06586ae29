// Where `wasmvisor run` gets its machine: a Multiboot kernel to boot, or (--restore-state FILE) a
// saved machine to continue. Both files are read and checked before anything else happens, so a
// missing, unreadable, truncated or foreign file, or one that is not a regular file at all (a
// folder, a FIFO, /dev/zero), is one line on stderr and status 2. A restored machine keeps what
// it was saved with: memory, VMM configuration, clock and VGA write trap (the CLI refuses those
// options beside --restore-state); the host side (disk image, display, console, limits,
// statistics) comes from this run's options.

import { readFile } from "node:fs/promises";
import { LoadError } from "../loader/load-error.js";
import type { ModuleFile } from "../loader/modules.js";
import { qemuStyleCmdline } from "../loader/multiboot.js";
import { readStateFile, type MachineDescription } from "../vmm/saved-state.js";
import { SavedStateError } from "../devices/saved-values.js";
import { VirtualMachine, type VirtualMachineOptions } from "../vmm/virtual-machine.js";
import { UsageError } from "./exit-status.js";
import { describeFileError, inputFileProblem } from "./input-files.js";

export type MachineSource =
  | { kind: "kernel"; path: string; bytes: Uint8Array; modules: ModuleFile[] }
  | { kind: "state"; path: string; bytes: Uint8Array; machine: MachineDescription };

/**
 * Reads the kernel and its modules (each "FILE [ARGS]", as QEMU's -initrd: the file is the text
 * up to the first space, and the whole text is the module's command line), or the state file
 * given with --restore-state (a kernel or a state file, not both).
 */
export async function readMachineSource(kernel: string | undefined, restoreState: string | undefined, modules: readonly string[] = []): Promise<MachineSource> {
  if (kernel === undefined && restoreState === undefined) throw new UsageError("missing required argument 'kernel' (or --restore-state <file>)");
  if (kernel !== undefined && restoreState !== undefined) {
    throw new UsageError("give a kernel or --restore-state <file>, not both: a saved machine's RAM holds its kernel already");
  }
  if (kernel !== undefined) {
    const bytes = await readInput(kernel, "kernel");
    const moduleFiles = [];
    for (const cmdline of modules) moduleFiles.push({ cmdline, bytes: await readInput(cmdline.split(" ")[0], "module") });
    return { kind: "kernel", path: kernel, bytes, modules: moduleFiles };
  }
  const path = restoreState!;
  const bytes = await readInput(path, "state file");
  try {
    return { kind: "state", path, bytes, machine: readStateFile(bytes).state.machine };
  } catch (error) {
    throw asUsageError(path, error);
  }
}

/**
 * Boots the kernel, or restores the saved machine, with `options` for the host side; `machine`
 * (memory, configuration, command line) is used for a boot only.
 */
export async function startMachine(
  source: MachineSource,
  options: VirtualMachineOptions,
  machine: Pick<VirtualMachineOptions, "memoryMiB" | "cpu" | "cpuidVendor" | "hypervPartition" | "ifMode" | "cr3Targets" | "cr3Policy" | "nested"> & { cmdline?: string },
): Promise<VirtualMachine> {
  try {
    if (source.kind === "state") return await VirtualMachine.restore(source.bytes, options);
    const { cmdline, ...config } = machine;
    return await VirtualMachine.boot(source.bytes, { ...config, ...options, cmdline: qemuStyleCmdline(source.path, cmdline), modules: source.modules });
  } catch (error) {
    throw asUsageError(source.path, error);
  }
}

async function readInput(path: string, what: string): Promise<Uint8Array> {
  const problem = inputFileProblem(path);
  if (problem !== undefined) throw new UsageError(`cannot read ${what} ${path}: ${problem}`);
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${describeFileError(error)}`);
  }
}

function asUsageError(path: string, error: unknown): unknown {
  return error instanceof LoadError || error instanceof SavedStateError ? new UsageError(`${path}: ${error.message}`) : error;
}
