// The `wasmvisor` command line (bundled to dist/cli.js): defines the commands with commander and
// maps every failure to one line on stderr and a documented exit status (exit-status.ts). Users
// see a stack trace never: bad input is status 2, a broken installation or core bug status 1.

import { Command, CommanderError, Option } from "commander";
import { CLOCK_KINDS } from "../bench/marker-timing.js";
import { PEER_NAMES } from "../bench/peer-runners.js";
import { CoreAbortError, CoreLoadError } from "../core/core.js";
import { UnsaveableStateError } from "../devices/saved-values.js";
import { CPU_KINDS, CPUID_VENDORS, CR3_POLICIES, DEFAULT_CONFIG, HYPERV_PARTITIONS, IF_MODES, NESTED_MODES } from "../vmm/vm-config.js";
import { DEFAULT_MEMORY_MIB } from "../vmm/virtual-machine.js";
import { CLOCK_MODES } from "../vmm/virtual-clock.js";
import { DEFAULT_REFRESH_HZ, DISPLAY_UPDATES } from "../vmm/display-update.js";
import { benchCommand } from "./bench-command.js";
import { EXIT_INTERNAL_ERROR, EXIT_OUTPUT_CLOSED, EXIT_USAGE, UsageError } from "./exit-status.js";
import { parseCr3Targets, parseInstructionCount, parseIterations, parseMemoryMiB, parsePeers, parseRefreshHz, parseRunCount, parseSeconds } from "./options.js";
import { runCommand } from "./run-command.js";

function buildProgram(setStatus: (status: number) => void): Command {
  const program = new Command("wasmvisor")
    .description("A VT-x style hypervisor: an IA-32 guest CPU in WebAssembly, a VMM in TypeScript.")
    .exitOverride()
    .configureOutput({
      // commander's errors are already one line ("error: unknown option '--x'"); give them our prefix.
      outputError: (message, write) => write(`wasmvisor: ${message.replace(/^error: /, "").trim()}\n`),
    });

  program
    .command("run")
    .description("boot a Multiboot kernel; its COM1 output goes to stdout")
    .argument("[kernel]", "Multiboot (v1) kernel: ELF32, or any file with the a.out kludge (none with --restore-state)")
    .addOption(new Option("--mem <MiB>", "guest RAM in MiB").argParser(parseMemoryMiB).default(DEFAULT_MEMORY_MIB))
    .option("--cmdline <text>", "kernel command line (passed after the kernel's path, as QEMU's -append)")
    .option("--module <file>", "a Multiboot module: \"FILE [ARGS]\", loaded after the kernel with that text as its command line, as QEMU's -initrd (repeatable)", collect, [])
    .option("--max-instructions <n>", "stop after the guest retires this many instructions", parseInstructionCount)
    .option("--timeout <seconds>", "stop after this much wall-clock time", parseSeconds)
    .option("--stats", "print VM exits per reason (count, host time, ns per exit) and guest MIPS on stderr at the end")
    .option("--stats-json <file>", "write the same statistics as JSON to this file")
    .addOption(new Option("--trace <what>", "print one line per VM exit on stderr").choices(["exits"]))
    .addOption(new Option("--if-mode <mode>", "how the interrupt flag is virtualised").choices(IF_MODES).default(DEFAULT_CONFIG.ifMode))
    .addOption(new Option("--cpu <kind>", "the processor the guest sees: intel (GenuineIntel, a P6) or amd (AuthenticAMD, family 10h, SVM in CPUID)").choices(CPU_KINDS).default(DEFAULT_CONFIG.cpu))
    .addOption(new Option("--cpuid-vendor <vendor>", "the hypervisor CPUID presents (none: bare metal)").choices(CPUID_VENDORS).default(DEFAULT_CONFIG.cpuidVendor))
    .addOption(new Option("--hyperv-partition <kind>", "with --cpuid-vendor hyperv: root or child partition").choices(HYPERV_PARTITIONS).default(DEFAULT_CONFIG.hypervPartition))
    .addOption(new Option("--cr3-targets <n>", "CR3 values that switch without a VM exit, 0-4").argParser(parseCr3Targets).default(DEFAULT_CONFIG.cr3Targets))
    .addOption(new Option("--cr3-policy <policy>", "which CR3-target slot a missed CR3 load replaces").choices(CR3_POLICIES).default(DEFAULT_CONFIG.cr3Policy))
    .addOption(new Option("--nested <mode>", "nested virtualization offered to the guest: vmx (VT-x, with --cpu intel: CPUID, CR4.VMXE, VMX MSRs and instructions), svm (AMD-V, with --cpu amd: SVM enabled in VM_CR, the SVM instructions) or off").choices(NESTED_MODES).default(DEFAULT_CONFIG.nested))
    .addOption(new Option("--vmcs-shadowing <mode>", "with --nested vmx: the guest hypervisor's VMREAD and VMWRITE complete without a VM exit (on) or each exits and is emulated (off); it computes the same either way").choices(["on", "off"]).default("on"))
    .addOption(new Option("--jit <mode>", "the compiling tier: hot guest code runs as compiled WebAssembly (on), or everything is interpreted (off); the guest computes the same either way").choices(["on", "off"]).default("on"))
    .option("--disk <file>", "disk image for the ATA disk (0x1F0) and the paravirtual block device (0xA00)")
    .option("--disk-readonly", "open the disk image read-only: the guest's writes fail")
    .addOption(new Option("--display <what>", "draw the VGA text screen in the terminal (typing then goes to the PS/2 keyboard)").choices(["vga"]))
    .option("--screenshot <file.png>", "save the final VGA text screen as a PNG image (640x400)")
    .addOption(new Option("--display-update <strategy>", "how the frame buffer reaches the screen: trap (every write exits), refresh (copied whole at the refresh rate; the default), dirty-log (pages written since the last refresh, each write-protected until its first write), pv (the rectangles the guest reports by hypercall)").choices(DISPLAY_UPDATES))
    .addOption(new Option("--refresh-hz <n>", "screen refreshes per second for refresh and dirty-log").argParser(parseRefreshHz).default(DEFAULT_REFRESH_HZ))
    .option("--vga-trap", "the same as --display-update trap")
    .addOption(new Option("--clock <kind>", "time for the PIT and RTC: virtual (from retired instructions, repeatable) or real").choices(CLOCK_MODES).default("virtual"))
    .option("--save-state <file>", "when the run ends, however it ends (a signal too), save the whole machine to this file")
    .addOption(
      new Option("--restore-state <file>", "continue the machine saved in this file instead of booting a kernel; it keeps its memory and configuration")
        .conflicts(["mem", "cmdline", "module", "ifMode", "cpu", "cpuidVendor", "hypervPartition", "cr3Targets", "cr3Policy", "nested", "vgaTrap", "displayUpdate", "clock"]),
    )
    .addHelpText(
      "after",
      "\nExit status: the value the guest wrote to isa-debug-exit (port 0xf4), 2 for bad input,\n" +
        "3 when the guest did not exit (triple fault, budget, timeout, halted for good), 1 for internal errors,\n" +
        "128 + the signal's number when a signal ended the run (130 for Ctrl-A x).\n" +
        "\nConsole: COM1 is connected to the terminal both ways; when stdin is a terminal it is in raw mode\n" +
        "(keys, Ctrl-C included, go to the guest) and Ctrl-A x quits, Ctrl-A a types Ctrl-A.",
    )
    .action(async (kernel: string | undefined, options) => setStatus(await runCommand(kernel, options)));

  program
    .command("bench")
    .description("measure guest MIPS, real C phase by phase and what every kind of VM exit costs beside QEMU and v86, and the CR3 cliff")
    .addOption(new Option("--runs <n>", "runs of each measurement (default 3, --quick 2)").argParser(parseRunCount))
    .option("--quick", "short loops and fewer runs: the whole bench in under 30 seconds")
    .option("--only <pattern>", "only the benchmarks whose name matches this regular expression (e.g. 'cpuid|out', 'cli-sti', 'cr3-cliff', 'regloop', 'realc')")
    .option("--iterations <n>", "fixed iterations per exit benchmark (scaled down for slow ones) instead of calibrating each loop to a duration", parseIterations)
    .addOption(new Option("--peers <list>", "peers to compare with: qemu,v86 or none (missing ones are skipped)").argParser(parsePeers).default([...PEER_NAMES], PEER_NAMES.join(",")))
    .addOption(new Option("--clock <kind>", "host time to measure: wall, or cpu (the emulator process's CPU time: steadier on a busy machine)").choices(CLOCK_KINDS).default("wall"))
    .option("--json <file>", "also write the results as JSON to this file")
    .option("--markdown <file>", "also write the report as a Markdown section (date, machine, tables)")
    .option("--chart <file>", "draw the exit costs and the CR3 cliff as a chart: FILE.svg or FILE.png")
    .option("--compare <old.json>", "show the change in wasmvisor's figures since a previous run's --json")
    .action(async (options) => setStatus(await benchCommand(options)));

  return program;
}

/** Collects a repeatable option's values in order. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function main(argv: string[]): Promise<number> {
  // Help or a report piped into a reader that stops early (`wasmvisor run --help | head`): Node
  // raises EPIPE on process.stdout as an unhandled error event. End as `run` does when its
  // console's reader goes (run-command.ts), as a Unix tool killed by SIGPIPE, without a trace.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(EXIT_OUTPUT_CLOSED);
  });
  let status = 0;
  const program = buildProgram((s) => (status = s));
  try {
    await program.parseAsync(argv);
    return status;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version are successes; anything else commander already printed on one line.
    return error.code === "commander.helpDisplayed" || error.code === "commander.version" ? 0 : EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`wasmvisor: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof UnsaveableStateError) {
    process.stderr.write(`wasmvisor: --save-state: ${error.message}\n`);
    return EXIT_INTERNAL_ERROR;
  }
  const message = error instanceof CoreLoadError || error instanceof CoreAbortError ? error.message : `internal error: ${String(error)}`;
  process.stderr.write(`wasmvisor: ${message}\n`);
  return EXIT_INTERNAL_ERROR;
}

process.exitCode = await main(process.argv);
