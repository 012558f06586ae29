// Runs one fuzz case on a fresh bare core, playing a minimal VMM (after run() returns, or inside the
// core's call to its exit handler as the real VMM): before each entry it skips the
// instruction an instruction exit named (as a VMM does once it has emulated it), gives an
// intercepted exception back to the guest when the case says so, injects the case's event, and
// completes trap-mode and write-trap exits with the core's emulate(), as the real VMM does. Every
// exit is checked (exit-checks.ts), and so is the memory outside guest RAM (protected-memory.ts).
// A JavaScript exception or WASM trap out of the core is a crash.
import { createHash } from "node:crypto";
import * as L from "../../assembly/vmcs-layout.js";
import type { ExitHandler } from "../core/core.js";
import { BareCore, type CoreModule } from "./core-module.js";
import { checkExit, checkGuestState, INSTRUCTION_EXITS } from "./exit-checks.js";
import { applySetup, type Entry, type FuzzCase } from "./fuzz-case.js";
import { ProtectedMemory, switchesMade } from "./protected-memory.js";

export interface ExitRecord { reason: number; qualification: number; eip: number }

export interface Execution {
  exits: ExitRecord[];
  /** Invariant violations and crashes, in the order found; empty for a clean run. */
  problems: string[];
  /** The guest-state area at the end, a word per 4 bytes (registers through the retired count). */
  state: number[];
  /** A digest of guest RAM at the end, when asked for. */
  ramDigest?: string;
  compiledBlocks: number;
  /** The guest ran at CPL 3 at some point. */
  userLevel: boolean;
  /** Budget the first entry used up before its exit (instructions tried, retired or not). */
  firstEntryUsed: number;
  /**
   * The work the case was allowed, in the core's host-work units (about one instruction each): the
   * budgets of the entries it made, and the host work the core charged (shadow-table scans,
   * compiling). Host time beyond what this accounts for is work nothing bounds (case-runner.ts).
   */
  work: number;
  /** Host time spent running the guest: in the core's run(), less the checks made inside it. */
  guestMs: number;
  /** Level switches the core made itself (VMRUN, VMRESUME or VMLAUNCH into L2, L2's CPUID back). */
  levelSwitches: number;
}

export interface ExecuteOptions {
  /** Override the case's C_JIT. */
  jit?: boolean;
  /** Override the case's C_IF_MODE. */
  ifMode?: number;
  /** Compute ramDigest (for comparing two runs). */
  digest?: boolean;
  /** Handle the exits inside the core's call to its exit handler, as the VMM does, not after run() returns. */
  delivered?: boolean;
}

const STATE_WORDS = L.G_CPL / 4 + 1;
const EMULATED = new Set([L.EXIT_CLI, L.EXIT_STI, L.EXIT_PUSHF, L.EXIT_POPF, L.EXIT_IRET, L.EXIT_WRITE_TRAP]);

/** A fresh core set up for `c` (with C_JIT overridden when `jit` is given), before its first entry. */
export function coreFor(source: CoreModule, c: FuzzCase, jit?: boolean, exitHandler?: ExitHandler, ifMode?: number): BareCore {
  const core = new BareCore(source, c.setup.ram, exitHandler);
  applySetup(core, c);
  if (jit !== undefined) core.setVmcs(L.C_JIT, jit ? 1 : 0);
  if (ifMode !== undefined) core.setVmcs(L.C_IF_MODE, ifMode);
  return core;
}

export function execute(source: CoreModule, c: FuzzCase, options: ExecuteOptions = {}): Execution {
  const exits: ExitRecord[] = [];
  const problems: string[] = [];
  let switches = 0; // level switches the core had made at the last exit
  const exited = (reason: number): void => {
    exits.push({ reason, qualification: core.vmcs(L.X_QUALIFICATION), eip: core.vmcs(L.G_EIP) });
    const made = switchesMade(core);
    const levelSwitched = made !== switches;
    switches = made;
    problems.push(...checkExit(core, reason), ...checkGuestState(core, reason, levelSwitched));
  };
  const { entries } = c.setup;
  let cacheUsed = false; // compiled blocks or binary translations may be in the block cache
  let last = -1;
  let firstEntryUsed = -1;
  let entered = 0;
  let budgets = 0;
  let guard: ProtectedMemory;
  // Before each entry: the VMM's part, and a snapshot of the memory the guest must not touch.
  const enterNext = (): boolean => {
    if (entered === entries.length || last === L.EXIT_TRIPLE_FAULT || problems.length > 0) return false;
    budgets += entries[entered].budget;
    prepareEntry(core, last, entries[entered++]);
    cacheUsed ||= core.vmcs(L.C_JIT) !== 0 || core.vmcs(L.C_IF_MODE) === L.IF_MODE_BT;
    guard = ProtectedMemory.capture(core);
    return true;
  };
  // At each exit: record and check it, complete it as the VMM would, check the memory.
  const handleExit = (reason: number): void => {
    if (firstEntryUsed < 0) firstEntryUsed = entries[0].budget - core.vmcs(L.C_PREEMPTION_TIMER);
    last = reason;
    exited(last);
    if (EMULATED.has(last)) {
      last = core.exports.emulate();
      if (last !== L.EXIT_PREEMPTION_TIMER) exited(last);
    }
    problems.push(...guard.violations(cacheUsed));
  };
  // A yield for host work (vmcs-layout.ts C_HOST_WORK_YIELD) is no exit: only when asked for, with
  // budget left, which the next entry continues with; the VMM resumes at once, and so do we.
  const hostWorkYield = (reason: number): boolean => {
    if (reason !== L.EXIT_PREEMPTION_TIMER || core.vmcs(L.X_QUALIFICATION) !== L.PREEMPTION_HOST_WORK) return false;
    if (core.vmcs(L.C_HOST_WORK_YIELD) === 0) problems.push("a host-work yield without C_HOST_WORK_YIELD");
    if (core.vmcs(L.C_PREEMPTION_TIMER) === 0) problems.push("a host-work yield with no budget left");
    return problems.length === 0;
  };
  let checkingMs = 0; // inside run(), in the exit handler
  const delivered = (reason: number): boolean => {
    if (hostWorkYield(reason)) return true;
    const start = performance.now();
    handleExit(reason);
    const goOn = enterNext();
    checkingMs += performance.now() - start;
    return goOn;
  };
  const core = coreFor(source, c, options.jit, options.delivered ? delivered : undefined, options.ifMode);
  let runMs = 0;
  const run = (): number => {
    const start = performance.now();
    let reason: number;
    do reason = core.exports.run(); while (hostWorkYield(reason));
    runMs += performance.now() - start;
    return reason;
  };
  try {
    if (options.delivered) {
      if (enterNext()) run();
    } else {
      while (enterNext()) handleExit(run());
    }
  } catch (error) {
    problems.push(`host exception: ${(error as Error).stack ?? error}`);
  }
  const state: number[] = [];
  for (let i = 0; i < STATE_WORDS; i++) state.push(core.vmcs(i * 4));
  return {
    exits, problems, state,
    ramDigest: options.digest ? createHash("md5").update(core.ram).digest("hex") : undefined,
    compiledBlocks: core.exports.compiledBlocks(),
    userLevel: core.exports.userLevelSeen.value !== 0,
    work: budgets + core.vmcs64(L.STAT_HOST_WORK_LO),
    guestMs: runMs - checkingMs,
    firstEntryUsed,
    levelSwitches: switchesMade(core),
  };
}

// The VMM's part between the last exit and the next entry.
export function prepareEntry(core: BareCore, last: number, entry: Entry): void {
  if (INSTRUCTION_EXITS.has(last) && !EMULATED.has(last)) {
    core.setVmcs(L.G_EIP, core.vmcs(L.G_EIP) + core.vmcs(L.X_INSTRUCTION_LENGTH));
  }
  if (last === L.EXIT_EXCEPTION && entry.reflect) {
    core.setVmcs(L.E_INTR_INFO, core.vmcs(L.X_INTR_INFO));
    core.setVmcs(L.E_INTR_ERROR, core.vmcs(L.X_INTR_ERROR));
    core.setVmcs(L.E_INSTRUCTION_LENGTH, core.vmcs(L.X_INSTRUCTION_LENGTH));
  }
  if (entry.inject) {
    const [info, error, length] = entry.inject;
    core.setVmcs(L.E_INTR_INFO, info);
    core.setVmcs(L.E_INTR_ERROR, error);
    core.setVmcs(L.E_INSTRUCTION_LENGTH, length);
  }
  core.setVmcs(L.C_PREEMPTION_TIMER, entry.budget);
}

/** The first way `b` differs from `a` (same case, another configuration), or undefined. */
export function firstDivergence(a: Execution, b: Execution): string | undefined {
  const hex = (n: number): string => "0x" + (n >>> 0).toString(16);
  const exitText = (e: ExitRecord | undefined): string => e ? `reason ${e.reason} qual ${hex(e.qualification)} eip ${hex(e.eip)}` : "none";
  for (let i = 0; i < Math.max(a.exits.length, b.exits.length); i++) {
    const x = a.exits[i];
    const y = b.exits[i];
    if (!x || !y || x.reason !== y.reason || x.qualification !== y.qualification || x.eip !== y.eip) {
      return `exit ${i}: ${exitText(x)} vs ${exitText(y)}`;
    }
  }
  const word = a.state.findIndex((w, i) => w !== b.state[i]);
  if (word >= 0) return `guest state at VMCS ${hex(word * 4)}: ${hex(a.state[word])} vs ${hex(b.state[word])}`;
  if (a.ramDigest !== b.ramDigest) return "guest RAM differs";
  return undefined;
}
