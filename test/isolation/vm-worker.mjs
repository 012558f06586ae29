// Worker thread for the isolation tests: boots a Multiboot kernel in a VirtualMachine of the built
// package (dist/index.js, built by `npm test`'s pretest), runs it with the given limits, and
// reports how the run stopped and how many dwords of guest RAM hold each of the given patterns.
// With diskMiB, the VM has a disk of that size (in memory); console output is counted, as a host
// that shows it would at least look at each byte.
import { parentPort, workerData } from "node:worker_threads";
import { MemoryDisk, VirtualMachine } from "../../dist/index.js";

const { kernel, memoryMiB, diskMiB, limits, patterns } = workerData;
let consoleBytes = 0;
const disk = diskMiB === undefined ? undefined : new MemoryDisk(new Uint8Array(diskMiB << 20));
const vm = await VirtualMachine.boot(kernel, { memoryMiB, disk, serialOutput: () => consoleBytes++ });
const result = vm.run(limits);
const words = new Uint32Array(vm.ram.buffer, vm.ram.byteOffset, vm.ram.byteLength >>> 2);
const counts = patterns.map((p) => words.reduce((n, w) => (w === p ? n + 1 : n), 0));
parentPort.postMessage({ stop: result.stop, instructions: result.instructions, seconds: result.seconds, counts, consoleBytes });
