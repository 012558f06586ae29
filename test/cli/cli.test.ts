// The CLI as a user meets it: `node dist/cli.js` in a child process (npm test builds dist first,
// see the pretest script). Bad input must give exactly one line on stderr and status 2.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { concat, exitWith, kernelElf, x86 } from "../support/images.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist/cli.js");
const scratch = mkdtempSync(join(tmpdir(), "wasmvisor-cli-"));

function file(name: string, bytes: Uint8Array): string {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}

function wasmvisor(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectUsageError(args: string[], line: string | RegExp) {
  const { status, stdout, stderr } = wasmvisor(...args);
  expect(status).toBe(2);
  expect(stdout).toBe("");
  expect(stderr.endsWith("\n")).toBe(true);
  expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(stderr.trimEnd()).toMatch(line);
}

describe("wasmvisor run: bad input is one line on stderr and status 2", () => {
  it("a missing kernel file", () => {
    expectUsageError(["run", "no-such-kernel.elf"], "wasmvisor: cannot read kernel no-such-kernel.elf: no such file");
  });

  it("a missing module file, and --module beside --restore-state", () => {
    expectUsageError(["run", "guests/hello.elf", "--module", "no-such-module.bin args"], "wasmvisor: cannot read module no-such-module.bin: no such file");
    expectUsageError(["run", "--restore-state", "x.state", "--module", "guests/hello.elf"], "wasmvisor: option '--restore-state <file>' cannot be used with option '--module <file>'");
  });

  it("a directory instead of a kernel", () => {
    expectUsageError(["run", "src"], "wasmvisor: cannot read kernel src: is a directory");
  });

  it("a file that is not a Multiboot kernel", () => {
    const path = file("random.bin", new Uint8Array(4096).fill(0x5a));
    expectUsageError(["run", path], `wasmvisor: ${path}: not a Multiboot kernel: no Multiboot header (magic 0x1badb002) in the first 8 KiB`);
  });

  it("a kernel too large for guest memory", () => {
    const path = file("huge.elf", kernelElf(x86.hlt(), 3 << 20));
    expectUsageError(["run", "--mem", "2", path], /^wasmvisor: .*huge\.elf: kernel too large for guest memory: it occupies 0x100000-0x40000d, guest RAM ends at 0x200000 \(2 MiB; it needs at least 5 MiB\)$/);
  });

  it("a 64-bit ELF", () => {
    const elf = kernelElf(x86.hlt());
    elf[4] = 2;
    expectUsageError(["run", file("k64.elf", elf)], /64-bit ELF \(ELFCLASS64\): Multiboot v1 kernels must be 32-bit ELF$/);
  });

  it("an unknown option", () => {
    expectUsageError(["run", "guests/hello.elf", "--frobnicate"], "wasmvisor: unknown option '--frobnicate'");
  });

  it("an unknown command", () => {
    expectUsageError(["boot", "guests/hello.elf"], "wasmvisor: unknown command 'boot'");
  });

  it("no kernel", () => {
    expectUsageError(["run"], "wasmvisor: missing required argument 'kernel' (or --restore-state <file>)");
  });

  it.each([
    [["--mem", "lots"], "--mem <MiB>", "expected a whole number of MiB from 2 to 2048."],
    [["--mem", "1"], "--mem <MiB>", "expected a whole number of MiB from 2 to 2048."],
    [["--mem", "4096"], "--mem <MiB>", "expected a whole number of MiB from 2 to 2048."],
    [["--max-instructions", "-5"], "--max-instructions <n>", "expected a positive whole number of instructions."],
    [["--max-instructions", "1.5"], "--max-instructions <n>", "expected a positive whole number of instructions."],
    [["--timeout", "soon"], "--timeout <seconds>", "expected a positive number of seconds."],
    [["--timeout", "0"], "--timeout <seconds>", "expected a positive number of seconds."],
    [["--cr3-targets", "5"], "--cr3-targets <n>", "expected a whole number from 0 to 4."],
    [["--if-mode", "fast"], "--if-mode <mode>", "Allowed choices are vt, trap, classic, bt."],
    [["--cpuid-vendor", "xen"], "--cpuid-vendor <vendor>", "Allowed choices are wasmvisor, kvm, hyperv, vmware, none."],
    [["--cpu", "via"], "--cpu <kind>", "Allowed choices are intel, amd."],
    [["--hyperv-partition", "guest"], "--hyperv-partition <kind>", "Allowed choices are root, child."],
    [["--trace", "io"], "--trace <what>", "Allowed choices are exits."],
  ])("a bad option value: %j", (option, name, why) => {
    expectUsageError(["run", "guests/hello.elf", ...option], `wasmvisor: option '${name}' argument '${option[1]}' is invalid. ${why}`);
  });

  it("a bad bench option value", () => {
    expectUsageError(["bench", "--runs", "0"], "wasmvisor: option '--runs <n>' argument '0' is invalid. expected a whole number of runs from 1 to 100.");
  });

  // `wasmvisor run --help | head`: the reader is gone before the help is written (here closed as
  // the process starts, so the write always finds it closed).
  it.each([["run", "--help"], ["bench", "--help"], ["--help"]])("%j into a pipe whose reader has gone: status 141, nothing on stderr", async (...args) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(status).toBe(141);
  });
});

describe("wasmvisor run: guests", () => {
  it("boots hello.elf: its serial output on stdout, nothing on stderr, status 0", () => {
    const { status, stdout, stderr } = wasmvisor("run", "guests/hello.elf", "--cmdline", "alpha beta");
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(stdout).toContain("Hello from a wasmvisor guest!\n");
    expect(stdout).toContain("command line arguments: alpha beta\n");
  });

  it("boots with --mem 2048, the documented maximum", () => {
    const { status, stdout, stderr } = wasmvisor("run", "guests/hello.elf", "--mem", "2048");
    expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
    expect(stdout).toContain("memory: lower 640 KiB, total 2048 MiB");
  });

  it("exits with the value the guest wrote to isa-debug-exit", () => {
    expect(wasmvisor("run", file("exit5.elf", kernelElf(exitWith(5)))).status).toBe(5);
  });

  it("reports a triple fault with a register dump and status 3", () => {
    const { status, stderr } = wasmvisor("run", file("fault.elf", kernelElf(x86.int3())));
    expect(status).toBe(3);
    const lines = stderr.trimEnd().split("\n");
    expect(lines[0]).toBe("wasmvisor: triple fault: the guest faulted while delivering a double fault (a real CPU would reset)");
    expect(lines[1]).toMatch(/^EAX=2badb002 EBX=[0-9a-f]{8} ECX=/);
    expect(stderr).toContain("CR0=00000011");
  });

  it("stops a spinning guest at --max-instructions with status 3", () => {
    const { status, stderr } = wasmvisor("run", file("spin.elf", kernelElf(x86.jmpSelf())), "--max-instructions", "100000");
    expect(status).toBe(3);
    expect(stderr.split("\n")[0]).toBe("wasmvisor: instruction budget exhausted: the guest retired 100000 instructions without exiting");
    expect(stderr).toContain("instructions retired: 100000");
  });

  it("stops a spinning guest at --timeout with status 3", () => {
    const { status, stderr } = wasmvisor("run", file("spin2.elf", kernelElf(x86.jmpSelf())), "--timeout", "0.3");
    expect(status).toBe(3);
    expect(stderr.split("\n")[0]).toBe("wasmvisor: timeout: the guest ran for 0.3 s of wall-clock time without exiting");
  });

  it("reports a guest halted for good with status 3", () => {
    const { status, stderr } = wasmvisor("run", file("halt.elf", kernelElf(concat(x86.cli(), x86.hlt()))));
    expect(status).toBe(3);
    expect(stderr.split("\n")[0]).toBe("wasmvisor: guest halted (HLT) with interrupts disabled (IF=0) and no event pending: it can never wake");
  });

  it("prints exits per reason with count, host time, ns per exit and instructions between, and MIPS with --stats", () => {
    const { status, stderr } = wasmvisor("run", "guests/hello.elf", "--stats");
    expect(status).toBe(0);
    const lines = stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^--- \d+ VM exits ---$/);
    expect(lines[1].split(/ {2,}/)).toEqual(["reason", "exit", "count", "total ms", "ns/exit", "instr/exit"]);
    expect(lines[2]).toMatch(/^ +30 {2}I\/O instruction +\d+ +[\d.]+ +[\d.]+ +[\d.]+$/);
    expect(lines[3]).toMatch(/^\d+ instructions in [\d.]+ s: [\d.]+ MIPS$/);
    expect(stderr).not.toContain("shadow MMU"); // hello never pages
  });

  it("--stats adds the shadow MMU's counters and the CR3-target hits and misses for a guest that pages", () => {
    // 5 processes, 20 rounds each: with 4 CR3 targets every switch misses (round robin defeats LRU)
    const five = wasmvisor("run", "guests/multitask.elf", "--cmdline", "5 20 yield", "--stats");
    expect(five.status).toBe(0);
    const counter = (stderr: string, label: string) => Number(stderr.match(new RegExp(`^${label.replace(/[()]/g, "\\$&")} +(\\d+)$`, "m"))?.[1]);
    expect(five.stderr).toContain("--- shadow MMU ---");
    expect(counter(five.stderr, "CR3-target hits (no exit)")).toBe(0);
    expect(counter(five.stderr, "CR3-target misses (exits)")).toBeGreaterThanOrEqual(100);
    expect(counter(five.stderr, "shadow roots built")).toBe(5);
    expect(counter(five.stderr, "hidden faults (shadow fills)")).toBeGreaterThan(0);
    // 4 processes: the misses are the first loads of each address space only
    const four = wasmvisor("run", "guests/multitask.elf", "--cmdline", "4 20 yield", "--stats");
    expect(counter(four.stderr, "CR3-target misses (exits)")).toBe(4);
    expect(counter(four.stderr, "CR3-target hits (no exit)")).toBeGreaterThanOrEqual(76);
  });
});

describe("wasmvisor run: VMM options", () => {
  it("--cpuid-vendor and --hyperv-partition change what the detect guest concludes", () => {
    expect(wasmvisor("run", "guests/detect.elf", "--cpuid-vendor", "hyperv", "--hyperv-partition", "root").stdout).toBe(
      "detect: Hyper-V root partition (CreatePartitions privilege)\n",
    );
    expect(wasmvisor("run", "guests/detect.elf", "--cpuid-vendor", "none").stdout).toBe("detect: bare metal (CPUID.1:ECX[31] clear)\n");
  });

  it("--cpu amd cannot go with --nested vmx: one line, status 2", () => {
    expectUsageError(["run", "guests/hello.elf", "--cpu", "amd", "--nested", "vmx"], "wasmvisor: --nested vmx needs --cpu intel: AMD processors have no VMX");
  });

  it("--if-mode classic lets redpill see the VMM", () => {
    expect(wasmvisor("run", "guests/redpill.elf", "--if-mode", "classic").stdout).toContain("inside the Matrix");
  });

  it("--trace exits prints one line per exit on stderr: count, reason, EIP, decoded qualification", () => {
    const { status, stdout, stderr } = wasmvisor("run", "guests/detect.elf", "--trace", "exits");
    expect(status).toBe(0);
    expect(stdout).toBe("detect: wasmvisor guest (hypercall ABI 1, functions 1-6)\n");
    const lines = stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^exit +\d+ {2}I\/O instruction +eip=0x001[0-9a-f]{5} {2}OUT port 0x03f9, 1 byte$/);
    expect(lines).toContainEqual(expect.stringMatching(/^exit +\d+ {2}CPUID +eip=0x[0-9a-f]{8} {2}leaf 0x40000000 subleaf 0x00000000$/));
  });

  it("--stats-json writes the statistics, the configuration and how the run ended", () => {
    const path = join(scratch, "stats.json");
    expect(wasmvisor("run", "guests/detect.elf", "--cr3-targets", "2", "--stats-json", path).status).toBe(0);
    const stats = JSON.parse(readFileSync(path, "utf8"));
    expect(stats.config).toEqual({ cpu: "intel", cpuidVendor: "wasmvisor", hypervPartition: "child", ifMode: "vt", cr3Targets: 2, cr3Policy: "lru", nested: "off" });
    expect(stats.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(stats.timed).toBe(true);
    const cpuid = stats.exits.find((e: { reason: number }) => e.reason === 10);
    expect(cpuid).toMatchObject({ name: "CPUID", count: 3 });
    expect(cpuid.nsPerExit).toBeGreaterThan(0);
    expect(stats.instructions).toBeGreaterThan(0);
    expect(stats.mmu).toMatchObject({ cr3TargetHits: 0, cr3TargetMisses: 0, shadowRootsBuilt: 0 }); // detect never pages
  });
});

describe("wasmvisor run: the forms left to the interpreter", () => {
  // multitask's processes yield with INT 0x80, which compiled code leaves to the interpreter
  it("--stats-json lists them by form, most frequent first, and --stats shows the first", () => {
    const path = join(scratch, "forms.json");
    expect(wasmvisor("run", "guests/multitask.elf", "--cmdline", "2 5 yield", "--stats-json", path).status).toBe(0);
    const forms: { form: string; name: string; count: number }[] = JSON.parse(readFileSync(path, "utf8")).compiledCode.interpretedForms;
    expect(forms.find((f) => f.form === "CD")).toMatchObject({ name: "int Ib", count: expect.any(Number) });
    expect(forms.find((f) => f.form === "CD")!.count).toBeGreaterThanOrEqual(10);
    expect(forms.map((f) => f.count)).toEqual(forms.map((f) => f.count).sort((a, b) => b - a));
    const { stderr } = wasmvisor("run", "guests/multitask.elf", "--cmdline", "2 5 yield", "--stats");
    const total = forms.reduce((sum, f) => sum + f.count, 0);
    expect(stderr).toContain(`interpreted where compiled code could run: ${total}, most often:\n`);
    expect(stderr).toMatch(new RegExp(`^ +${forms[0].count}  ${forms[0].form.replace("/", "\\/")} +${forms[0].name}$`, "m"));
  });
});

describe("wasmvisor --help", () => {
  it("lists the commands and exits 0", () => {
    const { status, stdout } = wasmvisor("--help");
    expect(status).toBe(0);
    expect(stdout).toContain("run [options] [kernel]");
    expect(stdout).toContain("bench [options]");
  });
});
