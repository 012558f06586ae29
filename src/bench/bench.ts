// The project's benchmark: boots the benchmark guests (guests/regloop.elf: a register-only loop,
// the interpreter's best case; guests/compute.elf: a mixed integer workload with memory traffic)
// several times each in a fresh VM and measures guest MIPS = instructions retired / wall time of
// the run loop, boot time (compile and instantiate the core, allocate RAM, load the kernel) and
// memory. The targets are the project's performance goals for the interpreter. guests/vga runs
// twice, with its frame buffer in plain RAM (the default: the screen is refreshed from it) and
// with --vga-trap (every write to it exits), so the exits and MIPS of the two strategies for a
// VGA screen can be compared.

import { readFile } from "node:fs/promises";
import { defaultCoreWasmUrl } from "../core/core.js";
import { packageFileUrl } from "../package-files.js";
import { BenchGuestError } from "./bench-guest-error.js";
import { describeStop } from "../vmm/stop-reason.js";
import { VirtualMachine, type VirtualMachineOptions } from "../vmm/virtual-machine.js";

export interface BenchGuest {
  name: string;
  /** The kernel, relative to the package root. */
  path: string;
  /** Goal in guest MIPS (median of the runs); none for a guest that shows a cost. */
  targetMips?: number;
  /** The guest's command-line arguments when the benchmark gives none. */
  args?: string;
  /** How the VM is set up, if not the default. */
  vm?: Pick<VirtualMachineOptions, "displayUpdate">;
}

export const BENCH_GUESTS: readonly BenchGuest[] = [
  { name: "regloop", path: "guests/regloop.elf", targetMips: 300 },
  { name: "compute", path: "guests/compute.elf", targetMips: 150 },
  { name: "vga", path: "guests/vga.elf", args: "100000" },
  { name: "vga --vga-trap", path: "guests/vga.elf", args: "100000", vm: { displayUpdate: "trap" } },
];

export interface BenchRun {
  guest: string;
  run: number;
  instructions: number;
  runSeconds: number;
  mips: number;
  bootMs: number;
  exits: number;
  /** Size of the core's linear memory (VMCS, core data, guest RAM). */
  wasmMemoryMiB: number;
  /** Resident set size of this process after the run. */
  rssMiB: number;
}

const GUEST_MEMORY_MIB = 32;
/** Bounds a benchmark guest that hangs; the benchmark guests finish in a few seconds. */
const TIMEOUT_SECONDS = 300;

/** `args`: the guest's command-line arguments (regloop's iteration count; default none). */
export async function benchGuest(guest: BenchGuest, runs: number, core?: BufferSource, args = ""): Promise<BenchRun[]> {
  const coreBytes = core ?? (await readFile(defaultCoreWasmUrl()));
  const kernel = await readFile(packageFileUrl(guest.path));
  const results: BenchRun[] = [];
  for (let run = 1; run <= runs; run++) {
    const bootStart = performance.now();
    const cmdline = `${guest.path} ${args || guest.args || ""}`;
    const vm = await VirtualMachine.boot(kernel, { ...guest.vm, core: coreBytes, memoryMiB: GUEST_MEMORY_MIB, cmdline });
    const bootMs = performance.now() - bootStart;

    const result = vm.run({ timeoutSeconds: TIMEOUT_SECONDS });
    if (result.stop.kind !== "guest-exit" || result.stop.code !== 0) {
      throw new BenchGuestError(`${guest.path} run ${run}: ${describeStop(result.stop)}`);
    }
    results.push({
      guest: guest.name,
      run,
      instructions: result.instructions,
      runSeconds: result.seconds,
      mips: result.instructions / result.seconds / 1e6,
      bootMs,
      exits: vm.statistics().totalExits,
      wasmMemoryMiB: vm.core.memory.buffer.byteLength / 2 ** 20,
      rssMiB: process.memoryUsage.rss() / 2 ** 20,
    });
  }
  return results;
}
