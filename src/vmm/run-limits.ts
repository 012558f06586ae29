// The embedding API's checks on RunLimits, so that a bad limit is a clear RangeError at the call
// rather than a run that never ends (a NaN instruction budget is never reached) or never starts.

import type { RunLimits } from "./virtual-machine.js";

export function checkRunLimits(limits: RunLimits): void {
  const { maxInstructions, timeoutSeconds, sliceInstructions } = limits;
  if (maxInstructions !== undefined && !(maxInstructions >= 0 && (Number.isInteger(maxInstructions) || maxInstructions === Infinity))) {
    throw new RangeError(`maxInstructions must be a whole number of instructions, 0 or more, not ${maxInstructions}`);
  }
  if (timeoutSeconds !== undefined && !(timeoutSeconds > 0)) throw new RangeError(`timeoutSeconds must be a positive number of seconds, not ${timeoutSeconds}`);
  if (sliceInstructions !== undefined && !(Number.isInteger(sliceInstructions) && sliceInstructions >= 1)) {
    throw new RangeError(`sliceInstructions must be a whole number of instructions, 1 or more, not ${sliceInstructions}`);
  }
}
