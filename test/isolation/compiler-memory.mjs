// Child process for the compiler-memory test (hostile-guests.test.ts), run with --expose-gc so that
// what it measures is memory still held, not garbage: boots a Multiboot kernel in a VirtualMachine
// of the built package (dist/index.js) and runs it until it has had `slots` blocks compiled `cycles`
// times over (the compiler's table holds `slots`; then every block is dropped and the slots
// reused), collecting garbage and reading the process's resident set after each cycle. Prints
// the samples as JSON. A guest that stops compiling ends it after `maxInstructions`. `compile`:
// at-request (each block compiled alone at once) or background (batched on a worker thread).
import { readFileSync } from "node:fs";
import { COMPILE_AT_REQUEST, VirtualMachine, workerModuleCompiler } from "../../dist/index.js";

const [kernelPath, memoryMiB, cycles, slots, maxInstructions] = process.argv.slice(2, 7).map((a, i) => (i === 0 ? a : Number(a)));
const compiling = process.argv[7] === "background" ? { kind: "background", compiler: workerModuleCompiler() } : COMPILE_AT_REQUEST;
const vm = await VirtualMachine.boot(readFileSync(kernelPath), { memoryMiB, serialOutput: () => {}, compiling });
// Blocks the compiler translated (in the background most of the self-modifying guest's are
// rewritten before their batch is back, and never installed).
const blocksAskedFor = () => vm.statistics().compiledCode.compiler.requests;
const samples = [];
let instructions = 0;
for (let cycle = 1; cycle <= cycles && instructions < maxInstructions; cycle++) {
  while (blocksAskedFor() < cycle * slots && instructions < maxInstructions) vm.run({ maxInstructions: (instructions += 100_000) });
  globalThis.gc();
  samples.push({ blocks: blocksAskedFor(), rss: process.memoryUsage().rss });
}
console.log(JSON.stringify(samples));
