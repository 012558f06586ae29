// The real saved machines the state-file campaign forges from: the sample guests saved part-way
// through under the virtual clock, so every campaign with the same seed starts from the same
// files. Each is saved twice: as its guest left it, and with every device busy the way a guest
// could have left it through its ports (busyDevices()), so that the parts a quiet guest leaves
// empty (timer events, transfers in progress, queues) are there to forge too.

import { readFileSync } from "node:fs";
import { MemoryDisk } from "../devices/block-backend.js";
import { UnsaveableStateError } from "../devices/saved-values.js";
import { keystrokeFor } from "../devices/scancodes.js";
import { packageFileUrl } from "../package-files.js";
import type { VmConfig } from "../vmm/vm-config.js";
import { saveMachine } from "../vmm/saved-state.js";
import { VirtualMachine } from "../vmm/virtual-machine.js";

/** The disk a seed was saved with, which its forged files are restored with. */
export interface SeedDisk {
  sectors: number;
  readOnly: boolean;
}

export interface StateSeed {
  name: string;
  file: Uint8Array;
  disk: SeedDisk | null;
}

const DISK_SECTORS = 8192; // 4 MiB

interface SeedSpec {
  guest: string;
  /** As little as the guest needs: every case restores, runs and saves all of it. */
  memoryMiB: number;
  instructions: number[];
  config?: Partial<VmConfig>;
  disk?: SeedDisk;
}

const SPECS: SeedSpec[] = [
  { guest: "tour", memoryMiB: 4, instructions: [20_000, 50_000] },
  { guest: "multitask", memoryMiB: 4, instructions: [300_000], config: { cr3Targets: 2, cr3Policy: "fifo" } },
  { guest: "vga", memoryMiB: 4, instructions: [1_000_000] },
  { guest: "shell", memoryMiB: 4, instructions: [10_000] },
  { guest: "ifmodes", memoryMiB: 4, instructions: [10_000], config: { ifMode: "classic" } },
  { guest: "diskbench", memoryMiB: 20, instructions: [50_000, 400_000], disk: { sectors: DISK_SECTORS, readOnly: false } },
  { guest: "diskbench", memoryMiB: 20, instructions: [50_000], disk: { sectors: DISK_SECTORS, readOnly: true } },
  // A guest hypervisor on the AMD CPU between its VMRUNs (a machine is saved only while L1 runs
  // with GIF set): forged, its VM_HSAVE_PA, VM_CR and EFER meet its next VMRUN.
  { guest: "svmentry", memoryMiB: 4, instructions: [200_000], config: { cpu: "amd", nested: "svm" } },
];

/** A fresh zeroed disk like the seed's (each restore gets its own, so no case sees another's writes). */
export function seedDisk(disk: SeedDisk): MemoryDisk {
  return new MemoryDisk(new Uint8Array(disk.sectors * 512), disk.readOnly);
}

/**
 * Port writes and host input that leave every device with something in flight: the PIT's channel
 * 0 at 1 kHz and channel 2 latched, the RTC's periodic and once-a-second interrupts on, keys and
 * serial bytes queued, interrupts scheduled by the VMM, and an ATA transfer half done.
 */
function busyDevices(vm: VirtualMachine): void {
  const out = (port: number, ...bytes: number[]) => bytes.forEach((byte) => vm.bus.write(port, 1, byte)); // bytes in turn to one port
  out(0x43, 0x34);
  out(0x40, 0xa9, 0x04); // channel 0: mode 2, 1193 (1 kHz)
  out(0x43, 0xb6);
  out(0x42, 0x10); // channel 2: the low byte of its count only
  out(0x43, 0x80); // and latched
  out(0x70, 0x0a);
  out(0x71, 0x26); // RTC: 1024 Hz periodic rate ...
  out(0x70, 0x0b);
  out(0x71, 0x72); // ... PIE, AIE and UIE on, 24-hour
  vm.pc.keyboard.type([...new TextEncoder().encode("forge")].map((byte) => keystrokeFor(byte)!));
  out(0x3fa, 0x01); // COM1's FIFO on ...
  vm.pc.com1.receive(new TextEncoder().encode("abc")); // ... with three bytes received
  vm.scheduleInterrupt(0x40, 5_000);
  vm.scheduleInterrupt(0x41, 1_000_000);
  if (vm.pc.ata === undefined) return;
  const write = !vm.pc.disk!.readOnly;
  out(0x1f2, 4); // four sectors ...
  out(0x1f3, 10);
  out(0x1f4, 0);
  out(0x1f5, 0);
  out(0x1f6, 0x40); // ... from LBA 10
  out(0x1f7, write ? 0x30 : 0x20); // WRITE or READ SECTORS
  for (let i = 0; i < 300; i++) (write ? vm.bus.write(0x1f0, 2, i) : vm.bus.read(0x1f0, 2)); // into the second sector
}

/** Runs on, a few instructions at a time, until the machine can be saved (a nested guest may be running). */
function runToSaveablePoint(vm: VirtualMachine): void {
  for (let tries = 0; tries < 1000; tries++) {
    try {
      saveMachine(vm);
      return;
    } catch (error) {
      if (!(error instanceof UnsaveableStateError)) throw error;
      vm.run({ maxInstructions: 100 });
    }
  }
  throw new Error("the seed never reached a point where it can be saved");
}

export async function stateSeeds(): Promise<StateSeed[]> {
  const seeds: StateSeed[] = [];
  for (const { guest, memoryMiB, instructions, config, disk } of SPECS) {
    const kernel = readFileSync(packageFileUrl(`guests/${guest}.elf`));
    for (const count of instructions) {
      const vm = await VirtualMachine.boot(kernel, { memoryMiB, ...config, disk: disk && seedDisk(disk) });
      vm.run({ maxInstructions: count });
      runToSaveablePoint(vm);
      const name = `${guest}${disk?.readOnly ? " (read-only disk)" : ""} at ${vm.instructionsRetired()}`;
      seeds.push({ name, file: vm.saveState(), disk: disk ?? null });
      busyDevices(vm);
      seeds.push({ name: `${name}, busy`, file: vm.saveState(), disk: disk ?? null });
    }
  }
  return seeds;
}
