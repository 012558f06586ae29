// Everything the fuzzer checks about one case: the run's own invariants (execute.ts), the fault
// atomicity of its first exit (fault-atomicity.ts), and with `jitDifferential` the same case run
// with the compiling tier off (exits returned from run()) and on (exits delivered to a handler
// inside the core's call, as the VMM takes them), which must end in identical exits, guest state
// and RAM.
import { checkFaultAtomicity } from "./fault-atomicity.js";
import type { CoreModule } from "./core-module.js";
import { EXIT_EXCEPTION } from "../../assembly/vmcs-layout.js";
import { execute, firstDivergence, type Execution } from "./execute.js";
import type { FuzzCase } from "./fuzz-case.js";

export interface CaseResult {
  problems: string[];
  /** Exit reasons in order (the fuzzer's rough measure of what a case reached). */
  reasons: number[];
  compiledBlocks: number;
  /** Runs of the core the checks took (a fresh core each). */
  executions: number;
  /** The work the runs timed were allowed, and the host time they took (Execution.work, guestMs). */
  work: number;
  guestMs: number;
}

export function checkCase(source: CoreModule, c: FuzzCase, jitDifferential: boolean): CaseResult {
  try {
    if (!jitDifferential) {
      const run = execute(source, c);
      const problems = run.problems.length > 0 ? run.problems : checkFaultAtomicity(source, c, run);
      return { problems, reasons: run.exits.map((e) => e.reason), compiledBlocks: run.compiledBlocks, executions: 1 + atomicityRuns(run), work: run.work, guestMs: run.guestMs };
    }
    const interpreted = execute(source, c, { jit: false, digest: true });
    const compiled = execute(source, c, { jit: true, digest: true, delivered: true });
    const problems = [...interpreted.problems, ...compiled.problems.map((p) => `with the compiling tier: ${p}`)];
    const divergence = firstDivergence(interpreted, compiled);
    if (divergence) problems.push(`the compiling tier diverges from the interpreter: ${divergence}`);
    if (problems.length === 0) problems.push(...checkFaultAtomicity(source, c, interpreted, false));
    return {
      problems, reasons: compiled.exits.map((e) => e.reason), compiledBlocks: compiled.compiledBlocks, executions: 2 + atomicityRuns(interpreted),
      work: interpreted.work + compiled.work, guestMs: interpreted.guestMs + compiled.guestMs,
    };
  } catch (error) {
    return { problems: [`host exception: ${(error as Error).stack ?? error}`], reasons: [], compiledBlocks: 0, executions: 1, work: 0, guestMs: 0 };
  }
}

const atomicityRuns = (run: Execution): number => (run.exits[0]?.reason === EXIT_EXCEPTION ? 1 : 0);
