// Runs a marker guest (marker-timing.ts) on wasmvisor for the benchmarks: one fresh VM per run,
// configured as the benchmark rows ask (interrupt-flag mode, --vga-trap, INVLPG exiting, the
// compiling tier off), with the guest's console stamped line by line with the clock given (wall
// time, or the CPU time of this thread) and with the VM's retired and compiled instruction counts.
// The console callback runs inside the I/O exit's handler, so each stamp is taken the moment the
// guest writes the newline.

import { CTL_INVLPG_EXITING, C_PRIMARY } from "../../assembly/vmcs-layout.js";
import { TRANSLATION_COUNTERS, readTranslationStatistics, translationCounters } from "../vmm/bt/translation-stats.js";
import { timeCompiles, type CompileTime } from "../core/core.js";
import { describeStop } from "../vmm/stop-reason.js";
import { VirtualMachine } from "../vmm/virtual-machine.js";
import { BenchGuestError } from "./bench-guest-error.js";
import type { WasmvisorSetup } from "./exit-benchmarks.js";
import { DONE_LINE, LineStamper, type Clock, type StampedLine } from "./marker-timing.js";
import type { SpeedSample } from "./time-to-peak.js";

/** Longest a run of a benchmark guest may take before it counts as hung. */
export const GUEST_TIMEOUT_SECONDS = 300;

export interface WasmvisorRun {
  /** The console, stamped with the clock. */
  lines: StampedLine[];
  /** The same lines stamped with the instructions the guest had retired, and those compiled code retired. */
  retired: StampedLine[];
  compiled: StampedLine[];
  /** The same lines stamped with the VM exits wasmvisor (L0) had taken, of every reason. */
  exits: StampedLine[];
  /** The same lines stamped with the ms (by the clock) the compiling tier had spent. */
  compiling: StampedLine[];
  /** The compiling tier's work over the whole run (the guest's boot included), timed with the clock. */
  compiles: CompileTime;
  /** The whole run's time by the clock, from the guest's first instruction. */
  runMs: number;
  /** With a speedClock: the retired count and that clock at every slice's end and every console line (time-to-peak.ts). */
  speed: SpeedSample[];
  /** Under --if-mode bt: the same lines stamped with each of binary translation's counts (translationCounters()), by the count's name. */
  translation: Map<string, StampedLine[]>;
  vm: VirtualMachine;
}

/** How the L1 guest (exit-benchmarks.ts L1_GUEST) prefixes each line its L2 prints. */
const L2_PREFIX = /^\[L2\] /;

/**
 * Boots `guest` (its path, for the command line and messages) and runs it to its exit with status
 * 0. With `setup.throughL1`, `l1` (the L1 guest's kernel) is booted instead, with `guest` as its
 * Multiboot module, so `guest` runs as its L2; the lines are L2's, without L1's prefix.
 */
export async function runGuestOnWasmvisor(
  guest: string, kernel: Uint8Array, core: BufferSource, cmdline: string, setup: WasmvisorSetup, clock: Clock, done = DONE_LINE, l1?: Uint8Array, speedClock?: Clock,
): Promise<WasmvisorRun> {
  const { invlpgExiting, jit, throughL1, ...options } = setup;
  const stamper = new LineStamper(clock, done);
  let vm: VirtualMachine | undefined = undefined;
  const retired = new LineStamper(() => vm!.vmcs.instructionsRetired());
  const compiled = new LineStamper(() => vm!.vmcs.compiledInstructions());
  const exits = new LineStamper(() => vm!.stats.total);
  let compiles: CompileTime | undefined = undefined;
  const compiling = new LineStamper(() => compiles!.ms);
  const counters = options.ifMode === "bt" ? TRANSLATION_COUNTERS.map((counter, i) => [counter, new LineStamper(() => translationCounters(readTranslationStatistics(vm!.vmcs))[i])] as const) : [];
  const name = guest.split("/").at(-1);
  const stampers = [stamper, retired, compiled, exits, compiling, ...counters.map(([, s]) => s)];
  const speed: SpeedSample[] = [];
  const sampleSpeed = speedClock && (() => speed.push({ retired: vm!.vmcs.instructionsRetired(), ms: speedClock() }));
  const serialOutput = (byte: number) => {
    stampers.forEach((s) => s.byte(byte));
    if (byte === 0x0a) sampleSpeed?.(); // a phase's markers among them: its first sample is its start
  };
  if (throughL1 && l1 === undefined) throw new BenchGuestError(`${guest} "${cmdline}": no L1 guest to run it under`);
  vm = throughL1
    ? await VirtualMachine.boot(l1!, { ...options, core, compilingTier: jit !== false, serialOutput, modules: [{ bytes: kernel, cmdline: `${name} ${cmdline}` }] })
    : await VirtualMachine.boot(kernel, { ...options, core, compilingTier: jit !== false, cmdline: `${name} ${cmdline}`, serialOutput });
  if (invlpgExiting) vm.vmcs.set(C_PRIMARY, vm.vmcs.get(C_PRIMARY) | CTL_INVLPG_EXITING);
  const start = clock();
  compiles = timeCompiles(vm.core, clock);
  const { stop } = vm.run({ timeoutSeconds: GUEST_TIMEOUT_SECONDS, onSliceEnd: sampleSpeed });
  const runMs = clock() - start;
  if (throughL1) for (const s of stampers) s.lines.forEach((line) => (line.text = line.text.replace(L2_PREFIX, "")));
  if (stop.kind !== "guest-exit" || stop.code !== 0 || !stamper.done) {
    throw new BenchGuestError(`${guest} "${cmdline}" on wasmvisor: ${describeStop(stop)}${stamper.done ? "" : `: ${stamper.lines.at(-1)?.text ?? "no output"}`}`);
  }
  return {
    lines: stamper.lines, retired: retired.lines, compiled: compiled.lines, exits: exits.lines, compiling: compiling.lines, compiles, runMs, speed,
    translation: new Map(counters.map(([counter, s]) => [counter, s.lines])), vm,
  };
}

/** The vmexit guest on wasmvisor (as L2 under `l1` for `throughL1` setups). */
export async function runOnWasmvisor(kernel: Uint8Array, core: BufferSource, cmdline: string, setup: WasmvisorSetup, clock: Clock, l1?: Uint8Array): Promise<WasmvisorRun> {
  return runGuestOnWasmvisor("guests/vmexit.elf", kernel, core, cmdline, setup, clock, DONE_LINE, l1);
}

/**
 * Whether the core makes interrupt-window exits (SDM 25.2). Without them an interrupt raised
 * while IF = 0 waits for the next exit of any kind, which in the `irq` test's spin loop is the
 * end of the time slice: millions of instructions per iteration.
 */
export async function hasInterruptWindowExits(kernel: Uint8Array, core: BufferSource): Promise<boolean> {
  const vm = await VirtualMachine.boot(kernel, { core, cmdline: "vmexit.elf 1 irq" });
  return vm.run({ maxInstructions: 1_500_000 }).stop.kind === "guest-exit";
}
