// `wasmvisor run --save-state FILE` and `--restore-state FILE` as a user runs them: a guest that
// uses the timer and serial interrupts, saved after N instructions and restored to run on to N+M,
// prints the same and stops in the same state (the register dump) as one run of N+M; a run ended
// by SIGTERM or SIGINT saves too; the file is written whole or not at all.

import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchFolder, startWasmvisor, wasmvisor } from "../support/cli.js";
import { concat, kernelElf, x86 } from "../support/images.js";
import { timerSerialGuest } from "../support/timer-serial-guest.js";

const scratch = scratchFolder();
const guest = scratch.file("timer-serial.elf", timerSerialGuest());
const TOTAL = "2400000";

describe("wasmvisor run --save-state / --restore-state", () => {
  it("N instructions, saved, restored and run on to N+M: the output and final state of one run of N+M", async () => {
    const [straight, first] = await Promise.all([
      wasmvisor("run", guest, "--max-instructions", TOTAL),
      wasmvisor("run", guest, "--max-instructions", "1234567", "--save-state", scratch.path("n.wvs")),
    ]);
    expect([straight.status, first.status]).toEqual([3, 3]);
    const rest = await wasmvisor("run", "--restore-state", scratch.path("n.wvs"), "--max-instructions", TOTAL);
    expect(rest.status).toBe(3);
    expect(first.stdout + rest.stdout).toBe(straight.stdout);
    expect(straight.stdout.length).toBeGreaterThan(100);
    expect(rest.stderr).toBe(straight.stderr); // the stop reason and the register dump
    expect(rest.stderr).toContain(`instructions retired: ${TOTAL}`);
  });

  it("saves at the guest's exit too, and a restored machine can be saved again and run to its own end", async () => {
    const whole = await wasmvisor("run", guest);
    expect(whole.status).toBe(0);
    expect((await wasmvisor("run", guest, "--max-instructions", "800000", "--save-state", scratch.path("a.wvs"))).status).toBe(3);
    const middle = await wasmvisor("run", "--restore-state", scratch.path("a.wvs"), "--max-instructions", "1600000", "--save-state", scratch.path("b.wvs"));
    const end = await wasmvisor("run", "--restore-state", scratch.path("b.wvs"), "--save-state", scratch.path("c.wvs"), "--stats");
    expect(end.status).toBe(0);
    expect(end.stdout).not.toBe("");
    expect(readFileSync(scratch.path("a.wvs")).length).toBeGreaterThan(0);
    const firstPart = (await wasmvisor("run", guest, "--max-instructions", "800000")).stdout;
    expect(firstPart + middle.stdout + end.stdout).toBe(whole.stdout);
    // Restored after the guest's exit, it goes on after its OUT to isa-debug-exit: cli; hlt.
    const after = await wasmvisor("run", "--restore-state", scratch.path("c.wvs"));
    expect(after.status).toBe(3);
    expect(after.stderr.split("\n")[0]).toBe("wasmvisor: guest halted (HLT) with interrupts disabled (IF=0) and no event pending: it can never wake");
  });

  it.each([
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const)("saves when %s ends the run, through a temporary file that does not stay behind", async (signal, status) => {
    const spinner = scratch.file(`spin-${signal}.elf`, kernelElf(concat(x86.movDx(0x3f8), x86.movAl(0x21), x86.outDxAl(), x86.jmpSelf())));
    const state = scratch.path(`${signal}.wvs`);
    const run = startWasmvisor("run", spinner, "--save-state", state);
    while (run.stdout() === "") await new Promise((resolve) => setTimeout(resolve, 20));
    run.process.kill(signal);
    const result = await run.done;
    expect(result.status).toBe(status);
    expect(result.stderr).toBe(`wasmvisor: stopped by ${signal}\n`);
    expect(readdirSync(dirname(state)).filter((name) => name.includes(basename(state)))).toEqual([basename(state)]);
    const restored = await wasmvisor("run", "--restore-state", state, "--timeout", "0.2");
    expect(restored.status).toBe(3);
    expect(restored.stdout).toBe(""); // the '!' was printed before the save
    expect(restored.stderr.split("\n")[0]).toBe("wasmvisor: timeout: the guest ran for 0.2 s of wall-clock time without exiting");
    const retired = (text: string) => Number(/instructions retired: (\d+)/.exec(text)?.[1]);
    expect(retired(restored.stderr)).toBeGreaterThan(0);
  });
});
