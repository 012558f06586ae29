// The guest's console when stdout's reader does not keep up (issue 15): the run loop never waits
// for the reader, so --timeout and signals act whatever the guest prints, and the guest, not the
// host, waits for room; a reader that is only slow still gets every byte, in order. The readers
// here are a FIFO nobody reads (the CLI reopens it non-blocking) and a paused socket (what Node's
// child processes get as stdout; Node makes it non-blocking).

import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync, readSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KERNEL_BASE, kernelElf } from "../support/images.js";
import { assemble } from "../core/harness.js";
import { scratchFolder, startWasmvisor, startWasmvisorWithStdout, type CliRun } from "../support/cli.js";

const scratch = scratchFolder();
const kernel = (name: string, source: string) => scratch.file(name, kernelElf(assemble(source, KERNEL_BASE + 12)));

/** COM1 output as guests/lib/serial.c does it: wait for THRE, write THR; ECX bytes ("x"), then exit 0. */
const uartPrinter = (count: number) => `
mov $${count}, %ecx
1: mov $0x3fd, %dx
2: in %dx, %al
test $0x20, %al
jz 2b
mov $0x3f8, %dx
mov $0x78, %al
out %al, %dx
${count > 0 ? "loop 1b\nmovb $0, %al\nout %al, $0xf4" : "jmp 1b"}`;

/** 64 KiB of "y" by console-write hypercalls, each short write continued, `rounds` times; then exit 0. */
const hypercallPrinter = (rounds: number) => `
cld
mov $0x200000, %edi
mov $0x79, %al
mov $0x10000, %ecx
rep stosb
mov $${rounds}, %esi
1: mov $0x200000, %ebx
mov $0x10000, %ecx
2: mov $1, %eax
vmcall
add %eax, %ebx
sub %eax, %ecx
jnz 2b
dec %esi
jnz 1b
movb $0, %al
out %al, $0xf4`;

/** The hostile one: the longest console write, forever, not caring what it returns. */
const HYPERCALL_STORM = "1: mov $1, %eax\nmov $0x200000, %ebx\nmov $0x10000, %ecx\nvmcall\njmp 1b";

const forever = kernel("uart-forever.elf", uartPrinter(0));
const storm = kernel("hypercall-storm.elf", HYPERCALL_STORM);

/** A run these tests start is killed if it outlives this, so a failure cannot hang the test run. */
const WATCHDOG_MS = 20_000;

function withWatchdog(run: CliRun): CliRun {
  const watchdog = setTimeout(() => run.process.kill("SIGKILL"), WATCHDOG_MS);
  void run.done.finally(() => clearTimeout(watchdog));
  return run;
}

let fifos = 0;
/**
 * wasmvisor with stdout on a FIFO whose reader (held open here) never reads, but for `started()`,
 * which waits (reading one byte) until the guest's output arrives: the CLI is then up, its signal
 * handlers installed. (A fixed wait was not enough at load 20: Node's start took longer.)
 */
function intoStalledFifo(...args: string[]): CliRun & { started: () => Promise<void> } {
  const fifo = scratch.path(`stalled-${fifos++}.fifo`);
  execFileSync("mkfifo", [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  const run = withWatchdog(startWasmvisorWithStdout(writer, ...args));
  closeSync(writer);
  void run.done.finally(() => closeSync(reader));
  const started = async () => {
    for (;;) {
      try {
        if (readSync(reader, Buffer.alloc(1)) === 1) return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { ...run, started };
}

/** wasmvisor with stdout on a socket this process stops reading at once. */
function intoStalledSocket(...args: string[]): CliRun {
  const run = withWatchdog(startWasmvisor(...args));
  run.process.stdout!.pause();
  return run;
}

const seconds = (since: number) => (performance.now() - since) / 1000;

describe("wasmvisor run: a stdout reader that never reads", () => {
  for (const [readerName, start] of [["a FIFO", intoStalledFifo], ["a socket", intoStalledSocket]] as const) {
    for (const [guestName, path] of [["COM1", forever], ["console-write hypercalls", storm]]) {
      it(`cannot hold up --timeout 1: ${guestName} into ${readerName}`, async () => {
        const since = performance.now();
        const { status, stderr } = await start("run", path, "--timeout", "1").done;
        expect(seconds(since)).toBeLessThan(6);
        expect(status).toBe(3);
        expect(stderr.split("\n")[0]).toBe("wasmvisor: timeout: the guest ran for 1 s of wall-clock time without exiting");
      }, 30_000);
    }
  }

  it("cannot hold up SIGTERM: the run ends promptly with status 143", async () => {
    const run = intoStalledFifo("run", forever);
    await run.started();
    await new Promise((resolve) => setTimeout(resolve, 1000)); // long enough to fill the pipe and the host's buffer
    const since = performance.now();
    run.process.kill("SIGTERM");
    const { status, stderr } = await run.done;
    expect(seconds(since)).toBeLessThan(3);
    expect(status).toBe(143);
    expect(stderr).toBe("wasmvisor: stopped by SIGTERM\n");
  }, 30_000);
});

describe("wasmvisor run: a stdout reader that reads late", () => {
  for (const [guestName, source, bytes] of [
    ["COM1", uartPrinter(1_000_000), "x".repeat(1_000_000)],
    ["console-write hypercalls (short writes continued)", hypercallPrinter(16), "y".repeat(16 << 16)],
  ]) {
    it(`gets every byte the guest wrote through ${guestName}, in order: the guest waited`, async () => {
      const run = intoStalledSocket("run", kernel(`late-${bytes.length}.elf`, source));
      setTimeout(() => run.process.stdout!.resume(), 500);
      const { status, stdout } = await run.done;
      expect(status).toBe(0);
      expect(stdout.length).toBe(bytes.length);
      expect(stdout === bytes).toBe(true);
    }, 60_000);
  }
});
