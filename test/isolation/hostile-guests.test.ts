// Issue 15: guests written to hurt the host (hostile-guests.ts). Whatever a guest makes each of
// its instructions cost the host, a wall-clock limit ends the run on time: the VMM looks at the
// clock as host work adds up (host-work.ts), and the core counts the work it does for the guest
// (shadow-table scans, compiling) against the budget, so the slice ends as soon in host time.
// Each guest runs on a worker thread under a watchdog (in-worker.ts), so a run that would not
// end fails instead of hanging the test run.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { guestKernel, runInWorker } from "./in-worker";
import {
  COMPILE_STORM, CONSOLE_STORM, DISK_DOORBELL_STORM, HUGE_REP_INSB, INJECT_STORM, KEYBOARD_STORM, PAGE_TABLE_STORM, SELF_MODIFY_STORM,
} from "./hostile-guests";
import { MAX_BLOCKS } from "../../src/jit/block-compiler";
import { bootTiny } from "../support/tiny-guest";

const TIMEOUT = 0.3;
// Measured overruns are 1-50 ms; the margin is for a loaded CI machine. Before the fix these runs
// went on for minutes (the watchdog ends them after WATCHDOG seconds).
const MARGIN = 0.7;
const WATCHDOG = 10;

describe("a hostile guest ends at the wall-clock limit", () => {
  it.each([
    ["console-write hypercalls of 64 KiB", CONSOLE_STORM, {}],
    ["one REP INSB of 2^31 - 1 bytes", HUGE_REP_INSB, {}],
    ["inject-after hypercalls in a loop", INJECT_STORM, {}],
    ["page tables rewritten under sixteen address spaces", PAGE_TABLE_STORM, {}],
    ["PV-disk doorbells of 1 MiB each", DISK_DOORBELL_STORM, { memoryMiB: 16, diskMiB: 16 }],
    ["a new block to compile every 170 instructions", COMPILE_STORM, { memoryMiB: 64 }],
    ["one block rewritten and compiled anew every 170 instructions", SELF_MODIFY_STORM, {}],
  ])("%s", async (_name, source, options) => {
    const run = await runInWorker(guestKernel(source), { timeoutSeconds: TIMEOUT }, WATCHDOG, options);
    expect(run.hung).toBe(false);
    expect(run.stop).toEqual({ kind: "timeout", seconds: TIMEOUT });
    expect(run.seconds).toBeLessThan(TIMEOUT + MARGIN);
  });
});

describe("the core ends an entry for the host work a guest causes, and the guest sees nothing of it", () => {
  // Deterministic: the same instructions make the same shadow scans and the same compiles.
  async function yieldsAndExits(source: string, memoryMiB: number, instructions: number) {
    const { vm, exits } = await bootTiny(source, { memoryMiB });
    vm.run({ maxInstructions: instructions });
    return { yields: vm.statistics().hostWorkYields, preemptions: exits.filter((e) => e.reason === 52).length };
  }

  it("shadow-table scans (a 2M-instruction slice of this guest took ~280 ms of host time)", async () => {
    // ~3,250 with 1M instructions; none without the count, and no slice ends within them.
    expect(await yieldsAndExits(PAGE_TABLE_STORM, 8, 1_000_000)).toEqual({ yields: expect.toSatisfy((n: number) => n > 1000), preemptions: 0 });
  });

  it("compiling", async () => {
    // ~1,760 blocks compiled in 300,000 instructions, 100,000 units each: ~90 yields at most
    // 2M units apart.
    expect(await yieldsAndExits(COMPILE_STORM, 64, 300_000)).toEqual({ yields: expect.toSatisfy((n: number) => n > 50), preemptions: 0 });
  });
});

// README's "compiled code" bound, measured: the compiler's table holds MAX_BLOCKS blocks, then every
// block is dropped and the slots reused, so the host memory compiled code takes stops growing
// however many blocks a guest makes the host compile. Each guest runs in a child process
// (compiler-memory.mjs) until it has filled the table CYCLES times, with garbage collected and the
// process's resident set read after each time.
describe("compiled code stays bounded in host memory", () => {
  const CYCLES = 4;
  const BOUND_MIB = 400; // README.md, "What a guest cannot make the host do"
  const script = fileURLToPath(new URL("./compiler-memory.mjs", import.meta.url));

  it.each([
    ["hundreds of thousands of distinct blocks", COMPILE_STORM, 64],
    ["endless self-modification", SELF_MODIFY_STORM, 8],
  ])("%s", (_, source, memoryMiB) => {
    const dir = mkdtempSync(join(tmpdir(), "wasmvisor-compiler-memory-"));
    try {
      const kernel = join(dir, "guest.elf");
      writeFileSync(kernel, guestKernel(source));
      const child = spawnSync(process.execPath, ["--expose-gc", script, kernel, String(memoryMiB), String(CYCLES), String(MAX_BLOCKS), "2e9"],
        { encoding: "utf8", timeout: 540_000 });
      const samples = JSON.parse(child.stdout) as { blocks: number; rss: number }[];
      expect(samples.map((s, i) => s.blocks >= (i + 1) * MAX_BLOCKS)).toEqual(Array(CYCLES).fill(true)); // it did compile that much
      const mib = samples.map((s) => s.rss / 2 ** 20);
      expect(Math.max(...mib)).toBeLessThan(BOUND_MIB);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});

describe("what a guest schedules stays bounded", () => {
  it("a loop of inject-after hypercalls keeps one deadline per vector", async () => {
    const { vm } = await bootTiny(INJECT_STORM);
    vm.run({ maxInstructions: 3_000_000 });
    expect(vm.stats.count(18)).toBeGreaterThan(300_000); // VMCALL exits
    expect(vm.timer.saveState().deadlines).toHaveLength(1);
  });

  it("keyboard commands whose answers are never read fill the 8042's buffers and no more", async () => {
    const { vm } = await bootTiny(KEYBOARD_STORM);
    vm.run({ maxInstructions: 1_000_000 });
    expect(vm.stats.count(30)).toBeGreaterThan(300_000); // I/O exits
    const { keyboardQueue, controllerQueue } = vm.pc.keyboard.saveState();
    expect([keyboardQueue.length, controllerQueue.length]).toEqual([72, 16]); // before: one byte each per OUT, without end
  });
});
