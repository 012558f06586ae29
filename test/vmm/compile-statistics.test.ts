// statistics().compiledCode.compiling (what --stats prints as "compiling tier: ..."): with
// timeExits, the regions the compiling tier compiled, their blocks, and the host time the compiles
// took. Each compile is made to take at least SLOW_MS here, so the figure must count every
// compile's time, and only compiles' time.
import { readFileSync } from "node:fs";
import { afterEach, expect, it } from "vitest";
import { VirtualMachine } from "../../src/vmm/virtual-machine";
import { formatStats } from "../../src/cli/stats-report";

const kernel = readFileSync("guests/regloop.elf");
const SLOW_MS = 2;
const RealModule = WebAssembly.Module;
afterEach(() => {
  WebAssembly.Module = RealModule;
});

/** From now on every region module takes at least SLOW_MS to compile; returns how many were compiled. */
function slowCompiles(): () => number {
  let modules = 0;
  WebAssembly.Module = class extends RealModule {
    constructor(bytes: BufferSource) {
      const start = performance.now();
      super(bytes);
      while (performance.now() - start < SLOW_MS);
      modules++;
    }
  };
  return () => modules;
}

it("counts every region compiled, the blocks they hold and the time their compiles took", async () => {
  const vm = await VirtualMachine.boot(kernel, { cmdline: "regloop.elf", timeExits: true });
  const modules = slowCompiles();
  const { stop, seconds } = vm.run({ timeoutSeconds: 60 });
  expect(stop.kind).toBe("guest-exit");
  const compiling = vm.statistics().compiledCode.compiling!;
  expect(compiling.regions).toBe(modules());
  expect(compiling.regions).toBeGreaterThan(0);
  expect(compiling.blocks).toBeGreaterThanOrEqual(compiling.regions);
  expect(compiling.ms).toBeGreaterThanOrEqual(SLOW_MS * compiling.regions);
  expect(compiling.ms).toBeLessThan(seconds * 1000); // part of the run, not all of it
  expect(formatStats(vm.statistics())).toContain(
    `compiling tier: ${compiling.regions} regions holding ${compiling.blocks} blocks compiled in ${compiling.ms.toFixed(1)} ms, ${((compiling.ms * 1000) / compiling.blocks).toFixed(0)} µs a block (host wall time)`,
  );
});

it("is left out without timeExits", async () => {
  const vm = await VirtualMachine.boot(kernel, { cmdline: "regloop.elf" });
  expect(vm.run({ timeoutSeconds: 60 }).stop.kind).toBe("guest-exit");
  expect(vm.statistics().compiledCode.compiling).toBeUndefined();
  expect(formatStats(vm.statistics())).not.toContain("compiling tier");
});
