// When the bench's VMs compile hot blocks (bench --compile): in the background by default, as
// `wasmvisor run` does, so that the figures are what a user gets; at-request for comparison.
import type { CompileMode } from "../jit/block-compiler.js";
import { nodeCompileMode, type CompileWhen } from "../jit/node-module-compiler.js";

let when: CompileWhen = "background";

export function setBenchCompile(choice: CompileWhen): void {
  when = choice;
}

/** The VM option for one benchmark VM (each gets its own channel to the compiling worker). */
export function benchCompiling(): { compiling: CompileMode } {
  return { compiling: nodeCompileMode(when) };
}
