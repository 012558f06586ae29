// Shadows across level switches: nestvisor (L1) pages with CR4.PSE, its L2 without, so every switch
// between them changes the paging rules. Each level must keep its shadows (the rules are part of
// the shadow's tag, assembly/mmu/context.ts): more L2 CPUID round trips, each two level switches,
// build no more shadow roots and flush no more shadows than fewer do.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { scratchFolder, wasmvisor } from "../../support/cli.js";

async function shadowCounters(roundTrips: number): Promise<{ shadowRootsBuilt: number; shadowFlushes: number; reflected: number }> {
  const stats = scratchFolder().path("stats.json");
  const result = await wasmvisor("run", "guests/nestvisor.elf", "--nested", "vmx", "--module", `guests/vmexit.elf ${roundTrips} cpuid`, "--timeout", "100", "--stats-json", stats);
  expect(result.status, result.stderr).toBe(0);
  const json = JSON.parse(readFileSync(stats, "utf8"));
  const { shadowRootsBuilt, shadowFlushes } = json.mmu;
  const reflected = json.levels.reflected.reduce((sum: number, row: { count: number }) => sum + row.count, 0);
  return { shadowRootsBuilt, shadowFlushes, reflected };
}

describe("nestvisor and its L2 paging under different rules", () => {
  it("keep their shadows across level switches: 10 times the round trips build no more roots and flush no more", async () => {
    const [few, many] = await Promise.all([shadowCounters(100), shadowCounters(1000)]);
    expect(many.reflected - few.reflected).toBeGreaterThanOrEqual(900); // the round trips did happen
    expect({ roots: many.shadowRootsBuilt, flushes: many.shadowFlushes }).toEqual({ roots: few.shadowRootsBuilt, flushes: few.shadowFlushes });
    expect(few.shadowRootsBuilt).toBeLessThan(20);
  }, 120_000);
});
