// The virtual machine: one guest CPU (the WASM core), its RAM, the I/O bus with the PC devices, and
// the run loop that is the VMM's vCPU thread: set the instruction budget, VM entry (core.run()),
// dispatch the exit through the handler table, repeat until a handler or a limit stops the run.
// The guest runs in slices of a few million instructions so the VMM regains control regularly:
// to flush console output, to check the wall clock and the instruction limit, and because V8 only
// swaps in the optimised WASM code between calls (no on-stack replacement).

import {
  C_CR0_MASK,
  C_CR3_TARGET_COUNT,
  C_CR4_MASK,
  C_EXCEPTION_BITMAP,
  C_PIN,
  C_PREEMPTION_TIMER,
  C_PRIMARY,
  CTL_HLT_EXITING,
  CTL_UNCONDITIONAL_IO,
  E_INTR_INFO,
} from "../../assembly/vmcs-layout.js";
import { instantiateCore, type CoreExports } from "../core/core.js";
import { CoreViews } from "../core/views.js";
import type { Vmcs } from "../core/vmcs.js";
import { IoBus } from "../devices/bus.js";
import { DEBUG_EXIT_PORT, DEBUG_EXIT_PORT_COUNT, DebugExit } from "../devices/debug-exit.js";
import { COM1_PORT, SERIAL_PORT_COUNT, Serial16550, type SerialSink } from "../devices/serial-16550.js";
import { setMultibootEntryState } from "../loader/machine-state.js";
import { loadMultibootKernel, type LoadedKernel } from "../loader/multiboot.js";
import { ExitStats } from "./exit-stats.js";
import type { ExitContext } from "./exits/exit-context.js";
import { exitHandlers, handleUnhandledExit } from "./exits/table.js";
import { formatRegisters } from "./register-dump.js";
import type { StopReason } from "./stop-reason.js";

export const DEFAULT_MEMORY_MIB = 32;
/** Guest-physical addresses must fit the core's i32 translateLinear() answer. */
export const MAX_MEMORY_MIB = 2048;
export const DEFAULT_SLICE_INSTRUCTIONS = 2_000_000;

export interface VirtualMachineOptions {
  /** Guest RAM in MiB, 1 to 2048 (default 32). */
  memoryMiB?: number;
  /** Receives each byte the guest transmits on COM1; by default output is discarded. */
  serialOutput?: SerialSink;
}

export interface RunLimits {
  /** End the run once the guest has retired this many instructions in total. */
  maxInstructions?: number;
  /** End the run after this much wall-clock time in the run loop. */
  timeoutSeconds?: number;
  /** Instructions per VM entry before the VMM takes control back (default 2 million). */
  sliceInstructions?: number;
  /** Called at every slice boundary, e.g. to flush buffered console output. */
  onSliceEnd?: () => void;
}

export interface RunResult {
  stop: StopReason;
  /** Instructions the guest retired during this run. */
  instructions: number;
  /** Wall-clock time spent in the run loop. */
  seconds: number;
}

export class VirtualMachine implements ExitContext {
  readonly bus = new IoBus();
  readonly serial: Serial16550;
  readonly stats = new ExitStats();
  private readonly views: CoreViews;
  private stopReason: StopReason | null = null;

  /** Compiles build/core.wasm (or the given core) and creates a VM around it. */
  static async create(options: VirtualMachineOptions & { core?: CoreExports | BufferSource | URL | string } = {}): Promise<VirtualMachine> {
    const { core, ...vmOptions } = options;
    const instance = core !== undefined && isCoreExports(core) ? core : await instantiateCore(core);
    return new VirtualMachine(instance, vmOptions);
  }

  constructor(
    readonly core: CoreExports,
    options: VirtualMachineOptions = {},
  ) {
    const memoryMiB = options.memoryMiB ?? DEFAULT_MEMORY_MIB;
    if (!Number.isInteger(memoryMiB) || memoryMiB < 1 || memoryMiB > MAX_MEMORY_MIB) {
      throw new RangeError(`guest memory must be a whole number of MiB from 1 to ${MAX_MEMORY_MIB}, not ${memoryMiB}`);
    }
    core.init(memoryMiB * 1024 * 1024);
    this.views = new CoreViews(core);
    this.configureExecutionControls();

    this.serial = new Serial16550(options.serialOutput ?? (() => {}));
    this.bus.register(COM1_PORT, SERIAL_PORT_COUNT, this.serial);
    this.bus.register(DEBUG_EXIT_PORT, DEBUG_EXIT_PORT_COUNT, new DebugExit((code) => this.stop({ kind: "guest-exit", code })));
  }

  get vmcs(): Vmcs {
    return this.views.vmcs;
  }

  /** Guest-physical memory, index = guest-physical address (a view: valid until memory grows). */
  get ram(): Uint8Array {
    return this.views.ram;
  }

  get stopped(): boolean {
    return this.stopReason !== null;
  }

  stop(reason: StopReason): void {
    this.stopReason ??= reason;
  }

  /** A method, not a field read, so TypeScript does not assume handlers leave it null. */
  private pendingStop(): StopReason | null {
    return this.stopReason;
  }

  /**
   * Boots a Multiboot kernel as QEMU's -kernel does: loads it and its boot information into RAM
   * and puts the CPU in the state the Multiboot spec promises. Throws LoadError on a bad kernel.
   */
  loadKernel(file: Uint8Array, cmdline = ""): LoadedKernel {
    const loaded = loadMultibootKernel(this.ram, file, cmdline);
    setMultibootEntryState(this.vmcs, loaded.entry, loaded.bootInfoAddr);
    return loaded;
  }

  /** Runs the guest until it exits, faults fatally, halts for good, or a limit is reached. */
  run(limits: RunLimits = {}): RunResult {
    const vmcs = this.views.vmcs;
    const slice = limits.sliceInstructions ?? DEFAULT_SLICE_INSTRUCTIONS;
    const maxInstructions = limits.maxInstructions ?? Infinity;
    const startTime = performance.now();
    const deadline = limits.timeoutSeconds === undefined ? Infinity : startTime + limits.timeoutSeconds * 1000;
    const startInstructions = vmcs.instructionsRetired();
    let sliceEnd = startInstructions;
    this.stopReason = null;

    let stop: StopReason | null;
    while ((stop = this.pendingStop()) === null) {
      const retired = vmcs.instructionsRetired();
      if (retired >= sliceEnd) {
        limits.onSliceEnd?.();
        if (retired >= maxInstructions) {
          this.stop({ kind: "instruction-limit", limit: maxInstructions });
          continue;
        }
        if (performance.now() >= deadline) {
          this.stop({ kind: "timeout", seconds: limits.timeoutSeconds ?? 0 });
          continue;
        }
        sliceEnd = Math.min(retired + slice, maxInstructions);
      }
      vmcs.set(C_PREEMPTION_TIMER, sliceEnd - retired);
      const reason = this.core.run();
      this.views.revalidate();
      this.stats.record(reason);
      const handler = exitHandlers[reason];
      if (handler !== undefined) handler(this);
      else handleUnhandledExit(this, reason);
    }

    return {
      stop,
      instructions: vmcs.instructionsRetired() - startInstructions,
      seconds: (performance.now() - startTime) / 1000,
    };
  }

  instructionsRetired(): number {
    return this.vmcs.instructionsRetired();
  }

  /** The guest's registers as text (QEMU `info registers` layout). */
  registerDump(): string {
    return formatRegisters(this.vmcs);
  }

  /**
   * What the VMM intercepts: HLT (so an idle or stopped guest returns control) and every port
   * access (the bus decides what is behind each port, including nothing). No exceptions, CR bits
   * or CR3 loads are intercepted yet, and no event is queued for injection.
   */
  private configureExecutionControls(): void {
    const vmcs = this.views.vmcs;
    vmcs.set(C_PIN, 0);
    vmcs.set(C_PRIMARY, CTL_HLT_EXITING | CTL_UNCONDITIONAL_IO);
    vmcs.set(C_EXCEPTION_BITMAP, 0);
    vmcs.set(C_CR0_MASK, 0);
    vmcs.set(C_CR4_MASK, 0);
    vmcs.set(C_CR3_TARGET_COUNT, 0);
    vmcs.set(E_INTR_INFO, 0);
  }
}

function isCoreExports(core: CoreExports | BufferSource | URL | string): core is CoreExports {
  return typeof core === "object" && "run" in core && typeof core.run === "function";
}
