// --stats' lines about the compiler (src/cli/stats-report.ts formatCompiler): each figure is over
// the blocks or modules it names, and a run that ended with modules still compiling says so
// instead of dividing by the modules that never came back.
import { describe, expect, it } from "vitest";
import { formatCompiler } from "../../src/cli/stats-report.js";
import type { CompilerStats } from "../../src/jit/block-compiler.js";

const STATS: CompilerStats = {
  requests: 10, installed: 8, stale: 1, refused: 0, modules: 3, modulesReturned: 2, functions: 9, released: 0,
  guestThreadMs: 0.5, guestThreadClock: "cpu", backgroundMs: 0.9, waitMs: 16,
};

describe("--stats: the compiler", () => {
  it("averages over the modules that came back, and counts those still compiling", () => {
    expect(formatCompiler(STATS)).toEqual([
      "compiler: 10 blocks asked for, 8 installed from 2 modules (4.5 functions each), 1 module still compiling at the end, 1 rewritten or evicted while compiling (not installed)",
      "compile time per block: 50.0 µs of the guest thread's CPU time, 100.0 µs compiling on the worker (wall clock); installed 2.00 ms after the request on average",
    ]);
  });

  it("a run that ended before any module came back shows no per-module or per-install averages", () => {
    const none = { ...STATS, installed: 0, stale: 0, modules: 1, modulesReturned: 0, functions: 0, backgroundMs: 0, waitMs: 0 };
    expect(formatCompiler(none)).toEqual([
      "compiler: 10 blocks asked for, 0 installed, 1 module still compiling at the end",
      "compile time per block: 50.0 µs of the guest thread's CPU time",
    ]);
  });
});
