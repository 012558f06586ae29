// The demo's VMCS controls, applied to a VM while its guest runs: the same fields a VT-x VMM would
// rewrite between two VM entries. HLT exiting and the I/O bitmaps are bits in the primary
// controls and bitmap A; the IF mode between vt and trap is the core's C_IF_MODE; the CR3-target
// count goes through the VMM's CR3-target list; the display update strategy is the VM's
// DisplayUpdater (it programs the write trap); the compiling tier is C_JIT (VirtualMachine.setCompilingTier); VMCS shadowing,
// for a guest hypervisor's VMREAD/VMWRITE, is VirtualMachine.setVmcsShadowing. Classic IF mode, the CPUID vendor and the CPU are VMM policy fixed when the VM is
// created (the VMM keeps a virtual IF under classic; CPUID answers from a model; the CPU decides its MSRs and nesting), so a change to
// them reboots the guest instead (needsReboot).

import {
  C_IF_MODE,
  C_PRIMARY,
  CTL_HLT_EXITING,
  CTL_UNCONDITIONAL_IO,
  CTL_USE_IO_BITMAPS,
  IF_MODE_TRAP,
  IF_MODE_VT,
  IO_BITMAP_A,
  IO_BITMAP_B,
} from "../../../assembly/vmcs-layout.js";
import { ATA_PRIMARY_CONTROL_PORT, ATA_PRIMARY_PORT, ATA_PRIMARY_PORT_COUNT } from "../../devices/ata-pio.js";
import { PV_BLOCK_PORT, PV_BLOCK_PORT_COUNT } from "../../devices/pv-block.js";
import { COM1_PORT, SERIAL_PORT_COUNT } from "../../devices/serial-16550.js";
import type { VirtualMachine } from "../../vmm/virtual-machine.js";
import { deprivilegesKernel } from "../../vmm/vm-config.js";
import type { LiveControls } from "../protocol.js";

/** Port ranges behind the I/O-bitmap controls: COM1; the ATA disk and the paravirtual block device. */
const CONSOLE_PORTS: Array<[first: number, count: number]> = [[COM1_PORT, SERIAL_PORT_COUNT]];
const DISK_PORTS: Array<[first: number, count: number]> = [
  [ATA_PRIMARY_PORT, ATA_PRIMARY_PORT_COUNT],
  [ATA_PRIMARY_CONTROL_PORT, 1],
  [PV_BLOCK_PORT, PV_BLOCK_PORT_COUNT],
];

/** Whether going from `booted` (the VM's creation-time configuration) to `wanted` needs a new VM. */
export function needsReboot(booted: VirtualMachine["config"], wanted: LiveControls): boolean {
  return booted.ifMode !== wanted.ifMode && (deprivilegesKernel(booted.ifMode) || deprivilegesKernel(wanted.ifMode)) ||
    booted.cpuidVendor !== wanted.cpuidVendor || booted.cpu !== wanted.cpu;
}

/**
 * Writes the live controls into the VMCS (and the I/O bitmaps beside it): into L0's own controls,
 * which, while a guest hypervisor's guest runs, are set aside and merged with L1's for it.
 */
export function applyControls(vm: VirtualMachine, controls: LiveControls): void {
  const l0 = vm.l0Controls;
  if (!deprivilegesKernel(vm.config.ifMode)) l0.set(C_IF_MODE, controls.ifMode === "trap" ? IF_MODE_TRAP : IF_MODE_VT);
  if (vm.cr3Targets.count !== controls.cr3Targets) vm.cr3Targets.resize(controls.cr3Targets);

  let primary = (l0.get(C_PRIMARY) & ~(CTL_HLT_EXITING | CTL_UNCONDITIONAL_IO)) | CTL_USE_IO_BITMAPS;
  if (controls.hltExiting) primary |= CTL_HLT_EXITING;
  l0.set(C_PRIMARY, primary);
  writeIoBitmaps(vm, controls);

  if (vm.display.strategy !== controls.displayUpdate) vm.display.setStrategy(controls.displayUpdate);
  vm.setCompilingTier(controls.compilingTier);
  vm.setVmcsShadowing(controls.vmcsShadowing);
}

/**
 * The live controls a VM runs under, read back from its VMCS: what applyControls() wrote, or what
 * a restored machine was saved with. A machine the CLI made (unconditional I/O exiting, no bitmaps)
 * intercepts every port.
 */
export function readControls(vm: VirtualMachine): LiveControls {
  const l0 = vm.l0Controls;
  const primary = l0.get(C_PRIMARY);
  const bitmaps = new Uint8Array(vm.core.memory.buffer, IO_BITMAP_A, IO_BITMAP_B + 0x1000 - IO_BITMAP_A);
  const exits = (port: number) => (primary & CTL_USE_IO_BITMAPS) === 0 || (bitmaps[port >> 3] & (1 << (port & 7))) !== 0;
  const ifMode = deprivilegesKernel(vm.config.ifMode) ? vm.config.ifMode : l0.get(C_IF_MODE) === IF_MODE_TRAP ? "trap" : "vt";
  return {
    ifMode,
    cr3Targets: vm.cr3Targets.count,
    hltExiting: (primary & CTL_HLT_EXITING) !== 0,
    interceptConsole: exits(CONSOLE_PORTS[0][0]),
    interceptDisk: exits(DISK_PORTS[0][0]),
    displayUpdate: vm.display.strategy,
    compilingTier: vm.compilingTier,
    cpuidVendor: vm.config.cpuidVendor,
    cpu: vm.config.cpu,
    vmcsShadowing: vm.vmcsShadowing,
  };
}

/** Every port exits (as the VMM's unconditional I/O exiting) except the ranges switched off. */
function writeIoBitmaps(vm: VirtualMachine, controls: LiveControls): void {
  const bitmaps = new Uint8Array(vm.core.memory.buffer, IO_BITMAP_A, IO_BITMAP_B + 0x1000 - IO_BITMAP_A);
  bitmaps.fill(0xff);
  const passThrough = [...(controls.interceptConsole ? [] : CONSOLE_PORTS), ...(controls.interceptDisk ? [] : DISK_PORTS)];
  for (const [first, count] of passThrough) {
    for (let port = first; port < first + count; port++) bitmaps[port >> 3] &= ~(1 << (port & 7));
  }
}
