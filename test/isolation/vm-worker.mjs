// Worker thread for the isolation tests: boots a Multiboot kernel in a VirtualMachine of the built
// package (dist/index.js, built by `npm test`'s pretest), runs it with the given limits, and
// reports how the run stopped and how many dwords of guest RAM hold each of the given patterns.
import { parentPort, workerData } from "node:worker_threads";
import { VirtualMachine } from "../../dist/index.js";

const { kernel, memoryMiB, limits, patterns } = workerData;
const vm = await VirtualMachine.boot(kernel, { memoryMiB });
const result = vm.run(limits);
const words = new Uint32Array(vm.ram.buffer, vm.ram.byteOffset, vm.ram.byteLength >>> 2);
const counts = patterns.map((p) => words.reduce((n, w) => (w === p ? n + 1 : n), 0));
parentPort.postMessage({ stop: result.stop, instructions: result.instructions, seconds: result.seconds, counts });
