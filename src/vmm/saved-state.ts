// A whole machine as data, so that a restored one continues exactly where the saved one stopped:
// - the CPU: the VMCS region (guest state, controls, exit and entry information, the shadow-MMU
//   statistics in its STAT_* fields) and the I/O bitmaps, as the core left them at the last exit;
//   the core takes its internal counters back from them (adoptSavedCounters); shadow page tables,
//   the TLB and compiled blocks are caches and are rebuilt on demand;
// - guest RAM (ram-codec.ts);
// - the VMM: its clock, the interrupts waiting for injection and scheduled by hypercall, the
//   virtual IF of `classic` mode, the CR3-target list's ages and misses, L1's VMX operation
//   (nested/vmx-state.ts), the AMD MSRs VM_CR and VM_HSAVE_PA (svm/svm-msrs.ts), the exit counts;
// - every device's registers and pending timer events (each device's saveState());
// - what the machine is: RAM size, VMM configuration, clock, VGA write trap and whether it had a
//   disk (the image itself is the user's file and is not saved; restore with the same one).
// state-file.ts turns this into bytes with a header and checksum. Restoring checks, before any of
// it is applied, that the saved data has the shape this version writes, with the fresh machine's
// own state as the template; then each part checks its values against what it could have held as
// it restores them (saved-values.ts). So a damaged or forged file gives a SavedStateError, never a
// machine that hangs, grows without bound or writes outside its disk.

import { IO_BITMAP_B, VMCS_BASE, C_CLEAN_FIELDS, C_CR_INTERCEPTS } from "../../assembly/vmcs-layout.js";
import { DISPLAY_UPDATES, type DisplayUpdate } from "./display-update.js";
import type { AtaPioState } from "../devices/ata-pio.js";
import type { CmosRtcState } from "../devices/cmos-rtc.js";
import type { I8042State } from "../devices/i8042.js";
import type { DualPicState } from "../devices/pic-8259.js";
import type { PitState } from "../devices/pit-8254.js";
import type { PvBlockState } from "../devices/pv-block.js";
import type { Serial16550State } from "../devices/serial-16550.js";
import type { VgaTextState } from "../devices/vga-text.js";
import type { PciBusState } from "../devices/pci-bus.js";
import type { StdVgaState } from "../devices/std-vga.js";
import { fromBase64, toBase64 } from "./base64.js";
import type { Cr3TargetListState } from "./cr3-targets.js";
import type { NestedVmxState } from "./nested/vmx-state.js";
import type { SvmMsrState } from "./svm/svm-msrs.js";
import { followVmcsShadowing } from "./nested/vmcs-shadowing.js";
import { decodeRam, encodeRam } from "./ram-codec.js";
import { SavedStateError, StatePath } from "../devices/saved-values.js";
import { decodeStateFile, encodeStateFile } from "./state-file.js";
import { CLOCK_MODES, type ClockMode, type VirtualClockState } from "./virtual-clock.js";
import type { VirtualMachine, VirtualMachineOptions } from "./virtual-machine.js";
import { DEFAULT_CONFIG, type VmConfig } from "./vm-config.js";

/** The VMCS region and I/O bitmaps A and B, which follow it in the core's memory. */
const CPU_BYTES = IO_BITMAP_B + 0x1000 - VMCS_BASE;

export interface MachineDescription {
  memoryMiB: number;
  config: VmConfig;
  clock: ClockMode;
  displayUpdate: DisplayUpdate;
  disk: { sectors: number; readOnly: boolean } | null;
}

export interface SavedMachine {
  machine: MachineDescription;
  vmm: {
    clock: VirtualClockState;
    injector: ReturnType<VirtualMachine["interrupts"]["saveState"]>;
    interruptFlag: ReturnType<VirtualMachine["interrupts"]["flag"]["saveState"]>;
    timer: ReturnType<VirtualMachine["timer"]["saveState"]>;
    cr3Targets: Cr3TargetListState;
    vmx: NestedVmxState;
    svmMsrs: SvmMsrState;
    exitCounts: ReturnType<VirtualMachine["stats"]["saveCounts"]>;
  };
  devices: {
    pic: DualPicState;
    pit: PitState;
    com1: Serial16550State;
    com2: Serial16550State;
    rtc: CmosRtcState;
    keyboard: I8042State;
    vga: VgaTextState;
    pci: PciBusState;
    display: StdVgaState;
    /** The std-VGA's video memory, encoded as RAM is (ram-codec.ts), in base64. */
    videoMemory: string;
    ata: AtaPioState | null;
    pvBlock: PvBlockState | null;
  };
}

/** A state file read and checked, not yet applied to a machine. */
export interface SavedImage {
  state: SavedMachine;
  cpu: Uint8Array;
  ram: Uint8Array;
}

export function saveMachine(vm: VirtualMachine): Uint8Array {
  const cpu = new Uint8Array(vm.core.memory.buffer, VMCS_BASE, CPU_BYTES).slice();
  return encodeStateFile(describeMachine(vm), cpu, encodeRam(vm.ram));
}

function describeMachine(vm: VirtualMachine): SavedMachine {
  const { pc } = vm;
  const disk = pc.disk === undefined ? null : { sectors: pc.disk.sectors, readOnly: pc.disk.readOnly };
  vm.svm.checkSaveable(vm.interrupts);
  return {
    // The CR3-target count as it is now: a host may change it while the guest runs (the demo's control).
    machine: { memoryMiB: vm.ram.length >> 20, config: { ...vm.config, cr3Targets: vm.cr3Targets.count }, clock: vm.clock.mode, displayUpdate: vm.display.strategy, disk },
    vmm: {
      clock: vm.clock.saveState(),
      injector: vm.interrupts.saveState(),
      interruptFlag: vm.interrupts.flag.saveState(),
      timer: vm.timer.saveState(),
      cr3Targets: vm.cr3Targets.saveState(),
      vmx: vm.vmx.saveState(),
      svmMsrs: vm.svmMsrs.saveState(),
      exitCounts: vm.stats.saveCounts(),
    },
    devices: {
      pic: pc.pic.saveState(),
      pit: pc.pit.saveState(),
      com1: pc.com1.saveState(),
      com2: pc.com2.saveState(),
      rtc: pc.rtc.saveState(),
      keyboard: pc.keyboard.saveState(),
      vga: pc.vga.saveState(),
      pci: pc.pci.saveState(),
      display: pc.display.saveState(),
      videoMemory: toBase64(encodeRam(vm.videoMemory)),
      ata: pc.ata?.saveState() ?? null,
      pvBlock: pc.pvBlock?.saveState() ?? null,
    },
  };
}

/** Reads and checks a state file; what machine it describes, before one is made for it. */
export function readStateFile(bytes: Uint8Array): SavedImage {
  const { json, cpu, ram } = decodeStateFile(bytes);
  if (cpu.length !== CPU_BYTES) throw new SavedStateError(`corrupt state file: the CPU section is ${cpu.length} bytes, not ${CPU_BYTES}`);
  if (typeof json !== "object" || json === null || !("machine" in json)) throw new SavedStateError("corrupt state file: it describes no machine");
  const machineTemplate: MachineDescription = { memoryMiB: 0, config: { ...DEFAULT_CONFIG }, clock: "virtual", displayUpdate: "refresh", disk: null };
  const state = json as SavedMachine;
  checkShape(state.machine, machineTemplate, "machine");
  if (!CLOCK_MODES.includes(state.machine.clock)) throw new SavedStateError(`corrupt state file: unknown clock ${JSON.stringify(state.machine.clock)}`);
  if (!DISPLAY_UPDATES.includes(state.machine.displayUpdate)) throw new SavedStateError(`corrupt state file: unknown display update ${JSON.stringify(state.machine.displayUpdate)}`);
  return { state, cpu, ram };
}

type MachineOption = "memoryMiB" | "clock" | "displayUpdate" | keyof VmConfig;

/**
 * The options that rebuild the saved machine, merged into `given`. Options that say what the
 * machine is must be left out or agree with the saved machine; a disk must match the saved one.
 */
function restoreOptions<T extends VirtualMachineOptions>(image: SavedImage, given: T): T {
  const { machine } = image.state;
  const saved: Record<MachineOption, unknown> = { memoryMiB: machine.memoryMiB, clock: machine.clock, displayUpdate: machine.displayUpdate, ...machine.config };
  for (const [key, value] of Object.entries(saved) as [MachineOption, unknown][]) {
    const wanted = given[key];
    if (wanted !== undefined && wanted !== value) {
      throw new SavedStateError(`the saved machine has ${key} ${JSON.stringify(value)}; it cannot be restored with ${JSON.stringify(wanted)}`);
    }
  }
  const { disk } = given;
  if (machine.disk === null && disk !== undefined) throw new SavedStateError("the saved machine had no disk; it cannot be restored with one");
  if (machine.disk !== null) {
    const had = `a ${machine.disk.readOnly ? "read-only" : "writable"} disk of ${machine.disk.sectors} sectors`;
    if (disk === undefined) throw new SavedStateError(`the saved machine had ${had}: restore it with the same disk image`);
    if (disk.sectors !== machine.disk.sectors || disk.readOnly !== machine.disk.readOnly) {
      throw new SavedStateError(`the saved machine had ${had}, not a ${disk.readOnly ? "read-only" : "writable"} one of ${disk.sectors}: restore it with the same disk image`);
    }
  }
  return { ...given, ...saved };
}

/** VirtualMachine.restore(): a machine made by `create` from the saved description, then given the saved state. */
export async function restoreMachine<T extends VirtualMachineOptions>(
  state: Uint8Array | SavedImage,
  options: T,
  create: (options: T) => Promise<VirtualMachine>,
): Promise<VirtualMachine> {
  const image = state instanceof Uint8Array ? readStateFile(state) : state;
  let vm: VirtualMachine;
  try {
    vm = await create(restoreOptions(image, options));
  } catch (error) {
    if (error instanceof RangeError) throw new SavedStateError(`corrupt state file: ${error.message}`);
    throw error;
  }
  applySavedMachine(vm, image);
  vm.setCompilingTier(options.compilingTier ?? true); // the host's choice, not the saving host's
  // The saving host's console may have been full, leaving COM1's transmitter busy; this host's
  // room is its own, and no output of its will come to say so before the guest writes again.
  vm.consoleDrained();
  return vm;
}

/**
 * Applies a saved machine to `vm`, freshly created with restoreOptions(). Each part checks its
 * values as it restores them (saved-values.ts); a refusal leaves `vm` half-restored, and
 * restoreMachine() never hands it out.
 */
function applySavedMachine(vm: VirtualMachine, image: SavedImage): void {
  const { state, cpu, ram } = image;
  checkShape(state, describeMachine(vm), "");
  new Uint8Array(vm.core.memory.buffer, VMCS_BASE, CPU_BYTES).set(cpu);
  vm.vmcs.set(C_CLEAN_FIELDS, 0); // the saved bits describe the saving core: reload everything
  vm.vmcs.set(C_CR_INTERCEPTS, 0); // L1's CR intercepts are for its L2, which no saved machine runs (svm/svm-state.ts)
  vm.core.adoptSavedCounters();
  decodeRam(ram, vm.ram);
  const { vmm, devices } = state;
  const [vmmPath, devicesPath] = [new StatePath("vmm"), new StatePath("devices")];
  vm.clock.restoreState(vmm.clock, vmmPath.at("clock")); // first: the devices' events are checked against its time
  vm.interrupts.restoreState(vmm.injector, vmmPath.at("injector"));
  vm.interrupts.flag.restoreState(vmm.interruptFlag);
  vm.timer.restoreState(vmm.timer, vmmPath.at("timer"));
  vm.cr3Targets.restoreState(vmm.cr3Targets, vmmPath.at("cr3Targets"));
  vm.vmx.restoreState(vmm.vmx, vm.ram.length, vmmPath.at("vmx"));
  vm.svmMsrs.restoreState(vmm.svmMsrs, vm.vmcs, vm.config.cpu === "amd", vmmPath.at("svmMsrs"));
  followVmcsShadowing(vm.vmcs, vm.vmx); // the restoring host's choice, not the saved control
  vm.stats.restoreCounts(vmm.exitCounts, vmmPath);
  const { pc } = vm;
  pc.pic.restoreState(devices.pic, devicesPath.at("pic"));
  pc.pit.restoreState(devices.pit, devicesPath.at("pit"));
  pc.com1.restoreState(devices.com1, devicesPath.at("com1"));
  pc.com2.restoreState(devices.com2, devicesPath.at("com2"));
  pc.rtc.restoreState(devices.rtc, devicesPath.at("rtc"));
  pc.keyboard.restoreState(devices.keyboard, devicesPath.at("keyboard"));
  pc.vga.restoreState(devices.vga, devicesPath.at("vga"));
  decodeRam(fromBase64(devices.videoMemory, "devices.videoMemory"), vm.videoMemory, "devices.videoMemory");
  pc.display.restoreState(devices.display, devicesPath.at("display"));
  pc.pci.restoreState(devices.pci, devicesPath.at("pci")); // last: maps the video memory where BAR 0 says
  if (devices.ata !== null) pc.ata?.restoreState(devices.ata, devicesPath.at("ata"));
  if (devices.pvBlock !== null) pc.pvBlock?.restoreState(devices.pvBlock, devicesPath.at("pvBlock"));
  // The write trap's range comes from the strategy, not the saved VMCS; the screen from the restored RAM.
  vm.display.setStrategy(vm.display.strategy);
}

/**
 * Checks that `value` has the shape of `template` (what this version saves): the same keys, finite
 * numbers, booleans and strings where the template has them, arrays of the template's length when
 * it is not empty. Where the template has null (an optional part) or an empty list, the values
 * must be plain: numbers, or objects of numbers and booleans.
 */
function checkShape(value: unknown, template: unknown, path: string): void {
  const where = path === "" ? "the state" : path;
  const fail = (what: string): never => {
    throw new SavedStateError(`corrupt state file: ${where} ${what}`);
  };
  if (template === null) {
    if (value !== null) checkShape(value, plainKind(value), path);
  } else if (typeof template === "number") {
    if (typeof value !== "number" || !Number.isFinite(value)) fail("should be a number");
  } else if (typeof template !== "object") {
    if (typeof value !== typeof template) fail(`should be a ${typeof template}`);
  } else if (Array.isArray(template)) {
    if (!Array.isArray(value)) return fail("should be a list");
    if (template.length > 0 && value.length !== template.length) fail(`should have ${template.length} entries, not ${value.length}`);
    value.forEach((item, i) => checkShape(item, template.length > 0 ? template[i] : plainKind(item), `${path}[${i}]`));
  } else {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return fail("should be an object");
    const keys = Object.keys(template);
    const extra = Object.keys(value).find((key) => !keys.includes(key));
    if (extra !== undefined) fail(`has an unknown field ${JSON.stringify(extra)}`);
    const record = value as Record<string, unknown>;
    for (const key of keys) {
      if (!(key in record)) fail(`lacks the field ${JSON.stringify(key)}`);
      checkShape(record[key], (template as Record<string, unknown>)[key], path === "" ? key : `${path}.${key}`);
    }
  }
}

/** The template a plain value must match: a number, or an object of numbers and booleans. */
function plainKind(item: unknown): unknown {
  if (typeof item !== "object" || item === null || Array.isArray(item)) return 0;
  return Object.fromEntries(Object.entries(item).map(([key, v]) => [key, typeof v === "boolean" ? false : 0]));
}
