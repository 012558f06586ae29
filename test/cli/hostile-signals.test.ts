// Issue 15: SIGTERM, SIGINT and SIGHUP end `wasmvisor run` promptly whatever the guest does, with
// the status a signal gives (128 + its number). The guests (test/isolation/hostile-guests.ts)
// make each instruction or exit cost the host as much as they can; before the host counted that
// work, the first of these ran for minutes after the signal.
import { describe, expect, it } from "vitest";
import { guestKernel } from "../isolation/in-worker";
import { COMPILE_STORM, DISK_DOORBELL_STORM, HUGE_REP_INSB, INJECT_STORM, PAGE_TABLE_STORM } from "../isolation/hostile-guests";
import { scratchFolder, startWasmvisor } from "../support/cli";

const scratch = scratchFolder();
const disk = scratch.file("disk.img", new Uint8Array(16 << 20));
// Measured: 50-150 ms from the signal to the process's end, statistics and all; the bound is
// generous for a loaded CI machine.
const PROMPT_SECONDS = 2;

describe("a signal ends a hostile guest's run promptly", () => {
  it.each([
    ["one REP INSB of 2^31 - 1 bytes", "SIGTERM", 143, HUGE_REP_INSB, []],
    ["PV-disk doorbells of 1 MiB each", "SIGTERM", 143, DISK_DOORBELL_STORM, ["--disk", disk]],
    ["page tables rewritten under sixteen address spaces", "SIGINT", 130, PAGE_TABLE_STORM, []],
    ["inject-after hypercalls in a loop", "SIGHUP", 129, INJECT_STORM, []],
    ["a new block to compile every 170 instructions", "SIGTERM", 143, COMPILE_STORM, ["--mem", "64"]],
  ] as const)("%s: %s", async (name, signal, status, source, options) => {
    const kernel = scratch.file(`${name.replace(/\W+/g, "-")}.elf`, guestKernel(source));
    const run = startWasmvisor("run", kernel, ...options, "--timeout", "60");
    while (run.stdout() === "") await new Promise((resolve) => setTimeout(resolve, 20)); // it printed "!": the storm runs
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sent = performance.now();
    run.process.kill(signal);
    const result = await run.done;
    expect((performance.now() - sent) / 1000).toBeLessThan(PROMPT_SECONDS);
    expect(result.status).toBe(status);
    expect(result.stderr.split("\n")[0]).toBe(`wasmvisor: stopped by ${signal}`);
  }, 30_000);
});
