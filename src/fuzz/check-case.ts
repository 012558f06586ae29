// Everything the fuzzer checks about one case: the run's own invariants (execute.ts), the fault
// atomicity of its first exit (fault-atomicity.ts), and with `jitDifferential` the same case run
// with the compiling tier off (exits returned from run()) and on (exits delivered to a handler
// inside the core's call, as the VMM takes them), which must end in identical exits, guest state
// and RAM. A case under binary translation (--if-mode bt) that never ran at CPL 3 is also run under
// vt: translation must make the guest kernel's code end exactly as with VT-x (at CPL 3 it differs by
// design: user code runs deprivileged, untranslated).
import { checkFaultAtomicity } from "./fault-atomicity.js";
import type { CoreModule } from "./core-module.js";
import { C_IF_MODE, EXIT_EXCEPTION, IF_MODE_BT, IF_MODE_VT } from "../../assembly/vmcs-layout.js";
import { execute, firstDivergence, type Execution, type ExecuteOptions } from "./execute.js";
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
    const translated = c.setup.vmcs.filter(([field]) => field === C_IF_MODE).pop()?.[1] === IF_MODE_BT;
    if (!jitDifferential) {
      const run = execute(source, c, { digest: translated });
      const problems = run.problems.length > 0 ? run.problems : checkFaultAtomicity(source, c, run);
      const vt = translated && problems.length === 0 ? kernelUnderVt(source, c, run, {}) : undefined;
      return {
        problems: [...problems, ...(vt?.problems ?? [])], reasons: run.exits.map((e) => e.reason), compiledBlocks: run.compiledBlocks,
        executions: 1 + atomicityRuns(run) + (vt ? 1 : 0), work: run.work + (vt?.work ?? 0), guestMs: run.guestMs + (vt?.guestMs ?? 0),
      };
    }
    const interpreted = execute(source, c, { jit: false, digest: true });
    const compiled = execute(source, c, { jit: true, digest: true, delivered: true });
    const problems = [...interpreted.problems, ...compiled.problems.map((p) => `with the compiling tier: ${p}`)];
    const divergence = firstDivergence(interpreted, compiled);
    if (divergence) problems.push(`the compiling tier diverges from the interpreter: ${divergence}`);
    if (problems.length === 0) problems.push(...checkFaultAtomicity(source, c, interpreted, false));
    const vt = translated && problems.length === 0 ? kernelUnderVt(source, c, compiled, { jit: true, delivered: true }) : undefined;
    if (vt) problems.push(...vt.problems);
    return {
      problems, reasons: compiled.exits.map((e) => e.reason), compiledBlocks: compiled.compiledBlocks, executions: 2 + atomicityRuns(interpreted) + (vt ? 1 : 0),
      work: interpreted.work + compiled.work + (vt?.work ?? 0), guestMs: interpreted.guestMs + compiled.guestMs + (vt?.guestMs ?? 0),
    };
  } catch (error) {
    return { problems: [`host exception: ${(error as Error).stack ?? error}`], reasons: [], compiledBlocks: 0, executions: 1, work: 0, guestMs: 0 };
  }
}

/**
 * The bt case `c`, which ran as `translated` (with `options`), run again under vt: unless either run
 * reached CPL 3, it must end the same (problems empty). Undefined when it was not compared.
 */
function kernelUnderVt(source: CoreModule, c: FuzzCase, translated: Execution, options: ExecuteOptions): Execution | undefined {
  if (translated.userLevel) return undefined;
  const vt = execute(source, c, { ...options, digest: true, ifMode: IF_MODE_VT });
  if (vt.userLevel) return undefined;
  const divergence = firstDivergence(vt, translated);
  return { ...vt, problems: [...vt.problems.map((p) => `under vt: ${p}`), ...(divergence ? [`bt diverges from vt at CPL 0: ${divergence}`] : [])] };
}

const atomicityRuns = (run: Execution): number => (run.exits[0]?.reason === EXIT_EXCEPTION ? 1 : 0);
