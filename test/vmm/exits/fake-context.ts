// A stand-in for the VirtualMachine that exit handlers see: a VMCS over a plain Int32Array, RAM,
// a bus, an MMU stub (identity mapping unless told otherwise), an emulate() stub, and the VMM's
// real per-VM state objects, so each handler can be tested from exit information alone, without
// the core. Exits during emulation and console output are recorded.

import { EXIT_PREEMPTION_TIMER, SR_CS, VMCS_SIZE, X_REASON } from "../../../assembly/vmcs-layout.js";
import type { CoreExports, LevelSwitchExports } from "../../../src/core/core-exports.js";
import { Vmcs } from "../../../src/core/vmcs.js";
import { IoBus } from "../../../src/devices/bus.js";
import { Cr3TargetList } from "../../../src/vmm/cr3-targets.js";
import { ExitStats } from "../../../src/vmm/exit-stats.js";
import { CpuidModel } from "../../../src/vmm/exits/cpuid.js";
import type { ExitContext } from "../../../src/vmm/exits/exit-context.js";
import { GuestInterruptFlag } from "../../../src/vmm/guest-interrupt-flag.js";
import { InterruptInjector } from "../../../src/vmm/interrupt-injector.js";
import { InterruptTimer } from "../../../src/vmm/interrupt-timer.js";
import { NestedVmx } from "../../../src/vmm/nested/vmx-state.js";
import { NestedSvm } from "../../../src/vmm/svm/svm-state.js";
import { SvmMsrs } from "../../../src/vmm/svm/svm-msrs.js";
import type { StopReason } from "../../../src/vmm/stop-reason.js";
import { resolveConfig, type VmConfig } from "../../../src/vmm/vm-config.js";

const LEVEL_SWITCH: LevelSwitchExports[] = ["entryControlsValid", "hostStateValid", "guestStateCheck", "saveL1Controls", "restoreL1Controls", "loadL2State", "mergeControls", "mergeCrMask", "writeExitInformation", "saveL2State", "loadHostState", "resumeL1", "svmVmrunCheck", "svmSaveHostState", "svmLoadL2State", "svmMergeControls", "svmWriteExit", "svmSaveL2State", "svmLoadHostState", "svmLoadSegment", "svmSaveSegment"];

export class FakeContext implements ExitContext {
  readonly config: VmConfig;
  readonly vmcs = new Vmcs(new Int32Array(VMCS_SIZE >> 2));
  readonly ram = new Uint8Array(1 << 20);
  readonly bus = new IoBus();
  readonly stats = new ExitStats();
  readonly cpuid: CpuidModel;
  readonly interrupts: InterruptInjector;
  readonly timer = new InterruptTimer(this.vmcs);
  readonly cr3Targets: Cr3TargetList;
  readonly vmx = new NestedVmx();
  readonly svmMsrs = new SvmMsrs();
  readonly svm = new NestedSvm();
  readonly stops: StopReason[] = [];
  readonly dispatched: number[] = [];
  readonly console: number[] = [];
  /** Linear addresses at or above this are unmapped. */
  mappedLimit = 1 << 20;
  /** The exit emulate() runs into (undefined: the instruction completes), and how many times it was called. */
  emulateExit: number | undefined;
  emulated = 0;
  /** What the exit handlers reported writing into guest RAM: [physical, length]. */
  readonly hostWrites: [number, number][] = [];
  readonly core = {
    translateLinear: (linear: number, _write: number) => (linear < this.mappedLimit ? linear : -1),
    // As the core's: the preemption timer's reason when the one instruction completed, else the
    // reason of the exit it caused (in X_REASON too).
    emulate: () => {
      this.emulated++;
      this.vmcs.set(X_REASON, this.emulateExit ?? EXIT_PREEMPTION_TIMER);
      return this.emulateExit ?? EXIT_PREEMPTION_TIMER;
    },
    noteHostWrite: (physical: number, length: number) => { this.hostWrites.push([physical, length]); },
    // Entering and leaving L2 needs the core's level switch: no handler tested here gets that far.
    ...Object.fromEntries(LEVEL_SWITCH.map((name) => [name, () => { throw new Error(`FakeContext has no core: ${name}() needs a VirtualMachine`); }])) as unknown as Pick<CoreExports, LevelSwitchExports>,
  };

  constructor(config: Partial<VmConfig> = {}) {
    this.config = resolveConfig(config);
    this.cpuid = new CpuidModel(this.config.cpuidVendor, this.config.hypervPartition, this.config.nested, this.config.cpu);
    this.interrupts = new InterruptInjector(this.vmcs, new GuestInterruptFlag(this, this.config.ifMode === "classic"));
    this.cr3Targets = new Cr3TargetList(this.vmcs, this.config.cr3Targets, this.config.cr3Policy);
    this.vmcs.setSegment(SR_CS, { selector: 8, base: 0, limit: 0xffffffff, ar: 0xc09b });
  }

  /** What consoleRoom() answers: how many more bytes the host's console takes. */
  room = Infinity;

  consoleRoom(): number {
    return this.room;
  }

  writeConsole(bytes: Uint8Array): void {
    this.console.push(...bytes);
  }



  /** Held interrupts reflected into L1, by reason. */
  heldReflections: number[] = [];

  reflectHeldInterrupt(reason: number): void {
    this.heldReflections.push(reason);
  }

  dispatch(reason: number): void {
    this.dispatched.push(reason);
  }

  /** Host work charged so far (host-work.ts units). */
  hostWork = 0;

  chargeHostWork(units: number): void {
    this.hostWork += units;
  }

  /** What idle() answers: whether anything could still wake a halted guest. */
  canWake = false;
  idled = 0;

  /** The display's side of write-trap exits and pv rectangles: the addresses it was shown, and whether it logs them (dirty-log). */
  readonly trappedWrites: number[] = [];
  readonly rectangles: number[][] = [];
  completedWrites = 0;
  dirtyLog = false;
  readonly display = {
    firstWrite: (physical: number): boolean => {
      this.trappedWrites.push(physical);
      return this.dirtyLog;
    },
    completedWrite: (): void => {
      this.completedWrites++;
    },
    reportRectangle: (x: number, y: number, width: number, height: number): boolean => {
      this.rectangles.push([x, y, width, height]);
      return width > 0;
    },
  };

  idle(): boolean {
    this.idled++;
    return this.canWake;
  }

  stop(reason: StopReason): void {
    this.stops.push(reason);
  }

  get stopped(): boolean {
    return this.stops.length > 0;
  }
}
