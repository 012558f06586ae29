// The exit-cost benchmark: guests/exitloop.elf runs a million CPUID, OUT (to a device model) and
// MOV to CR3 (missing the CR3-target list) each, with exit timing on, in a fresh VM per run; the
// result is nanoseconds per exit of each kind, i.e. the full round trip core -> TypeScript
// handler -> resume (see src/vmm/exit-timer.ts), judged on the median run against the project's
// targets: under 50 ns for CPUID and under 60 ns for OUT.

import { readFileSync } from "node:fs";
import { EXIT_CPUID, EXIT_CR_ACCESS, EXIT_IO } from "../../assembly/vmcs-layout.js";
import { packageFileUrl } from "../package-files.js";
import { describeStop } from "../vmm/stop-reason.js";
import { VirtualMachine } from "../vmm/virtual-machine.js";
import { BenchGuestError } from "./bench.js";
import { median } from "./report.js";

export const EXIT_LOOP_GUEST = "guests/exitloop.elf";

export interface ExitKind {
  name: string;
  reason: number;
  /** Goal in ns per exit (median of the runs); undefined: measured, no goal. */
  targetNs?: number;
}

export const EXIT_KINDS: readonly ExitKind[] = [
  { name: "CPUID", reason: EXIT_CPUID, targetNs: 50 },
  { name: "OUT", reason: EXIT_IO, targetNs: 60 },
  { name: "MOV to CR3", reason: EXIT_CR_ACCESS },
];

export interface ExitCost extends ExitKind {
  /** ns per exit of each run. */
  runs: number[];
  medianNs: number;
  meetsTarget: boolean | undefined;
}

export async function measureExitCosts(runs: number, core?: BufferSource): Promise<ExitCost[]> {
  const kernel = readFileSync(packageFileUrl(EXIT_LOOP_GUEST));
  const perRun: number[][] = EXIT_KINDS.map(() => []);
  for (let run = 1; run <= runs; run++) {
    const vm = await VirtualMachine.boot(kernel, { core, timeExits: true, cmdline: EXIT_LOOP_GUEST });
    const { stop } = vm.run({ timeoutSeconds: 300 });
    if (stop.kind !== "guest-exit" || stop.code !== 0) throw new BenchGuestError(`${EXIT_LOOP_GUEST} run ${run}: ${describeStop(stop)}`);
    const exits = vm.statistics().exits;
    EXIT_KINDS.forEach((kind, i) => perRun[i].push(exits.find((e) => e.reason === kind.reason)?.nsPerExit ?? NaN));
  }
  return EXIT_KINDS.map((kind, i) => {
    const medianNs = median(perRun[i]);
    return { ...kind, runs: perRun[i], medianNs, meetsTarget: kind.targetNs === undefined ? undefined : medianNs < kind.targetNs };
  });
}
