// What guests/nestvisor.elf prints at the end about L2: its own count of L2's exits per reason,
// counted in L1 as each one is reflected to it ("  10 CPUID: 1000" lines after "nestvisor: L2's
// exits by reason:"; its SVM backend counts by #VMEXIT code, in hex: "  72 CPUID: 1000"). Tests
// compare wasmvisor's reflected counts, on the CLI and in the page, with it.

import { EXIT_CPUID, EXIT_HLT, EXIT_IO, EXIT_TRIPLE_FAULT } from "../../assembly/vmcs-layout.js";
import { VMEXIT_CPUID, VMEXIT_HLT, VMEXIT_IOIO, VMEXIT_SHUTDOWN } from "../../src/vmm/svm/svm-intercepts.js";
import type { Backend } from "./nestvisor-goldens.js";

/** The core's exit reason behind each #VMEXIT code nestvisor's SVM backend takes from its sample L2s (svm.c's list). */
const SVM_CODE_REASONS = new Map([[VMEXIT_CPUID, EXIT_CPUID], [VMEXIT_HLT, EXIT_HLT], [VMEXIT_IOIO, EXIT_IO], [VMEXIT_SHUTDOWN, EXIT_TRIPLE_FAULT]]);

/** nestvisor's per-reason counts of L2's exits in `output` (its console text), by the core's reason. */
export function nestvisorCounts(output: string, backend: Backend = "vmx"): Map<number, number> {
  if (backend === "vmx") return new Map([...reportLines(output, /^ {2}(\d+) [^:\n]+: (\d+)\s*$/gm)].map(([reason, count]) => [Number(reason), Number(count)]));
  return new Map([...nestvisorSvmCodes(output)].map(([code, count]) => {
    const reason = SVM_CODE_REASONS.get(code);
    if (reason === undefined) throw new Error(`nestvisor counted #VMEXIT ${code.toString(16)}, which no core reason here stands for`);
    return [reason, count];
  }));
}

/** nestvisor's SVM backend's counts by #VMEXIT code: what wasmvisor's reflected level counts under SVM. */
export function nestvisorSvmCodes(output: string): Map<number, number> {
  return new Map([...reportLines(output, /^ {2}([0-9a-f]+) [^:\n]+: (\d+)\s*$/gm)].map(([code, count]) => [parseInt(code, 16), Number(count)]));
}

function reportLines(output: string, line: RegExp): Array<[string, string]> {
  const report = output.split("nestvisor: L2's exits by reason:")[1] ?? "";
  return [...report.matchAll(line)].map(([, key, count]) => [key, count]);
}
