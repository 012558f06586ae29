// The two background module compilers the CLI and the browser demo use, on a real guest
// (guests/compute.elf), driven as their hosts drive a VM: the CLI's worker thread, polled without
// the event loop turning inside a run, and WebAssembly.compile, whose results land only when the
// event loop turns between bursts (the demo's worker). Either way the guest prints what it prints
// without the compiling tier, many blocks share a module, and compiled code does most of the work.
// What is asserted does not depend on when a batch comes back.
import { readFileSync } from "node:fs";
import { setImmediate as turn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { VirtualMachine } from "../../src/vmm/virtual-machine";
import { promiseModuleCompiler } from "../../src/jit/module-compiler";
import { workerModuleCompiler } from "../../src/jit/node-module-compiler";
import type { ModuleCompiler } from "../../src/jit/module-compiler";

const kernel = readFileSync(new URL("../../guests/compute.elf", import.meta.url));
const expected = readFileSync(new URL("../../guests/compute.expected", import.meta.url), "utf8");
const BURST = 2_000_000;

async function runInBursts(compiler: ModuleCompiler) {
  let output = "";
  const vm = await VirtualMachine.boot(kernel, {
    cmdline: "compute.elf", serialOutput: (byte) => (output += String.fromCharCode(byte)),
    compiling: { kind: "background", compiler },
  });
  let stop;
  do {
    stop = vm.run({ maxInstructions: vm.instructionsRetired() + BURST }).stop;
    await turn(); // the event loop turns between bursts, as in the CLI and the demo
  } while (stop.kind === "instruction-limit");
  return { stop, output, stats: vm.statistics().compiledCode };
}

describe("background compilation on a real guest", () => {
  it.each([
    ["a worker thread (the CLI)", workerModuleCompiler],
    ["WebAssembly.compile between bursts (the browser demo's worker)", promiseModuleCompiler],
  ])("%s", async (_, make) => {
    const { stop, output, stats } = await runInBursts(make());
    expect(stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(output).toBe(expected);
    const compiler = stats.compiler!;
    expect(compiler.installed).toBeGreaterThan(50);
    expect(compiler.modules).toBeLessThan(compiler.installed);
    expect(compiler.backgroundMs).toBeGreaterThan(0);
    expect(stats.share).toBeGreaterThan(0.5);
  }, 120_000);
});
