// The display-update rows of wasmvisor bench measure what their labels say: exits per frame follow
// each strategy's rule on the small-change demo (sprite), the bytes copied follow what each copies,
// frames per second and host time per frame are the same run seen two ways, and the frame→screen
// delay is there for every strategy.
import { describe, expect, it } from "vitest";
import { formatDisplayTable, measureDisplayDemo } from "../../src/bench/display-bench.js";
import { wallClock } from "../../src/bench/marker-timing.js";
import { DISPLAY_UPDATES } from "../../src/vmm/display-update.js";

const FRAMES = 40;
const FRAME_BYTES = 800 * 600 * 4;

describe("display bench", () => {
  it("sprite: exits, copies and dirty pages per frame as each strategy's rule says", async () => {
    const rows = await measureDisplayDemo("sprite", FRAMES, wallClock);
    expect(rows.map((r) => r.strategy)).toEqual([...DISPLAY_UPDATES]);
    const row = Object.fromEntries(rows.map((r) => [r.strategy, r]));
    // trap: one exit per store of the ball's erase and redraw (two 24x24 discs, ~450 pixels each)
    expect(row.trap.exitsPerFrame).toBeGreaterThan(800);
    // refresh: no display exits, the whole 1.92 MB frame once a frame
    expect(row.refresh.exitsPerFrame).toBeLessThan(1);
    expect(row.refresh.copiedKiBPerFrame * 1024).toBeCloseTo(FRAME_BYTES, -3);
    // dirty-log: the pages the ball's rows touch (26 rows of 3,200 bytes: 21-22 pages), twice at
    // most (a slice is a frame's instructions on average; one may end between erase and redraw)
    expect(row["dirty-log"].dirtyPagesPerFrame).toBeGreaterThan(15);
    expect(row["dirty-log"].dirtyPagesPerFrame).toBeLessThan(2 * 23);
    expect(row["dirty-log"].exitsPerFrame).toBeLessThan(row.trap.exitsPerFrame / 10);
    expect(row["dirty-log"].copiedKiBPerFrame).toBeCloseTo(row["dirty-log"].dirtyPagesPerFrame * 4, 0);
    // pv: one hypercall a frame, the two squares' union copied
    expect(row.pv.exitsPerFrame).toBeGreaterThanOrEqual(1);
    expect(row.pv.exitsPerFrame).toBeLessThan(2);
    expect(row.pv.copiedKiBPerFrame * 1024).toBeLessThanOrEqual(27 * 26 * 4);
    for (const r of rows) expect(r.framesPerSecond * r.hostUsPerFrame).toBeCloseTo(1e6, 0);
    // frame→screen: a median no longer than the longest; under refresh and dirty-log a frame waits
    // for the refresh after it (what it measures: test/vmm/display-update.test.ts, virtual clock)
    for (const r of rows) expect(r.delayUs).toBeLessThanOrEqual(r.maxDelayUs);
    expect(row.refresh.delayUs).toBeGreaterThan(0);
    expect(row["dirty-log"].delayUs).toBeGreaterThan(0);
  });

  it("formats one line per row under its header", () => {
    const row = { demo: "sprite", strategy: "pv", frames: 10, framesPerSecond: 1234.4, exitsPerFrame: 1.25, hostUsPerFrame: 810.1, displayUsPerFrame: 12.34, copiedKiBPerFrame: 0.5, dirtyPagesPerFrame: 0, delayUs: 3.25, maxDelayUs: 17.6 } as const;
    const [header, line] = formatDisplayTable([row]).split("\n");
    expect(header).toMatch(/^demo +strategy +frames\/s +exits\/frame +host µs\/frame +display µs\/frame +copied KiB\/frame +dirty pages\/frame +frame→screen µs +max µs$/);
    expect(line).toMatch(/^sprite +pv +1234 +1\.25 +810\.1 +12\.3 +0\.5 +0\.00 +3\.3 +18$/);
  });
});
