// The exit path's cold start: what the first COLD_EXITS CPUID exits of a fresh VM cost, against
// the same VM's later ones. V8 runs new WebAssembly code in its baseline tier (Liftoff) and
// optimises hot functions in the background, but a function already running keeps its code until
// it is called again (no on-stack replacement for WebAssembly); the VMM's handlers start in V8's
// interpreter. A fresh VM's first exits are therefore slower than the steady figure of the exit
// table, which V8 has long optimised by the time it runs.
// V8 keeps the code it compiled for a module's bytes, so a VM on the bench's core would reuse what
// earlier runs optimised: this one runs on a copy of the core with a custom section of its own
// (no effect on what the core does), which V8 compiles anew, as a new process would.
// guests/exitloop.elf starts with a CPUID loop (xor eax; cpuid; dec esi; jnz: one exit per
// iteration). The VM runs its boot to the first CPUID untimed, then COLD_EXITS iterations timed
// (the cold figure), then one untimed stretch of as many, then STEADY_RUNS timed stretches (the
// steady figure, their median): each stretch is one run() to an instruction limit, so the two
// figures are measured the same way.
// What the cold stretch spends compiling the guest's code is timed apart with the same clock
// (core.ts timeCompiles): the loop's block becomes hot after a few dozen iterations and is
// compiled inside the stretch, and that compile costs milliseconds: the translator runs code V8
// has not optimised yet (its first call's JavaScript compiling is done by the warm-up while the
// core compiles, src/jit/warm-up.ts) and V8 compiles the region's module on this thread. The row
// shows it, and the cold figure without it: what the exit path itself costs before V8 has
// optimised it.

import { EXIT_CPUID } from "../../assembly/vmcs-layout.js";
import { uleb } from "../jit/wasm-module.js";
import { instantiateCore, timeCompiles } from "../core/core.js";
import { VirtualMachine } from "../vmm/virtual-machine.js";
import { describeStop } from "../vmm/stop-reason.js";
import { BenchGuestError } from "./bench-guest-error.js";
import type { Clock, ClockKind } from "./marker-timing.js";
import { threadSleeps } from "./thread-cpu-clock.js";
import { median } from "./report.js";

export const EXITLOOP_GUEST = "guests/exitloop.elf";
/** The exits the cold figure averages. */
export const COLD_EXITS = 200_000;
/** The target: the cold average at most this many times the steady one (issue 17). */
export const COLD_TARGET_RATIO = 1.5;
/**
 * Retired instructions per iteration of exitloop's CPUID loop: XOR, DEC and JNZ. The CPUID exits,
 * and the VMM completes it: the core's count (what run()'s limit counts) leaves it out.
 */
const RETIRED_PER_ITERATION = 3;
const STEADY_RUNS = 3;
/** Longest any stretch may take before the guest counts as hung. */
const TIMEOUT_SECONDS = 60;

export interface ColdStart {
  /** Host ns per iteration (one CPUID exit and three instructions) of the first COLD_EXITS. */
  coldNs: number;
  /** The same later in the same VM: the median of STEADY_RUNS stretches of COLD_EXITS. */
  steadyNs: number;
  /** coldNs / steadyNs. */
  ratio: number;
  /** Of the cold stretch: ms in the compiling tier (by the same clock), and its compile calls. */
  coldCompileMs: number;
  coldCompiles: number;
  /** coldNs without the compiles' time. */
  coldNsWithoutCompiles: number;
  /** coldNsWithoutCompiles / steadyNs: the exit path's own cold start. */
  ratioWithoutCompiles: number;
  /** Compile calls in the steady stretches (none, for the steady figure to be steady). */
  steadyCompiles: number;
  /**
   * The guest's thread slept in the cold stretch (V8's module compile waits on its compiler
   * threads): with the CPU clock the figure is then exact only to a scheduler tick (threadSleeps).
   */
  coldSlept: boolean;
  /** CPUID exits in the cold stretch (COLD_EXITS), and any exits of the VM before it (its boot's). */
  coldExits: number;
  exitsBefore: number;
  cpuidExitsBefore: number;
}

/** `core` with a custom section holding `nonce`: the same code, new bytes for V8's code cache. */
export function freshCoreBytes(core: Uint8Array, nonce: string): Uint8Array<ArrayBuffer> {
  const name = new TextEncoder().encode("wasmvisor.cold-start");
  const content: number[] = [];
  uleb(content, name.length);
  content.push(...name, ...new TextEncoder().encode(nonce));
  const section = [0]; // a custom section
  uleb(section, content.length);
  section.push(...content);
  const bytes = new Uint8Array(core.length + section.length);
  bytes.set(core);
  bytes.set(section, core.length);
  return bytes;
}

let nonces = 0;

export async function measureColdStart(kernel: Uint8Array, core: Uint8Array<ArrayBuffer>, clock: Clock): Promise<ColdStart> {
  const cmdline = `exitloop.elf ${COLD_EXITS * (2 + STEADY_RUNS)}`;
  const loopStart = await firstCpuidAt(kernel, core, cmdline);
  const fresh = freshCoreBytes(core, `${process.pid}.${Date.now()}.${nonces++}`);
  const vm = await VirtualMachine.boot(kernel, { core: await instantiateCore(fresh), cmdline });
  runTo(vm, loopStart);
  const before = vm.statistics();
  const cpuidBefore = vm.stats.count(EXIT_CPUID);
  const compiles = timeCompiles(vm.core, clock);

  const stretch = (): number => {
    const start = clock();
    runTo(vm, vm.instructionsRetired() + COLD_EXITS * RETIRED_PER_ITERATION);
    return ((clock() - start) * 1e6) / COLD_EXITS;
  };
  const sleepsBefore = threadSleeps();
  const coldNs = stretch();
  const coldSlept = threadSleeps() !== sleepsBefore;
  const coldCompileMs = compiles.ms;
  const coldCompiles = compiles.calls;
  const coldExits = vm.stats.count(EXIT_CPUID) - cpuidBefore;
  if (vm.statistics().totalExits - before.totalExits !== coldExits || coldExits !== COLD_EXITS) {
    throw new BenchGuestError(`${EXITLOOP_GUEST}: ${COLD_EXITS} iterations of its CPUID loop made ${coldExits} CPUID exits of ${vm.statistics().totalExits - before.totalExits}`);
  }
  stretch(); // lets V8 finish optimising
  const compilesBeforeSteady = compiles.calls;
  const steadyNs = median(Array.from({ length: STEADY_RUNS }, stretch));
  const coldNsWithoutCompiles = coldNs - (coldCompileMs * 1e6) / COLD_EXITS;
  return {
    coldNs, steadyNs, ratio: coldNs / steadyNs, coldCompileMs, coldCompiles, coldNsWithoutCompiles, ratioWithoutCompiles: coldNsWithoutCompiles / steadyNs,
    steadyCompiles: compiles.calls - compilesBeforeSteady, coldSlept, coldExits, exitsBefore: before.totalExits, cpuidExitsBefore: cpuidBefore,
  };
}

/** Instructions the guest retires before its first CPUID (a throwaway VM, watched at every exit). */
async function firstCpuidAt(kernel: Uint8Array, core: Uint8Array<ArrayBuffer>, cmdline: string): Promise<number> {
  const probe = await VirtualMachine.boot(kernel, { core, cmdline });
  let at: number | undefined;
  probe.onExit((exit) => {
    if (exit.reason === EXIT_CPUID && at === undefined) {
      at = probe.instructionsRetired();
      probe.stop({ kind: "instruction-limit", limit: at });
    }
  });
  probe.run({ maxInstructions: 1_000_000, timeoutSeconds: TIMEOUT_SECONDS });
  if (at === undefined) throw new BenchGuestError(`${EXITLOOP_GUEST} made no CPUID exit in its first million instructions`);
  return at;
}

function runTo(vm: VirtualMachine, instructions: number): void {
  const { stop } = vm.run({ maxInstructions: instructions, timeoutSeconds: TIMEOUT_SECONDS });
  if (stop.kind !== "instruction-limit") throw new BenchGuestError(`${EXITLOOP_GUEST}: ${describeStop(stop)} before instruction ${instructions}`);
}

/** The report's lines. */
export function formatColdStart(cold: ColdStart, clock: ClockKind): string {
  const verdict = clock === "cpu" && cold.coldSlept
    ? "not measured exactly: the thread slept in the cold stretch (V8's compile waited on its compiler threads), and the CPU clock counts whole scheduler ticks (4 ms here) across a sleep"
    : cold.ratio <= COLD_TARGET_RATIO ? "met" : "missed";
  return [
    `Cold start (${EXITLOOP_GUEST}, ${clock === "cpu" ? "CPU" : "wall"} time): CPUID loop iterations, one exit each`,
    `  first ${COLD_EXITS.toLocaleString("en-US")} of a fresh VM on freshly compiled core code: ${cold.coldNs.toFixed(1)} ns each`,
    `    of which compiling the guest's code: ${cold.coldCompileMs.toFixed(2)} ms in ${cold.coldCompiles} compile${cold.coldCompiles === 1 ? "" : "s"}; without it ${cold.coldNsWithoutCompiles.toFixed(1)} ns each (${cold.ratioWithoutCompiles.toFixed(2)}x warm)`,
    `  the same VM once warm (median of ${STEADY_RUNS} x ${COLD_EXITS.toLocaleString("en-US")}): ${cold.steadyNs.toFixed(1)} ns each`,
    `  cold / warm ${cold.ratio.toFixed(2)}x (target at most ${COLD_TARGET_RATIO}x): ${verdict}`,
  ].join("\n");
}
