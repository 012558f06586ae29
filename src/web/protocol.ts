// The messages between the demo page (src/web/main.ts) and the worker that runs the guest
// (src/web/worker.ts). The page never touches the VM: it sends commands (boot, controls, input,
// pause/step/reset) and draws what the worker reports (console bytes, the VGA text buffer, exit
// statistics, run state). Byte arrays travel as transferred ArrayBuffers, so a message copies
// nothing it does not have to.

import type { Rect } from "../devices/std-vga.js";
import type { TextScreen } from "../devices/vga-text.js";
import type { CpuidVendor, CpuKind, IfMode } from "../vmm/vm-config.js";
import type { DisplayUpdate } from "../vmm/display-update.js";

/**
 * The VMCS controls a student flips while the guest runs, and the boot-time choices (IF mode
 * classic and bt, CPUID vendor) that reboot the guest when changed.
 */
export interface LiveControls {
  /** vt and trap switch live; to or from classic or bt reboots (the VMM deprivileges the kernel from the VM's creation). */
  ifMode: IfMode;
  /** CR3-target count, 0-4. */
  cr3Targets: number;
  hltExiting: boolean;
  /** I/O bitmap bits for COM1 (0x3F8-0x3FF): cleared, the guest's port accesses do not exit. */
  interceptConsole: boolean;
  /** I/O bitmap bits for the disks: ATA (0x1F0-0x1F7, 0x3F6) and the paravirtual device (0xA00). */
  interceptDisk: boolean;
  /** Every write to the VGA text buffer exits (write trap) instead of a periodic refresh. */
  /** How the frame buffer reaches the screen (src/vmm/display-update.ts). */
  displayUpdate: DisplayUpdate;
  /** Hot guest code runs compiled (the compiling tier; C_JIT); off, the interpreter runs everything. */
  compilingTier: boolean;
  cpuidVendor: CpuidVendor;
  /** The CPU the guest sees (the CLI's --cpu): a guest hypervisor's L2 runs through VMX on intel, SVM on amd. Reboots. */
  cpu: CpuKind;
  /**
   * VMCS shadowing (the VMM's, for a guest hypervisor under nested VMX): L1's VMREAD and VMWRITE
   * complete without an exit; off, each exits and the VMM emulates it. Live.
   */
  vmcsShadowing: boolean;
}

/** Exits the page's exit trace shows: the last this many. */
export const TRACE_LENGTH = 100;

/** A boot: the kernel file, its name on the page, and what the CLI's options would give it. */
export interface BootSpec {
  kernel: ArrayBuffer;
  name: string;
  /** The kernel's path, first on its command line (QEMU's and the CLI's convention). */
  path: string;
  /** The rest of the command line (the CLI's --cmdline). */
  cmdline: string;
  memoryMiB: number;
  controls: LiveControls;
  /** Multiboot modules after the kernel (the CLI's --module): a guest hypervisor's L2 kernel. */
  modules?: BootModule[];
  /** Nested virtualization offered (the CLI's --nested) whenever a module is given, for nestvisor: the CPU's own (vm-config.ts nestingOf). */
  nested?: boolean;
}

export interface BootModule {
  bytes: ArrayBuffer;
  /** Its command line: its name, then any arguments (the CLI's "FILE [ARGS]"). */
  cmdline: string;
}

export type PageMessage =
  | ({ type: "boot" } & BootSpec)
  | { type: "controls"; controls: LiveControls }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "step" }
  | { type: "reset" }
  | { type: "serial-input"; bytes: ArrayBuffer }
  /** The terminal drew (or dropped, clearing for a new machine) this many bytes of console output: the guest may write that many more. */
  | { type: "console-drawn"; bytes: number }
  | { type: "key"; key: string; ctrl: boolean }
  | { type: "measure-exit-costs" }
  | { type: "save-state" }
  | { type: "restore-state"; bytes: ArrayBuffer; name: string }
  | { type: "disk-upload"; bytes: ArrayBuffer; name: string }
  | { type: "disk-download" }
  /** The exit trace panel opened or closed: the worker keeps the last exits only while it is open. */
  | { type: "trace"; on: boolean };

export type RunState = "idle" | "running" | "paused" | "halted" | "stopped";

export interface ExitCounter {
  reason: number;
  name: string;
  /** The reason's number as its manual writes it (ExitReasonStats.code): 10, 0x104, SVM's 0x72. */
  code: string;
  count: number;
  /** Exits of this reason per second over the last sample interval. */
  perSecond: number;
  /**
   * Host ns per exit spent in the VMM (its handler) over the whole run; undefined while the
   * clock's steps are too coarse for the time summed so far (src/vmm/handler-timer.ts).
   */
  nsPerExit?: number;
}

/** Under nesting, one level's exits (src/vmm/exit-level.ts), by reason, with the VMM's ns per exit. */
export interface LevelCounters {
  /** Exits of L1 (L0 handles them), of L2 reflected into L1, and of L2 that L0 handled itself. */
  l1: ExitCounter[];
  reflected: ExitCounter[];
  l2: ExitCounter[];
}

export interface StatsSample {
  /** Wall-clock seconds since boot. */
  time: number;
  exits: ExitCounter[];
  totalExits: number;
  exitsPerSecond: number;
  /** Host ns per exit in the VMM over the last interval; undefined without exits or with a clock too coarse for them. */
  nsPerExit?: number;
  /** The worker's clock: its step (~5,000 ns cross-origin isolated in Chromium, 100,000 not) and what one reading costs. */
  clock: { stepNs: number; readingNs: number };
  /** Guest MIPS over the last interval's run-loop time, and over the whole run. */
  mips: number;
  averageMips: number;
  instructions: number;
  /** The share of the last interval's instructions that compiled code retired, 0-1 (0 with no instructions). */
  compiledShare: number;
  /** The shadow MMU's counters and the CR3-target hits and misses, by label (src/vmm/mmu-stats.ts). */
  mmu: Record<string, number>;
  /** Once a guest hypervisor's guest (L2) has exited: the exits by level. */
  levels?: LevelCounters;
  /** Under --if-mode bt: each rewrite translated code performed instead of exiting (src/vmm/bt/translation-stats.ts). */
  rewrites?: RewriteCounter[];
}

/** One kind of rewrite under bt: performed inline against the virtual CPU, or as a callout to the VMM's emulation. */
export interface RewriteCounter {
  /** "inline CLI", "callout IRET": TRANSLATION_COUNTERS' name. */
  name: string;
  count: number;
  /** Performed per second over the last sample interval. */
  perSecond: number;
}

/** One row of the bench's exit loops as measured in the worker (src/web/vm/exit-costs.ts). */
export interface ExitCost {
  /** The bench row's name (src/bench/exit-benchmarks.ts) and what one iteration does. */
  name: string;
  what: string;
  /** Host ns per iteration, the median of the runs, and half their range relative to it. */
  ns: number;
  spread: number;
  /** Every run's host ns per iteration, in the order they ran. */
  runs: number[];
  iterations: number;
  /** The same row under Node in the stored bench run (docs/bench-results.json), if it has it. */
  nodeNs?: number;
}

export interface StepReport {
  registers: string;
  eip: number;
  /** The instruction's bytes (up to 15), if its address is mapped. */
  bytes: number[];
  disassembly: string;
  /** Why the guest stopped for good (describeStop, the CLI's line), when it has. */
  stopReason?: string;
}

export type WorkerMessage =
  | { type: "ready" }
  | { type: "booted"; name: string; controls: LiveControls }
  /** The controls the machine runs under, for the form to show (after a change it refused). */
  | { type: "controls"; controls: LiveControls }
  | { type: "state"; state: RunState; message?: string }
  | { type: "console"; bytes: ArrayBuffer }
  | { type: "screen"; cells: ArrayBuffer; cursor: TextScreen["cursor"]; blink: boolean }
  /** A graphics mode's frame, width x height pixels: what changed, `rect`, as its RGBA pixels line after line. */
  | { type: "frame"; width: number; height: number; rect: Rect; rgba: ArrayBuffer }
  | { type: "stats"; sample: StatsSample }
  | { type: "step"; report: StepReport }
  /** The last exits (at most TRACE_LENGTH), oldest first, as `--trace exits` prints them. */
  | { type: "trace"; lines: string[] }
  | { type: "exit-costs-progress"; label: string }
  | { type: "exit-costs"; costs: ExitCost[]; crossOriginIsolated: boolean; nodeRunDate: string }
  | { type: "exit-costs-failed"; message: string }
  | { type: "error"; message: string }
  /** Why a state file or disk image the page sent cannot be used; the machine runs on as it was. */
  | { type: "tool-error"; message: string }
  /** A saved machine (state-file.ts's format) and the disk image, for the page to download. */
  | { type: "state-file"; bytes: ArrayBuffer; name: string }
  | { type: "disk-image"; bytes: ArrayBuffer; name: string }
  /** The disk image every machine gets (src/web/vm/page-disk.ts). */
  | { type: "disk"; name: string; bytes: number; sectors: number };
