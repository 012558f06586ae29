// Counters for VM exits by reason: the first thing to look at when a guest is slow, since every
// exit is a round trip from the core to a TypeScript handler. Counting costs one typed-array
// increment per exit.

import { EXIT_REASON_LIMIT, exitReasonName } from "./exits/table.js";

export interface ExitCount {
  reason: number;
  name: string;
  count: number;
}

export class ExitStats {
  private readonly counts = new Float64Array(EXIT_REASON_LIMIT);

  /** Reasons past the table's range are not counted; the run loop stops on them anyway. */
  record(reason: number): void {
    if (reason < EXIT_REASON_LIMIT) this.counts[reason]++;
  }

  count(reason: number): number {
    return this.counts[reason] ?? 0;
  }

  get total(): number {
    return this.counts.reduce((sum, n) => sum + n, 0);
  }

  /** Reasons that occurred, most frequent first. */
  entries(): ExitCount[] {
    const list: ExitCount[] = [];
    this.counts.forEach((count, reason) => {
      if (count > 0) list.push({ reason, name: exitReasonName(reason), count });
    });
    return list.sort((a, b) => b.count - a.count || a.reason - b.reason);
  }
}
