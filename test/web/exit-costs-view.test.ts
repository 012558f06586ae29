// The "Measure exit costs" table's figure: a loop difference at or below zero is shown as noise.
import { describe, expect, it } from "vitest";
import { exitCostText } from "../../src/web/page/exit-costs-view.js";

describe("exit cost figures in the page", () => {
  it("shows a positive figure with its spread", () => {
    expect(exitCostText({ ns: 48.123, spread: 0.071 })).toBe("48.1 ±7%");
  });

  it("never shows a negative or zero cost, which only a busy machine produces", () => {
    for (const ns of [-34.9, 0, Number.NaN]) expect(exitCostText({ ns, spread: 2 })).toBe("below the noise: the machine was busy, measure again");
  });
});
