// Child process for the compiler-memory test (hostile-guests.test.ts), run with --expose-gc so that
// what it measures is memory still held, not garbage: boots a Multiboot kernel in a VirtualMachine
// of the built package (dist/index.js) and runs it until it has compiled `slots` blocks `cycles`
// times over (the compiler's table holds `slots`; then every block is dropped and the slots
// reused), collecting garbage and reading the process's resident set after each cycle. Prints
// the samples as JSON. A guest that stops compiling ends it after `maxInstructions`.
import { readFileSync } from "node:fs";
import { VirtualMachine } from "../../dist/index.js";

const [kernelPath, memoryMiB, cycles, slots, maxInstructions] = process.argv.slice(2).map((a, i) => (i === 0 ? a : Number(a)));
const vm = await VirtualMachine.boot(readFileSync(kernelPath), { memoryMiB, serialOutput: () => {} });
const samples = [];
let instructions = 0;
for (let cycle = 1; cycle <= cycles && instructions < maxInstructions; cycle++) {
  while (vm.core.compiledBlocks() < cycle * slots && instructions < maxInstructions) vm.run({ maxInstructions: (instructions += 100_000) });
  globalThis.gc();
  samples.push({ blocks: vm.core.compiledBlocks(), rss: process.memoryUsage().rss });
}
console.log(JSON.stringify(samples));
