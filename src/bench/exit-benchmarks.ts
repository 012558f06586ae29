// The exit benchmarks of `wasmvisor bench`: what each row of the table measures, as a test of
// guests/vmexit.elf (the guest's command-line word), how wasmvisor is configured for it, and
// whether the peers (QEMU, v86) run it too. Rows that differ only in wasmvisor's configuration
// (the interrupt-flag modes, --vga-trap) run the same guest code, so a peer runs that word once
// and its figure stands beside each of them. `cr3-hit` and `cr3-miss` are the two sides of the
// CR3 cliff (cr3-cliff.ts measures all of it with real process switches): MOV to CR3 cycling over
// four address spaces, all CR3 targets, and over five, which under LRU refill misses every time.

import type { VmConfig } from "../vmm/vm-config.js";
import type { DisplayUpdate } from "../vmm/display-update.js";
import type { Host } from "./exit-suite.js";

export const VMEXIT_GUEST = "guests/vmexit.elf";

/** How wasmvisor is set up for a row, beyond the defaults. */
export interface WasmvisorSetup extends Partial<VmConfig> {
  /** How the frame buffer reaches the screen (display-update.ts): trap makes every VGA store exit. */
  displayUpdate?: DisplayUpdate;
  /** Set "INVLPG exiting" (off by default: the core completes INVLPG itself). */
  invlpgExiting?: boolean;
  /** false: the compiling tier off (C_JIT = 0), the interpreter alone. */
  jit?: boolean;
  /** Under nested VMX: L1's VMREAD/VMWRITE in the core (VirtualMachineOptions.vmcsShadowing). */
  vmcsShadowing?: boolean;
  /** The vmexit guest runs as L2 under guests/nestvisor.elf (L1), which handles its exits. */
  throughL1?: boolean;
}

export interface ExitBenchmark {
  /** The row's name, what --only matches. */
  name: string;
  /** The vmexit guest's test word. */
  word: string;
  /** What one iteration does under wasmvisor (the exit it causes, or why none). */
  what: string;
  /** ns per iteration, or guest MIPS for the compute rows. */
  unit: "ns" | "MIPS";
  /** Instructions per iteration, for MIPS. */
  instructionsPerIteration?: number;
  /** Iterations relative to --iterations (slow operations run fewer), at least MIN_ITERATIONS. */
  scale: number;
  setup: WasmvisorSetup;
  /** Run on QEMU and v86 as well (not VMCALL: it is #UD there). */
  peers: boolean;
  /** The operation causes no exit under wasmvisor, so its cost may be ~0 (or noise below it). */
  free?: boolean;
  /** Goal in ns for wasmvisor, when the project has one. */
  targetNs?: number;
  /** Needs the core's interrupt-window exits. */
  needsInterruptWindow?: boolean;
  /** The report shows its L0 exits (VM exits to wasmvisor) per iteration beside the time. */
  countsL0Exits?: boolean;
  /** One of Adams & Agesen's nanobenchmarks under one technique: the report gives these rows a table of their own. */
  nano?: { benchmark: string; technique: Technique };
}

/** The ways to virtualise a deprivileged kernel the nanobenchmarks compare (--if-mode; docs/design.md, "Interrupt-flag modes" and "Binary translation"). */
export const TECHNIQUES = ["vt", "trap", "classic", "bt"] as const;
export type Technique = (typeof TECHNIQUES)[number];

export const MIN_ITERATIONS = 20;

/** The guest hypervisor the `throughL1` rows run the vmexit guest under, as its L2. */
export const L1_GUEST = "guests/nestvisor.elf";

/**
 * Whether a row's true figure on `host` is above zero: MIPS, or an operation that exits under
 * wasmvisor. A median at or below zero there is noise, not a cost. The peers never exit: they
 * emulate the operation inline, and some cost nothing beside the loop (QEMU's ptemod is a store).
 */
export const mustBePositive = (b: ExitBenchmark, host: Host): boolean => b.unit === "MIPS" || (host === "wasmvisor" && !b.free);

/** A nested row: wasmvisor alone (VMX and SVM are #UD on the peers), its L0 exits shown. */
const nested = (setup: WasmvisorSetup): Partial<ExitBenchmark> => ({ setup, peers: false, countsL0Exits: true });
/** Under nested VMX, L1 (with `throughL1`, nestvisor running the vmexit guest as L2) on an Intel CPU. */
const vmx = (vmcsShadowing: boolean, throughL1: boolean): Partial<ExitBenchmark> => nested({ nested: "vmx", vmcsShadowing, ...(throughL1 ? { throughL1 } : {}) });
/** Under nested SVM: nestvisor's SVM backend on the AMD CPU runs the vmexit guest as L2. */
const svm = (): Partial<ExitBenchmark> => nested({ cpu: "amd", nested: "svm", throughL1: true });

const row = (name: string, word: string, what: string, extra: Partial<ExitBenchmark> = {}): ExitBenchmark => ({
  name,
  word,
  what,
  unit: "ns",
  scale: 1,
  setup: {},
  peers: true,
  ...extra,
});

/**
 * Adams & Agesen's nanobenchmarks (ASPLOS 2006, "A Comparison of Software and Hardware Techniques
 * for x86 Virtualization"), each a test word of the vmexit guest: name, what one iteration does.
 * cr8wr has no IA-32 counterpart: cr0-ts is the CR write a kernel makes at each task switch.
 */
export const NANOBENCHMARKS: ReadonlyArray<{ name: string; what: string; free?: boolean }> = [
  { name: "syscall", what: "INT 0x80 from ring 3, handler IRETs (3 -> 0 -> 3)" },
  { name: "in", what: "IN from a latched port (UART scratch)" },
  { name: "cr0-ts", what: "MOV to CR0 flipping TS (lazy FPU)" },
  { name: "call-ret", what: "near CALL of an empty function, RET", free: true },
  { name: "pgfault", what: "#PF on an unmapped page, the guest's handler skips the load" },
  { name: "divzero", what: "#DE, the guest's handler skips the DIV" },
  { name: "ptemod", what: "write to a live page-table entry (its A bit)" },
];

/** The nanobenchmarks' rows: `${name}/${technique}`, each technique one wasmvisor boot for all seven. */
const nanoRows = (): ExitBenchmark[] =>
  NANOBENCHMARKS.flatMap(({ name, what, free }) =>
    TECHNIQUES.map((technique) => row(`${name}/${technique}`, name, what, { setup: { ifMode: technique }, nano: { benchmark: name, technique }, ...(free ? { free } : {}) })),
  );

export const EXIT_BENCHMARKS: readonly ExitBenchmark[] = [
  row("cpuid", "cpuid", "CPUID exit (10)", { targetNs: 20 }),
  row("vmcall", "vmcall", "VMCALL exit (18), clock hypercall", { peers: false }),
  row("out", "out", "I/O exit (30), OUT to a latched port (UART scratch)", { targetNs: 25 }),
  row("in", "in", "I/O exit (30), IN from a latched port (UART scratch)"),
  row("cr0", "cr0", "CR access exit (28), CR0.WP through the mask", { scale: 1 / 4 }),
  row("cr3-hit", "cr3:4", "MOV to CR3 among 4 targets: no exit", { scale: 1 / 4 }),
  row("cr3-miss", "cr3:5", "MOV to CR3, 5 spaces: CR access exit (28)", { scale: 1 / 4 }),
  row("pagefault", "pagefault", "hidden shadow fault (no exit), fresh page", { scale: 1 / 2 }),
  row("invlpg", "invlpg", "INVLPG exit (14)", { scale: 1 / 4, setup: { invlpgExiting: true } }),
  row("cli-sti/vt", "cli-sti", "CLI+STI, virtual IF: no exit", { setup: { ifMode: "vt" }, free: true }),
  row("cli-sti/trap", "cli-sti", "CLI+STI, 2 exits (0x100, 0x101)", { setup: { ifMode: "trap" } }),
  row("cli-sti/classic", "cli-sti", "CLI+STI, 2 #GP exits (0)", { setup: { ifMode: "classic" } }),
  row("cli-sti/bt", "cli-sti", "CLI+STI, translated: inline, no exit", { setup: { ifMode: "bt" }, free: true }),
  row("popf/vt", "popf", "PUSHF+POPF, virtual IF: no exit", { setup: { ifMode: "vt" }, free: true }),
  row("popf/trap", "popf", "PUSHF+POPF, 2 exits (0x102, 0x103)", { setup: { ifMode: "trap" } }),
  row("popf/classic", "popf", "PUSHF+POPF, classic: no exit (the flaw)", { setup: { ifMode: "classic" }, free: true }),
  row("popf/bt", "popf", "PUSHF+POPF, translated: inline, no exit", { setup: { ifMode: "bt" }, free: true }),
  row("vga", "vga", "VGA frame-buffer store: RAM, no exit", { free: true }),
  row("vga/trap", "vga", "VGA store with --vga-trap: exit (48)", { setup: { displayUpdate: "trap" } }),
  row("hlt", "hlt", "HLT exit (12) + PIT interrupt injected", { scale: 1 / 1000 }),
  row("irq", "irq", "interrupt window (7) + injection + handler", { scale: 1 / 10, needsInterruptWindow: true }),
  // Nested VMX (docs/design.md, "Nesting"): one CPUID of L2 is one L2 exit, reflected to L1
  // (nestvisor), whose handler reads the exit with VMREADs, VMWRITEs the next RIP and VMRESUMEs.
  row("l2-cpuid", "cpuid", "L2 CPUID round trip through L1, VMCS shadowing on", { ...vmx(true, true), scale: 1 / 10, targetNs: 1000 }),
  row("l2-cpuid/exit", "cpuid", "L2 CPUID round trip through L1, VMCS shadowing off", { ...vmx(false, true), scale: 1 / 10 }),
  // The same through SVM (issue 19): L1 reads the exit from its VMCB in memory and VMRUNs again.
  row("l2-cpuid/svm", "cpuid", "L2 CPUID round trip through an SVM L1 (VMCB in memory)", { ...svm(), scale: 1 / 10, targetNs: 1000 }),
  row("vmread", "vmread", "VMREAD in L1, VMCS shadowing on: no exit", { ...vmx(true, false), free: true }),
  row("vmread/exit", "vmread", "VMREAD in L1, shadowing off: exit (23)", vmx(false, false)),
  row("vmwrite", "vmwrite", "VMWRITE in L1, VMCS shadowing on: no exit", { ...vmx(true, false), free: true }),
  row("vmwrite/exit", "vmwrite", "VMWRITE in L1, shadowing off: exit (25)", vmx(false, false)),
  row("compute", "compute", "guest MIPS, paging off", { unit: "MIPS", instructionsPerIteration: 8, scale: 20, free: true }),
  row("compute-pg", "compute-pg", "guest MIPS, paging on", { unit: "MIPS", instructionsPerIteration: 8, scale: 20, free: true }),
  ...nanoRows(),
];

/** The rows --only selects: its pattern is a case-insensitive regular expression on the name. */
export function selectBenchmarks(only: RegExp | undefined): ExitBenchmark[] {
  return EXIT_BENCHMARKS.filter((b) => only === undefined || only.test(b.name));
}

/** Iterations of each test word: --iterations scaled for the row (slow operations run fewer). */
export function iterationsFor(benchmarks: readonly ExitBenchmark[], iterations: number): Map<string, number> {
  return new Map(benchmarks.map((b) => [b.word, Math.max(MIN_ITERATIONS, Math.round(iterations * b.scale))]));
}

/** The vmexit guest's command line: `N word N word ...`. */
export function vmexitCmdline(iterations: ReadonlyMap<string, number>): string {
  return [...iterations].map(([word, n]) => `${n} ${word}`).join(" ");
}

/** A key for "the same wasmvisor VM": rows with equal setups share one boot. */
export function setupKey(setup: WasmvisorSetup): string {
  return JSON.stringify(Object.entries(setup).sort(([a], [b]) => a.localeCompare(b)));
}
