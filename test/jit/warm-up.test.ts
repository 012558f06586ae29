// The compiling tier's warm-up (src/jit/warm-up.ts) must keep translating what a guest's first hot
// code would: if the translator stopped compiling its sample, the warm-up would quietly warm nothing.
import { describe, expect, it } from "vitest";
import { warmUpCompilingTier } from "../../src/jit/warm-up.js";

describe("the compiling tier's warm-up", () => {
  it("translates its whole sample as one region of several blocks and compiles the module", () => {
    const t = warmUpCompilingTier();
    expect(t).toBeDefined();
    // the entry block, the loop, the store and SAR path, and the helper after the call
    expect(t!.blocks.length).toBeGreaterThanOrEqual(3);
    const instructions = t!.blocks.reduce((n, b) => n + b.instructions.length, 0);
    expect(instructions).toBeGreaterThanOrEqual(25);
  });
});
