// What guests/nestvisor.elf prints at the end about L2: its own count of L2's exits per reason,
// counted in L1 as each one is reflected to it ("  10 CPUID: 1000" lines after "nestvisor: L2's
// exits by reason:"). Tests compare wasmvisor's reflected counts, on the CLI and in the page, with it.

/** nestvisor's per-reason counts of L2's exits in `output` (its console text), by reason. */
export function nestvisorCounts(output: string): Map<number, number> {
  const report = output.split("nestvisor: L2's exits by reason:")[1] ?? "";
  return new Map([...report.matchAll(/^ {2}(\d+) [^:\n]+: (\d+)\s*$/gm)].map(([, reason, count]) => [Number(reason), Number(count)]));
}
