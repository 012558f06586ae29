// The embedding API (dist/index.js): everything a program needs to run wasmvisor guests itself.
// The VirtualMachine is the centre: VirtualMachine.boot(kernel, options) creates a VM (RAM, CPUID
// vendor, interrupt-flag mode, CR3 targets, exit timing) and loads a Multiboot kernel; run(limits)
// runs it for an instruction or time budget; onExit/onConsole subscribe to exits and console
// output; injectInterrupt/scheduleInterrupt raise interrupts; statistics() reads exit counts,
// times and MIPS; saveState() and VirtualMachine.restore(bytes) save and restore the machine.
// Also exported: the Multiboot loader, the device models and bus, the VMCS accessors and layout,
// and the exit-handler table. The CLI (src/cli/) and the benchmark use it.

export * as vmcsLayout from "../assembly/vmcs-layout.js";
export { instantiateCore, defaultCoreWasmUrl, CoreLoadError, CoreAbortError, type CoreExports } from "./core/core.js";
export { CoreViews } from "./core/views.js";
export { Vmcs, Reg, EFLAGS_DF, EFLAGS_IF, type Segment } from "./core/vmcs.js";

export { IoBus } from "./devices/bus.js";
export { MemoryDisk, SECTOR_SIZE, type BlockBackend } from "./devices/block-backend.js";
export type { IoSize, PortDevice } from "./devices/device.js";
export { Serial16550, COM1_PORT, SERIAL_PORT_COUNT, type SerialSink } from "./devices/serial-16550.js";
export { DebugExit, DEBUG_EXIT_PORT, DEBUG_EXIT_PORT_COUNT, qemuExitStatus } from "./devices/debug-exit.js";

export { LoadError } from "./loader/load-error.js";
export { parseElf32, physicalEntry, type Elf32, type ElfSegment } from "./loader/elf.js";
export { findMultibootHeader, MULTIBOOT_HEADER_MAGIC, type MultibootHeader, type AoutKludge } from "./loader/multiboot-header.js";
export { parseKernel, copyKernel, type KernelImage, type KernelChunk } from "./loader/kernel-image.js";
export { writeBootInfo, pcMemoryMap, BOOT_LOADER_NAME, type BootInfoLayout, type MemoryRegion } from "./loader/boot-info.js";
export { setMultibootEntryState, MULTIBOOT_BOOTLOADER_MAGIC } from "./loader/machine-state.js";
export { loadMultibootKernel, qemuStyleCmdline, type LoadedKernel } from "./loader/multiboot.js";

export {
  VirtualMachine,
  DEFAULT_MEMORY_MIB,
  MAX_MEMORY_MIB,
  DEFAULT_SLICE_INSTRUCTIONS,
  type VirtualMachineOptions,
  type CoreSource,
  type RunLimits,
  type RunResult,
} from "./vmm/virtual-machine.js";
export {
  resolveConfig,
  DEFAULT_CONFIG,
  CPUID_VENDORS,
  HYPERV_PARTITIONS,
  IF_MODES,
  CR3_POLICIES,
  MAX_CR3_TARGETS,
  type VmConfig,
  type CpuidVendor,
  type HypervPartition,
  type IfMode,
  type Cr3Policy,
} from "./vmm/vm-config.js";
export { describeStop, type StopReason } from "./vmm/stop-reason.js";
export { STATE_FORMAT_VERSION } from "./vmm/state-file.js";
export { SavedStateError } from "./devices/saved-values.js";
export { ExitStats, type ExitReasonStats, type LevelStatistics, type VmStatistics } from "./vmm/exit-stats.js";
export type { ExitNesting } from "./vmm/exit-level.js";
export { formatExitTrace, type ExitEvent } from "./vmm/exit-event.js";
export type { ExitListener } from "./vmm/exit-dispatcher.js";
export { exitHandlers, exitReasonName } from "./vmm/exits/table.js";
export type { ExitContext, ExitHandler } from "./vmm/exits/exit-context.js";
export { CpuidModel, type CpuidResult } from "./vmm/exits/cpuid.js";
export * as hypercalls from "./vmm/hypercalls.js";
