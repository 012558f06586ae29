// The virtual machine: one guest CPU (the WASM core), its RAM, the I/O bus with the PC devices, the
// VMM state the exit handlers share, and the run loop that is the VMM's vCPU thread: VM entry
// (core.run()), which calls vmExit at each exit to hand it to the exit dispatcher
// (exit-dispatcher.ts) and resume the guest, until a handler or a limit stops the run. The guest
// runs in slices of a few million instructions so the VMM regains control regularly: to flush
// console output, to check the wall clock and the instruction limit, and because V8 only swaps in
// the optimised WASM code between calls (no on-stack replacement). The slice is the core's
// preemption-timer budget, which the core counts down across exits, so an ordinary exit costs the
// loop nothing but the dispatch; the budget is also cut short at the interrupt timer's next
// deadline, which makes that expiry an external-interrupt exit.
// The devices (pc-platform.ts) run on the VM's clock (virtual-clock.ts): the budget is cut short
// at its next event too, and a halted guest idles until one (idle()).
// This class is also the embedding API (src/index.ts): create or boot a VM with options, run it
// for a budget, subscribe to exits and console output, inject interrupts, read statistics, save
// the whole machine between runs and restore it (saved-state.ts).

import {
  ACTIVITY_HLT, C_DEVICE_MEMORY_BASE, C_DEVICE_MEMORY_SIZE, C_JIT, DEVICE_MEMORY_BYTES, C_PREEMPTION_TIMER, EXIT_EXTERNAL_INTERRUPT, EXIT_PREEMPTION_TIMER, G_ACTIVITY,
  PREEMPTION_HOST_WORK, X_QUALIFICATION, X_REASON,
} from "../../assembly/vmcs-layout.js";
import { instantiateCore, setExitHandler, timeCompiles, type CompileTime, type CoreExports } from "../core/core.js";
import { CoreViews } from "../core/views.js";
import type { Vmcs } from "../core/vmcs.js";
import { IoBus } from "../devices/bus.js";
import { DEBUG_EXIT_PORT, DEBUG_EXIT_PORT_COUNT, DebugExit } from "../devices/debug-exit.js";
import type { BlockBackend } from "../devices/block-backend.js";
import type { Serial16550, SerialSink } from "../devices/serial-16550.js";
import { DEFAULT_REFRESH_HZ, DisplayUpdater, checkRefreshHz, type DisplayUpdate } from "./display-update.js";
import { setMultibootEntryState } from "../loader/machine-state.js";
import { loadMultibootKernel, type LoadedKernel } from "../loader/multiboot.js";
import type { ModuleFile } from "../loader/modules.js";
import { Cr3TargetList } from "./cr3-targets.js";
import { ExitDispatcher, type ExitListener } from "./exit-dispatcher.js";
import { ExitsInCore } from "./exits-in-core.js";
import { ExitStats, compiledCodeStatistics, type VmStatistics } from "./exit-stats.js";
import { ExitTimer } from "./exit-timer.js";
import type { HandlerTimer } from "./handler-timer.js";
import { readMmuStatistics } from "./mmu-stats.js";
import { readTranslationStatistics } from "./bt/translation-stats.js";
import { CpuidModel } from "./exits/cpuid.js";
import type { ExitContext } from "./exits/exit-context.js";
import { GuestInterruptFlag } from "./guest-interrupt-flag.js";
import { InterruptInjector } from "./interrupt-injector.js";
import { InterruptTimer } from "./interrupt-timer.js";
import { CONSOLE_BYTES_PER_UNIT_SHIFT, HostWorkMeter, meteredDisk } from "./host-work.js";
import { formatRegisters } from "./register-dump.js";
import { PcPlatform } from "./pc-platform.js";
import { checkRunLimits } from "./run-limits.js";
import { restoreMachine, saveMachine, type SavedImage } from "./saved-state.js";
import { readInterpretedForms } from "./interpreted-forms.js";
import type { StopReason } from "./stop-reason.js";
import { subscribe } from "./subscribe.js";
import { VirtualClock, type ClockMode } from "./virtual-clock.js";
import { DEFAULT_MEMORY_MIB, MAX_MEMORY_MIB } from "./memory-size.js";
import { setTscOffset, tscOffset } from "./virtual-tsc.js";
import { resolveConfig, type VmConfig } from "./vm-config.js";
import { programExecutionControls } from "./vmcs-setup.js";
import { CoreLevelSwitch } from "./nested/core-level-switch.js";
import { l1InterruptControls, l2Stage } from "./nested/nested-run.js";
import { NestedVmx } from "./nested/vmx-state.js";
import { SvmMsrs } from "./svm/svm-msrs.js";
import { NestedSvm } from "./svm/svm-state.js";
import { svmInterruptControls, svmL2Stage } from "./svm/svm-run.js";
import { L0Controls } from "./nested/l0-controls.js";
import { followVmcsShadowing, programFieldTable } from "./nested/vmcs-shadowing.js";

export { DEFAULT_MEMORY_MIB, MAX_MEMORY_MIB };
export const DEFAULT_SLICE_INSTRUCTIONS = 2_000_000;
/** Longest the host waits at once for input or real time while the guest is halted. */
const IDLE_WAIT_MS = 50;

/** What feeds the guest from the host (a terminal, a browser): the VM waits on it while the guest idles. */
export interface HostInput {
  /** Whether more input may still come (false once the host's input has ended). */
  readonly open: boolean;
  /** Waits up to `ms` for input and hands whatever came to the devices. */
  wait(ms: number): void;
}

export interface VirtualMachineOptions extends Partial<VmConfig> {
  /** Guest RAM in MiB, 1 to 2048 (default 32). */
  memoryMiB?: number;
  /** Receives each byte of console output (COM1 and the console hypercall); more with onConsole(). */
  serialOutput?: SerialSink;
  /**
   * How many more console bytes the host can take now (default: no limit). While it is short,
   * COM1's transmitter stays busy and the console hypercall writes short; call consoleDrained()
   * when it has grown.
   */
  consoleRoom?: () => number;
  /** Measure host time per exit reason (exit-timer.ts) and of the compiling tier's compiles; off by default, counts are always kept. */
  timeExits?: boolean;
  /** Time each exit's handling in the VMM alone (handler-timer.ts: the browser demo's figures). */
  handlerTimer?: HandlerTimer;
  /**
   * Count the forms the interpreter performs where compiled code could run (statistics()'s
   * compiledCode.interpretedForms); off by default: it costs interpreted instructions a few ns each.
   */
  countInterpretedForms?: boolean;
  /**
   * Run hot guest code as compiled WebAssembly (the compiling tier, src/jit/; default true), or
   * interpret everything (false). The guest computes the same either way, so this is the host's
   * choice, not part of the machine: a saved machine restores with whatever is given here.
   */
  compilingTier?: boolean;
  /**
   * Under `nested: "vmx"`: complete the guest hypervisor's VMREAD and VMWRITE inside the core, with
   * no exit, through VMCS shadowing (L0's use of the hardware feature;
   * default true). L1 cannot tell, so this is the host's choice, not part of the machine: a saved
   * machine restores with whatever is given here, and setVmcsShadowing() changes it while it runs.
   */
  vmcsShadowing?: boolean;
  /** Time for the devices: `virtual` (from retired instructions, the default) or `real`. */
  clock?: ClockMode;
  /** The RTC's date and time at power-on (ms since 1970); default 2024-01-01, or now under the real clock. */
  rtcStartMs?: number;
  /** Input from the host that may wake a halted guest. */
  hostInput?: HostInput;
  /** How the frame buffer reaches the screen (display-update.ts; default refresh). */
  displayUpdate?: DisplayUpdate;
  /** The refresh and dirty-log strategies' screen refreshes per second of host time (default 5). */
  refreshHz?: number;
  /** The disk image behind the ATA disk and the paravirtual block device (none: no disk). */
  disk?: BlockBackend;
}

/** Where the core comes from: an instance, wasm bytes, the compiled module, or a file (default build/core.wasm). */
export type CoreSource = CoreExports | BufferSource | WebAssembly.Module | URL | string;

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

// A slice of at least this many attempts in which no instruction retired means the guest is
// stuck in a fault loop (an exception storm).
const NO_PROGRESS_ATTEMPTS = 100_000;
// Exits in a row with no instruction retired: exits that come before any instruction is attempted
// (at entry: a watched interrupt window that never closes, an event whose delivery exits), a storm
// the budget never sees end. The longest honest run is one REP INS/OUTS of 2^32 elements, 65,536
// exits (string-io.ts MAX_ELEMENTS_PER_EXIT); a million take well under a second.
const NO_PROGRESS_EXITS = 1_000_000;

export class VirtualMachine implements ExitContext {
  readonly config: Readonly<VmConfig>;
  readonly bus = new IoBus();
  readonly serial: Serial16550;
  readonly stats = new ExitStats();
  readonly cpuid: CpuidModel;
  readonly interrupts: InterruptInjector;
  readonly timer: InterruptTimer;
  readonly cr3Targets: Cr3TargetList;
  readonly vmx: NestedVmx;
  readonly svmMsrs: SvmMsrs;
  readonly svm: NestedSvm;
  /** L0's own controls, where a change made while L2 runs must go (VMCS01's side; nested/l0-controls.ts). */
  readonly l0Controls: L0Controls;
  readonly clock: VirtualClock;
  /** The PC's devices: PICs, PIT, COM1/COM2, CMOS/RTC, keyboard controller. */
  readonly pc: PcPlatform;
  /** The screen's copy of the frame buffer and the strategy that keeps it up to date. */
  readonly display: DisplayUpdater;
  hostInput: HostInput | undefined;
  private readonly views: CoreViews;
  private readonly exitTimer: ExitTimer | undefined;
  /** With timeExits: the compiling tier's compiles, timed with the wall clock (statistics().compiledCode.compiling). */
  private readonly compileTime: CompileTime | undefined;
  private readonly countingForms: boolean;
  private readonly exits: ExitDispatcher;
  private readonly levelSwitch: CoreLevelSwitch;
  private readonly consoleListeners: SerialSink[] = [];
  /** Host work done for the guest; the run loop looks at the wall clock as it adds up. */
  private readonly hostWork = new HostWorkMeter(() => this.hostWorkAddedUp());
  /** Exits handled by the run loop, and their count when retirement last moved (checkExitStorm()). */
  private hostExits = 0;
  private exitsAtRetirement = 0;
  private retiredAtLastLook = -1;
  private readonly hostConsoleRoom: () => number;
  private stopReason: StopReason | null = null;
  private sliceArmed = 0; // the budget given to the core at the last arming
  private sliceStartRetired = -1; // instructions retired when the previous slice ended
  private limits: Required<Pick<RunLimits, "maxInstructions" | "sliceInstructions">> & RunLimits = { maxInstructions: Infinity, sliceInstructions: DEFAULT_SLICE_INSTRUCTIONS };
  private wallDeadline = Infinity;
  private sliceEnd = 0;
  /** Inside run(): the machine is between an exit and its handling, and cannot be saved. */
  private running = false;

  /** Compiles build/core.wasm (or the given core) and creates a VM around it. */
  static async create(options: VirtualMachineOptions & { core?: CoreSource } = {}): Promise<VirtualMachine> {
    const { core, ...vmOptions } = options;
    const instance = core !== undefined && isCoreExports(core) ? core : await instantiateCore(core);
    return new VirtualMachine(instance, vmOptions);
  }

  /** create() and loadKernel() in one: a VM ready to run `kernel`. Throws LoadError on a bad kernel. */
  static async boot(
    kernel: Uint8Array,
    options: VirtualMachineOptions & { core?: CoreSource; cmdline?: string; modules?: readonly ModuleFile[] } = {},
  ): Promise<VirtualMachine> {
    const { cmdline, modules, ...createOptions } = options;
    const vm = await VirtualMachine.create(createOptions);
    vm.loadKernel(kernel, cmdline, modules);
    return vm;
  }

  /**
   * A VM that continues exactly where the one that saved `state` (saveState()) stopped. `options`
   * give what the host connects (console, disk, exit timing, core); options that say what the
   * machine is (memory, VmConfig, clock, displayUpdate) must be left out or agree with the saved machine.
   * Throws SavedStateError, with a one-line message, for anything that is not a good state.
   * `state` may be the file's bytes or, for a caller that looked inside it first, readStateFile()'s
   * answer, so a large file is checked and decoded once.
   */
  static restore(state: Uint8Array | SavedImage, options: VirtualMachineOptions & { core?: CoreSource } = {}): Promise<VirtualMachine> {
    return restoreMachine(state, options, (resolved) => VirtualMachine.create(resolved));
  }

  constructor(
    readonly core: CoreExports,
    options: VirtualMachineOptions = {},
  ) {
    const { memoryMiB = DEFAULT_MEMORY_MIB, serialOutput, consoleRoom = () => Infinity, timeExits = false, handlerTimer, countInterpretedForms = false, compilingTier = true, vmcsShadowing = true, clock, rtcStartMs, hostInput, displayUpdate = "refresh", refreshHz = DEFAULT_REFRESH_HZ, disk, ...config } = options;
    if (!Number.isInteger(memoryMiB) || memoryMiB < 1 || memoryMiB > MAX_MEMORY_MIB) {
      throw new RangeError(`guest memory must be a whole number of MiB from 1 to ${MAX_MEMORY_MIB}, not ${memoryMiB}`);
    }
    this.config = resolveConfig(config);
    try {
      core.init(memoryMiB * 1024 * 1024);
    } catch {
      // The core traps when memory.grow fails: a browser tab, or a host short of memory, may refuse.
      throw new RangeError(`cannot allocate ${memoryMiB} MiB of guest RAM: the host refused the memory (try less)`);
    }
    core.countInterpretedForms(countInterpretedForms ? 1 : 0);
    this.countingForms = countInterpretedForms;
    this.views = new CoreViews(core);
    const levelSwitch = new CoreLevelSwitch(core);
    this.levelSwitch = levelSwitch;
    this.vmx = new NestedVmx(levelSwitch.words);
    this.svm = new NestedSvm(levelSwitch.words);
    this.svmMsrs = new SvmMsrs(levelSwitch.words);
    this.l0Controls = new L0Controls(this.vmcs, levelSwitch.words, () => this.mergeL2Controls());
    programExecutionControls(this.vmcs, this.config);
    this.setCompilingTier(compilingTier);
    programFieldTable(core);
    this.setVmcsShadowing(vmcsShadowing);
    this.cpuid = new CpuidModel(this.config.cpuidVendor, this.config.hypervPartition, this.config.nested, this.config.cpu);
    const inCore = new ExitsInCore(core);
    inCore.programCpuid(this.cpuid.ranges);
    this.stats.countAlso((record) => inCore.drainCounts(record));
    this.stats.countAlso((record) => levelSwitch.drainCounts(record));
    this.interrupts = new InterruptInjector(this.vmcs, new GuestInterruptFlag(this, this.config.ifMode === "classic"), levelSwitch.words);
    this.timer = new InterruptTimer(this.vmcs);
    this.cr3Targets = new Cr3TargetList(this.l0Controls, this.config.cr3Targets, this.config.cr3Policy);
    this.exitTimer = timeExits ? new ExitTimer(this.stats, this.vmcs) : undefined;
    this.compileTime = timeExits ? timeCompiles(core, () => performance.now()) : undefined;
    const completedInCore = { allow: (on: boolean) => (inCore.allow(on), levelSwitch.allow(on)) };
    this.exits = new ExitDispatcher(this, this.exitTimer, [], handlerTimer, completedInCore, this.config.nested !== "off");
    if (this.config.nested === "vmx") this.exits.setLevelStage(l2Stage);
    if (this.config.nested === "svm") this.exits.setLevelStage(svmL2Stage);
    // Under --nested svm the firmware leaves SVM enabled (VM_CR clear), so the guest can set EFER.SVME.
    if (this.config.nested === "svm") this.svmMsrs.vmCr = 0;

    if (serialOutput) this.consoleListeners.push(serialOutput);
    this.hostConsoleRoom = consoleRoom;
    this.hostInput = hostInput;
    this.clock = new VirtualClock(() => this.vmcs.instructionsRetired(), clock, () => this.clockEventSooner());
    this.pc = new PcPlatform({
      bus: this.bus,
      clock: this.clock,
      memoryBytes: memoryMiB * 1024 * 1024,
      com1Output: (byte) => this.emitConsole(byte),
      latch: (port, mask) => inCore.latch(port, mask),
      onInterrupt: () => this.interrupts.deliver(),
      rtcStartMs,
      disk: disk && meteredDisk(disk, this.hostWork),
      memory: { ram: () => this.ram, wrote: (physical, length) => this.core.noteHostWrite(physical, length) },
      videoMemory: () => this.views.deviceMemory,
      mapVideoMemory: (base) => {
        this.vmcs.set(C_DEVICE_MEMORY_BASE, base ?? 0);
        this.vmcs.set(C_DEVICE_MEMORY_SIZE, base === undefined ? 0 : DEVICE_MEMORY_BYTES);
      },
    });
    this.pc.keyboard.onReset = () => this.stop({ kind: "reset" });
    this.pc.com1.txRoom = consoleRoom;
    this.interrupts.controller = this.pc.pic;
    if (this.config.nested === "vmx") this.interrupts.outerLevel = l1InterruptControls(this);
    if (this.config.nested === "svm") this.interrupts.outerLevel = svmInterruptControls(this);
    this.serial = this.pc.com1;
    this.bus.register(DEBUG_EXIT_PORT, DEBUG_EXIT_PORT_COUNT, new DebugExit((code) => this.stop({ kind: "guest-exit", code })));
    this.display = new DisplayUpdater(core, this.l0Controls, (base, size) => this.physicalView(base, size), this.pc.display, displayUpdate, checkRefreshHz(refreshHz));
    this.pc.display.onRegisterWrite = () => this.display.follow();
  }

  get vmcs(): Vmcs {
    return this.views.vmcs;
  }

  /** Guest-physical memory, index = guest-physical address (a view: valid until memory grows). */
  get ram(): Uint8Array {
    return this.views.ram;
  }

  /** The std-VGA's video memory, index = offset from PCI BAR 0 (a view: valid until memory grows). */
  get videoMemory(): Uint8Array {
    return this.views.deviceMemory;
  }

  /**
   * `size` bytes of guest-physical memory at `base` as a view of RAM or of the video memory where
   * BAR 0 maps it, cut short where the range leaves them (empty outside both).
   */
  physicalView(base: number, size: number): Uint8Array {
    const { ram } = this;
    if (base < ram.length) return ram.subarray(base, Math.min(ram.length, base + size));
    const mapped = this.vmcs.get(C_DEVICE_MEMORY_SIZE) >>> 0, offset = base - (this.vmcs.get(C_DEVICE_MEMORY_BASE) >>> 0);
    if (offset < 0 || offset >= mapped) return new Uint8Array(0);
    const video = this.videoMemory;
    return video.subarray(offset, Math.min(video.length, mapped, offset + size));
  }

  get stopped(): boolean {
    return this.stopReason !== null;
  }

  /** Whether hot guest code runs compiled (VirtualMachineOptions.compilingTier). */
  get compilingTier(): boolean {
    return this.l0Controls.get(C_JIT) !== 0;
  }

  /** Turns the compiling tier on or off, between runs or from an exit listener: it applies at the next VM entry. */
  setCompilingTier(on: boolean): void {
    this.l0Controls.set(C_JIT, on ? 1 : 0);
  }

  /** The controls of the L2 that runs merged again, under VMX or SVM, after L0 changed its own (l0Controls). */
  private mergeL2Controls(): void {
    const vmcs12 = this.vmx.l2;
    if (vmcs12 !== undefined) return this.core.mergeControls(vmcs12, 0);
    const run = this.svm.l2;
    if (run !== undefined) this.core.svmMergeControls(run.vmcb, 0);
  }

  /** Whether L1's VMREAD and VMWRITE complete in the core (VirtualMachineOptions.vmcsShadowing). */
  get vmcsShadowing(): boolean {
    return this.vmx.shadowing;
  }

  /** Turns VMCS shadowing on or off, between runs or from an exit listener: L1's next VMREAD or VMWRITE follows it. */
  setVmcsShadowing(on: boolean): void {
    this.vmx.shadowing = on;
    followVmcsShadowing(this.vmcs, this.vmx);
  }

  stop(reason: StopReason): void {
    this.stopReason ??= reason;
  }

  /** A method, not a field read, so TypeScript does not assume handlers leave it null. */
  private pendingStop(): StopReason | null {
    return this.stopReason;
  }

  /** Calls `listener` at every VM exit, before its handler; returns the unsubscribe function. */
  onExit(listener: ExitListener): () => void {
    return this.exits.onExit(listener);
  }

  /** Calls `listener` with each byte of console output; returns the unsubscribe function. */
  onConsole(listener: SerialSink): () => void {
    return subscribe(this.consoleListeners, listener);
  }

  consoleRoom(): number {
    return Math.max(0, this.hostConsoleRoom());
  }

  /** The host has taken console output (consoleRoom() grew): COM1's transmitter empties if it can. */
  consoleDrained(): void {
    this.pc.com1.txRoomGrew();
  }

  writeConsole(bytes: Uint8Array): void {
    for (const byte of bytes) this.emitConsole(byte);
    this.chargeHostWork(bytes.length >>> CONSOLE_BYTES_PER_UNIT_SHIFT);
  }

  chargeHostWork(units: number): void {
    this.hostWork.charge(units);
  }

  private emitConsole(byte: number): void {
    for (const listener of this.consoleListeners) listener(byte);
  }

  /** Raises external interrupt `vector` for the guest: injected as soon as the guest can take it. */
  injectInterrupt(vector: number): void {
    this.interrupts.request(vector);
  }

  /** Raises external interrupt `vector` once the guest has retired `instructions` more instructions. */
  scheduleInterrupt(vector: number, instructions: number): void {
    this.timer.schedule(vector, instructions);
  }

  /** Exit counts (and times, with timeExits), instructions and MIPS over every run so far, and the MMU's counters. */
  statistics(): VmStatistics {
    const forms = this.countingForms ? readInterpretedForms(this.core) : undefined;
    const compiled = compiledCodeStatistics(this.vmcs.instructionsRetired(), this.vmcs.compiledInstructions(), forms, this.compileTime);
    const snapshot = this.stats.snapshot(readMmuStatistics(this.vmcs, this.cr3Targets.misses), compiled);
    return this.config.ifMode === "bt" ? { ...snapshot, translation: readTranslationStatistics(this.vmcs) } : snapshot;
  }

  /**
   * Boots a Multiboot kernel as QEMU's -kernel does: loads it and its boot information into RAM
   * and puts the CPU in the state the Multiboot spec promises. Throws LoadError on a bad kernel.
   */
  loadKernel(file: Uint8Array, cmdline = "", modules: readonly ModuleFile[] = []): LoadedKernel {
    const loaded = loadMultibootKernel(this.ram, file, cmdline, modules);
    this.core.noteHostWrite(0, this.ram.length); // code compiled from what was there before is stale
    setMultibootEntryState(this.vmcs, loaded.entry, loaded.bootInfoAddr);
    this.interrupts.flag.reset();
    return loaded;
  }

  /** The whole machine as a state file's bytes (state-file.ts); between runs, not from inside one. */
  saveState(): Uint8Array {
    if (this.running) throw new Error("saveState() during run(): save the machine between runs");
    return saveMachine(this);
  }

  /** Runs the guest until it exits, faults fatally, halts for good, or a limit is reached. */
  run(limits: RunLimits = {}): RunResult {
    checkRunLimits(limits);
    const vmcs = this.views.vmcs;
    const startTime = performance.now();
    const startInstructions = vmcs.instructionsRetired();
    this.sliceStartRetired = -1;
    this.limits = { ...limits, maxInstructions: limits.maxInstructions ?? Infinity, sliceInstructions: limits.sliceInstructions ?? DEFAULT_SLICE_INSTRUCTIONS };
    this.wallDeadline = limits.timeoutSeconds === undefined ? Infinity : startTime + limits.timeoutSeconds * 1000;
    this.stopReason = null;
    this.running = true;
    this.endSlice(startInstructions);
    this.armPreemptionTimer(startInstructions);
    this.exitTimer?.close();

    // The core grows its memory only in init(), so views made after it stay valid through exits.
    this.views.revalidate();
    // The core calls vmExit at every exit and resumes the guest until it says stop. A throw (a
    // core abort, say) still leaves the VM between runs, with no handler set.
    setExitHandler(this.core, this.vmExit);
    let stop: StopReason | null;
    try {
      while ((stop = this.pendingStop()) === null) {
        this.levelSwitch.arm(this.interrupts.pending === 0); // interrupts may have come from the host since
        this.core.run();
      }
    } finally {
      setExitHandler(this.core, undefined);
      this.running = false;
    }

    this.exitTimer?.close();
    const result = { stop, instructions: vmcs.instructionsRetired() - startInstructions, seconds: (performance.now() - startTime) / 1000 };
    this.stats.addRun(result.instructions, result.seconds);
    return result;
  }

  /**
   * The core's exit handler during run(): handles one exit; true resumes the guest. At the end of
   * a slice core.run() returns all the same, so that V8 can swap in its optimised code.
   */
  private readonly vmExit = (reason: number): boolean => {
    if (reason === EXIT_PREEMPTION_TIMER) return this.budgetExpired();
    this.exits.dispatch(reason);
    this.hostExits++;
    this.hostWork.charge(1);
    this.levelSwitch.arm(this.interrupts.pending === 0);
    return this.stopReason === null;
  };

  /**
   * The budget ran out. Either the interrupt timer's deadline or a device's event came (reported
   * as an external-interrupt exit: an interrupt arriving while the guest ran), or the slice ended
   * (a preemption-timer exit: the VMM's housekeeping, and a slice boundary), or the budget ran out
   * early. Slices end at fixed points of virtual time, multiples of the slice length in retired
   * instructions, so a guest sees the same exits on every run however the host chunks its runs or
   * saves and restores the machine. An early end is the VMM's own business, reported to no one:
   * the core counts instructions that faulted or exited against the budget, and the run limits
   * cut budgets short; the housekeeping runs and the next budget covers the rest. The core also
   * ends an entry this way when the guest halts without HLT exiting: that is a preemption-timer
   * exit too, whose handler wakes it; and, with qualification PREEMPTION_HOST_WORK and the budget
   * untouched, when the host work the guest caused has added up, to let the run loop look at the
   * clock.
   */
  private budgetExpired(): boolean {
    const resume = this.budgetExpiredHandled();
    this.levelSwitch.arm(this.interrupts.pending === 0);
    return resume;
  }

  private budgetExpiredHandled(): boolean {
    const vmcs = this.views.vmcs;
    if (vmcs.get(X_QUALIFICATION) === PREEMPTION_HOST_WORK) {
      this.stats.recordHostWorkYield(); // a yield for host work (vmcs-layout.ts C_HOST_WORK_YIELD): nothing else changed
      this.checkWallClock();
      return this.stopReason === null;
    }
    const retired = vmcs.instructionsRetired();
    const clockDue = this.clock.nextEvent <= this.clock.now();
    if (this.timer.next <= retired || clockDue) {
      vmcs.set(X_REASON, EXIT_EXTERNAL_INTERRUPT);
      if (clockDue) this.clock.runDue();
      this.exits.dispatch(EXIT_EXTERNAL_INTERRUPT);
      // After the handler has taken the due interrupts, so the budget runs to the next deadline.
      this.armPreemptionTimer(vmcs.instructionsRetired());
      return this.stopReason === null;
    }
    const sliceEnded = retired >= this.sliceEnd;
    const halted = vmcs.get(G_ACTIVITY) === ACTIVITY_HLT;
    this.endSlice(retired);
    if (sliceEnded || (halted && this.stopReason === null)) this.exits.dispatch(EXIT_PREEMPTION_TIMER);
    this.armPreemptionTimer(vmcs.instructionsRetired());
    // core.run() returns all the same, so that V8 can swap in its optimised code.
    return false;
  }

  reflectHeldInterrupt(reason: number): void {
    this.exits.reflectHeldInterrupt(reason);
  }

  /** An exit that happened while a handler completed another (emulate.ts): the same path. */
  dispatch(reason: number): void {
    this.exits.dispatch(reason);
  }

  private endSlice(retired: number): void {
    const { maxInstructions, sliceInstructions, onSliceEnd } = this.limits;
    onSliceEnd?.();
    // The budget counts attempts: a slice used up without one instruction retiring is a guest
    // stuck faulting, which an instruction limit counting retirements alone would never stop.
    const halted = this.vmcs.get(G_ACTIVITY) === ACTIVITY_HLT; // waiting, not faulting
    const stuck = retired === this.sliceStartRetired && this.sliceArmed >= Math.min(sliceInstructions, NO_PROGRESS_ATTEMPTS) && !halted;
    this.sliceStartRetired = retired;
    if (stuck) this.stop({ kind: "no-progress", attempts: this.sliceArmed });
    else if (retired >= maxInstructions) this.stop({ kind: "instruction-limit", limit: maxInstructions });
    else this.checkWallClock();
    this.sliceEnd = (Math.floor(retired / sliceInstructions) + 1) * sliceInstructions;
  }

  private hostWorkAddedUp(): void {
    this.checkWallClock();
    this.checkExitStorm();
  }

  /** Ends a run whose exits have gone on for NO_PROGRESS_EXITS with no instruction retired. */
  private checkExitStorm(): void {
    const retired = this.vmcs.instructionsRetired();
    if (retired !== this.retiredAtLastLook) {
      this.retiredAtLastLook = retired;
      this.exitsAtRetirement = this.hostExits;
    } else if (this.hostExits - this.exitsAtRetirement >= NO_PROGRESS_EXITS && this.stopReason === null) {
      this.stop({ kind: "no-progress", attempts: 0, exits: this.hostExits - this.exitsAtRetirement });
    }
  }

  /** Ends the run once its wall-clock limit has passed: at slice ends, and as host work adds up. */
  private checkWallClock(): void {
    if (performance.now() >= this.wallDeadline) this.stop({ kind: "timeout", seconds: this.limits.timeoutSeconds ?? 0 });
  }

  /**
   * A device scheduled an event (during an exit, or while the guest idled) that comes before the
   * current budget ends: end it there, as the interrupt timer does, so the event fires at its time
   * and not at the end of the slice, whatever the slicing (a restored machine's slices differ).
   */
  private clockEventSooner(): void {
    const until = this.clock.instructionsUntilNext();
    if (until < this.vmcs.get(C_PREEMPTION_TIMER)) this.vmcs.set(C_PREEMPTION_TIMER, until);
  }

  private armPreemptionTimer(retired: number): void {
    const deadline = Math.min(this.sliceEnd, this.limits.maxInstructions, this.timer.next, retired + this.clock.instructionsUntilNext());
    this.sliceArmed = Math.max(0, deadline - retired);
    this.vmcs.set(C_PREEMPTION_TIMER, this.sliceArmed);
  }

  idle(): boolean {
    const skipped = this.clock.skipToNextEvent();
    if (skipped !== undefined) {
      // The guest's TSC counts the skipped time too, so it agrees with the PIT and the RTC.
      setTscOffset(this.vmcs, tscOffset(this.vmcs) + Math.round(skipped));
      return true;
    }
    const waitMs = Math.min(this.clock.msUntilNext(), IDLE_WAIT_MS);
    if (this.hostInput?.open) this.hostInput.wait(waitMs);
    // A busy COM1 transmitter interrupts once the host has drained, which it does between slices.
    else if (this.clock.nextEvent < Infinity || this.pc.com1.transmitterBusy) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, waitMs);
    else return false;
    this.clock.runDue();
    return true;
  }

  instructionsRetired(): number {
    return this.vmcs.instructionsRetired();
  }

  /** The guest's registers as text (QEMU `info registers` layout). */
  registerDump(): string {
    return formatRegisters(this.vmcs);
  }
}

function isCoreExports(core: CoreSource): core is CoreExports {
  return typeof core === "object" && "run" in core && typeof core.run === "function";
}
