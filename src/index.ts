// The embedding API (dist/index.js): everything a program needs to run wasmvisor guests itself —
// the VirtualMachine and its run loop, the Multiboot loader, the device models and bus, the VMCS
// accessors and layout, and the exit-handler table. The CLI (src/cli/) is one user of it.

export * as vmcsLayout from "../assembly/vmcs-layout.js";
export { instantiateCore, defaultCoreWasmUrl, CoreLoadError, CoreAbortError, type CoreExports } from "./core/core.js";
export { CoreViews } from "./core/views.js";
export { Vmcs, Reg, EFLAGS_DF, EFLAGS_IF, type Segment } from "./core/vmcs.js";

export { IoBus } from "./devices/bus.js";
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
  type RunLimits,
  type RunResult,
} from "./vmm/virtual-machine.js";
export { describeStop, type StopReason } from "./vmm/stop-reason.js";
export { ExitStats, type ExitCount } from "./vmm/exit-stats.js";
export { exitHandlers, exitReasonName } from "./vmm/exits/table.js";
export type { ExitContext, ExitHandler } from "./vmm/exits/exit-context.js";
export { cpuid, type CpuidResult } from "./vmm/exits/cpuid.js";
