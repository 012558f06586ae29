// The peers the benchmarks compare wasmvisor with, running the same marker guest (marker-timing.ts:
// guests/vmexit.elf, or the benchmark guests of real-c.ts):
//  - QEMU (`qemu-system-i386`, TCG), started as guests/qemu-run.sh starts it (the project's one
//    reference run: -m 32, COM1 on stdio, isa-debug-exit at 0xF4); its console arrives through a
//    pipe, so a line's stamp is when its chunk arrived, and the guest waits for an answer on
//    COM1 after each marker line so that the pipe's delay falls outside the timed loops.
//  - v86 (the npm package), in this process: SeaBIOS from Debian's `seabios` package boots, then
//    v86 loads the kernel through its Multiboot option; the console event fires as the guest
//    writes, as wasmvisor's does.
// Under --clock cpu a line's stamp is the CPU time the emulator has used: this thread's for v86,
// the vCPU thread's (from /proc) for QEMU.
// A peer that is not installed is skipped with the reason, never an error.

import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, delimiter, dirname, join } from "node:path";
import { BenchGuestError } from "./bench-guest-error.js";
import { LineStamper, wallClock, type Clock, type ClockKind, type StampedLine } from "./marker-timing.js";
import { benchClock } from "./thread-cpu-clock.js";
import { GUEST_TIMEOUT_SECONDS } from "./wasmvisor-runner.js";

export type PeerName = "qemu" | "v86";
export const PEER_NAMES: readonly PeerName[] = ["qemu", "v86"];

export interface PeerRunner {
  name: PeerName;
  /** What it is, e.g. "QEMU emulator version 7.2.x (TCG)". */
  version: string;
  /**
   * Boots the kernel with the command line's arguments; `done` is the line that says the guest
   * finished. With `end` "exit" (the default) the run ends when the guest exits through port 0xF4;
   * with "done-line" the peer is stopped as soon as the done line is stamped, and QEMU gets no
   * exit device (so its vCPU thread, whose CPU time stamps the lines, is still there to read).
   */
  run(kernelPath: string, cmdline: string, clock: ClockKind, done?: RegExp, end?: RunEnd): Promise<StampedLine[]>;
}

export type RunEnd = "exit" | "done-line";

/** The peer, or why it is skipped. */
export async function findPeer(name: PeerName): Promise<PeerRunner | string> {
  return name === "qemu" ? findQemu() : findV86();
}

const QEMU = "qemu-system-i386";

/**
 * QEMU, or why it is skipped. With `instructionTsc` the guest's TSC counts its instructions
 * (`-icount shift=0`), as wasmvisor's counts retired instructions: the guest's tick figures are
 * then deterministic and comparable with wasmvisor's, for the tests (the bench never sets it: it
 * slows QEMU down).
 */
export function findQemu(instructionTsc = false): PeerRunner | string {
  const path = (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, QEMU)).find(isExecutable);
  if (path === undefined) return `${QEMU} not installed (Debian: apt-get install qemu-system-x86)`;
  const version = spawnSync(path, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0] ?? QEMU;
  return { name: "qemu", version: `${version.trim()} (TCG)`, run: (kernel, cmdline, clock, done, end = "exit") => runQemu(path, kernel, cmdline, clock, done, end, instructionTsc) };
}

/**
 * CPU time of QEMU's vCPU thread (named "CPU 0/TCG" with -name debug-threads=on), which runs the guest and its device
 * emulation, from Linux's schedstat in ns. (Summing every thread would not do: helper threads
 * come and go, and their time leaves the sum with them.)
 */
function qemuVcpuClock(pid: number): Clock {
  let schedstat: string | undefined;
  return () => {
    try {
      schedstat ??= readdirSync(`/proc/${pid}/task`)
        .map((tid) => `/proc/${pid}/task/${tid}`)
        .find((task) => readFileSync(`${task}/comm`, "utf8").startsWith("CPU "))
        ?.concat("/schedstat");
      return schedstat === undefined ? NaN : Number(readFileSync(schedstat, "utf8").split(" ")[0]) / 1e6;
    } catch {
      return NaN; // QEMU has just exited: this line's stamp is unknown
    }
  };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function runQemu(qemu: string, kernel: string, cmdline: string, clock: ClockKind, done: RegExp | undefined, end: RunEnd, instructionTsc: boolean): Promise<StampedLine[]> {
  // `ack`: the guest halts after each marker line until a byte comes back on COM1, so the next
  // loop starts only once the marker has been stamped, however late the pipe delivered it.
  const exitDevice = end === "exit" ? ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"] : [];
  const args = ["-kernel", kernel, "-append", `ack ${cmdline}`, "-m", "32", "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot", ...exitDevice, "-name", "vmexit,debug-threads=on", ...(instructionTsc ? ["-icount", "shift=0"] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(qemu, args, { stdio: ["pipe", "pipe", "pipe"] });
    const stamper = new LineStamper(clock === "cpu" ? qemuVcpuClock(child.pid!) : wallClock, done);
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill(); }, GUEST_TIMEOUT_SECONDS * 1000);
    child.stdout.on("data", (chunk: Buffer) => {
      const before = stamper.lines.length;
      stamper.chunk(chunk);
      for (const line of stamper.lines.slice(before)) if (line.text.startsWith("@")) child.stdin.write("k");
      if (end === "done-line" && stamper.done) child.kill();
    });
    child.stdin.on("error", () => {}); // QEMU has exited; its status says how
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      // isa-debug-exit: a guest that exits with 0 makes QEMU exit with 1.
      if ((end === "exit" ? code === 1 : !timedOut) && stamper.done) resolve(stamper.lines);
      else if (timedOut) reject(new BenchGuestError(`${kernel} "${cmdline}" on QEMU: did not finish within ${GUEST_TIMEOUT_SECONDS} s`));
      else reject(new BenchGuestError(`${kernel} "${cmdline}" on QEMU: status ${code} ${stderr.trim()}`));
    });
  });
}

const SEABIOS = "/usr/share/seabios/bios.bin";
const VGA_BIOS = ["/usr/share/seabios/vgabios-stdvga.bin", "/usr/share/seabios/vgabios.bin"];

interface V86Emulator {
  add_listener(event: string, listener: (value: number) => void): void;
  destroy(): Promise<void>;
  /** v86's internals: the CPU's port bus, where the guest's debug-exit port is hooked. */
  v86: { cpu: { io: { register_write(port: number, device: unknown, write8: (value: number) => void): void } } };
}
type V86Constructor = new (options: Record<string, unknown>) => V86Emulator;

async function findV86(): Promise<PeerRunner | string> {
  let entry: string;
  let V86: V86Constructor;
  try {
    entry = createRequire(import.meta.url).resolve("v86");
    ({ V86 } = (await import("v86")) as unknown as { V86: V86Constructor });
  } catch {
    return "the v86 package is not installed (npm install v86)";
  }
  const vgaBios = VGA_BIOS.find((path) => existsSync(path));
  if (!existsSync(SEABIOS) || vgaBios === undefined) return `no BIOS for v86: ${SEABIOS} missing (Debian: apt-get install seabios)`;
  const pkg = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8")) as { version: string };
  const files = { wasm: join(dirname(entry), "v86.wasm"), bios: readFileSync(SEABIOS), vgaBios: readFileSync(vgaBios) };
  return { name: "v86", version: `v86 ${pkg.version} (JIT), SeaBIOS`, run: (kernel, cmdline, clock, done, end = "exit") => runV86(V86, files, kernel, cmdline, clock, done, end) };
}

function runV86(V86: V86Constructor, files: { wasm: string; bios: Buffer; vgaBios: Buffer }, kernel: string, cmdline: string, clock: ClockKind, done: RegExp | undefined, end: RunEnd): Promise<StampedLine[]> {
  const stamper = new LineStamper(benchClock(clock), done);
  const emulator = new V86({
    wasm_path: files.wasm,
    bios: { buffer: arrayBuffer(files.bios) },
    vga_bios: { buffer: arrayBuffer(files.vgaBios) },
    multiboot: { buffer: arrayBuffer(readFileSync(kernel)) },
    cmdline: `${basename(kernel)} ${cmdline}`,
    memory_size: 32 * 1024 * 1024,
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  });
  return new Promise((resolve, reject) => {
    let finished = false;
    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      void emulator.destroy();
      if (error) reject(error);
      else resolve(stamper.lines);
    };
    const timer = setTimeout(() => finish(new BenchGuestError(`${kernel} "${cmdline}" on v86: no exit after ${GUEST_TIMEOUT_SECONDS} s`)), GUEST_TIMEOUT_SECONDS * 1000);
    emulator.add_listener("serial0-output-byte", (byte) => {
      stamper.byte(byte);
      if (end === "done-line" && byte === 0x0a && stamper.done) finish();
    });
    // v86's own handler for port 0xF4 throws out of its CPU loop; the guest's exit ends the run here.
    emulator.add_listener("emulator-ready", () =>
      emulator.v86.cpu.io.register_write(0xf4, null, (code) =>
        finish(code === 0 && stamper.done ? undefined : new BenchGuestError(`${kernel} "${cmdline}" on v86: exit ${code}: ${stamper.lines.at(-1)?.text ?? ""}`)),
      ),
    );
  });
}

function arrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
