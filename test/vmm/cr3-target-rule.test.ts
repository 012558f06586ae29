// The CR3-target rule on the real core, at every count 0-4: a MOV to CR3 whose value is among the
// first C_CR3_TARGET_COUNT target values completes in the core; any other value exits (reason 28),
// and the VMM's LRU refill makes up to `count` address spaces free after their first visit.
import { describe, expect, it } from "vitest";
import { C_CR3_TARGETS, EXIT_CR_ACCESS } from "../../assembly/vmcs-layout.js";
import { exitsOf, runTiny } from "../support/tiny-guest.js";

const SPACES = [0x11000, 0x22000, 0x33000, 0x44000, 0x55000];

/** A guest that loads CR3 with `values` in order, `rounds` times over. */
function cr3Guest(values: number[], rounds: number): string {
  const loads = values.map((v) => `mov $${v}, %eax\nmov %eax, %cr3`).join("\n");
  return `mov $${rounds}, %ecx\n1:\n${loads}\ndec %ecx\njnz 1b\ncli\nhlt`;
}

describe("CR3-target count 0-4", () => {
  it.each([0, 1, 2, 3, 4])("count %i: a value in slot i exits exactly when i >= count", async (count) => {
    // Preset targets A B C D in slots 0-3, then load each once in slot order.
    const run = await runTiny(cr3Guest(SPACES.slice(0, 4), 1), { cr3Targets: count }, (vm) =>
      SPACES.slice(0, 4).forEach((v, slot) => vm.vmcs.set(C_CR3_TARGETS + 4 * slot, v)),
    );
    const missed = exitsOf(run, EXIT_CR_ACCESS).map((e) => e.detail);
    expect(missed).toEqual(SPACES.slice(count, 4).map((v) => `MOV to CR3 from EAX (0x${v.toString(16).padStart(8, "0")})`));
  });

  it.each([0, 1, 2, 3, 4])("count %i: a guest with that many address spaces switches for free after their first visits", async (count) => {
    const spaces = SPACES.slice(0, Math.max(count, 1));
    const run = await runTiny(cr3Guest(spaces, 20), { cr3Targets: count });
    expect(exitsOf(run, EXIT_CR_ACCESS)).toHaveLength(count === 0 ? 20 : count);
  });

  it.each([1, 2, 3, 4])("count %i: one address space more and every switch exits (LRU on a round-robin cycle)", async (count) => {
    const run = await runTiny(cr3Guest(SPACES.slice(0, count + 1), 20), { cr3Targets: count });
    expect(exitsOf(run, EXIT_CR_ACCESS)).toHaveLength((count + 1) * 20);
  });
});
