// The page's exit trace (src/web/vm/exit-trace.ts) on the real core: nothing while the panel is
// closed (no subscriber, so no exit event is even built), the last TRACE_LENGTH exits oldest first
// once open, in `--trace exits`'s lines, and a fresh trace for each new machine.

import { describe, expect, it } from "vitest";
import { formatExitTrace } from "../../src/vmm/exit-event.js";
import { ExitTrace } from "../../src/web/vm/exit-trace.js";
import { TRACE_LENGTH } from "../../src/web/protocol.js";
import { EXIT_OK, bootTiny } from "../support/tiny-guest.js";

/** 250 writes to COM1's scratch register (250 I/O exits, EAX counting them), then isa-debug-exit. */
const OUT_LOOP = `mov $0x3ff, %dx\nmov $0, %eax\n1: inc %eax\nout %al, %dx\ncmp $250, %eax\njne 1b\n${EXIT_OK}`;

describe("exit trace", () => {
  it("keeps nothing while the panel is closed, and the last exits in the CLI's lines once open", async () => {
    const { vm, exits } = await bootTiny(OUT_LOOP);
    const trace = new ExitTrace();
    trace.follow(vm);
    vm.run({ maxInstructions: 200 });
    expect(trace.take()).toBeUndefined();

    trace.enable(true);
    const from = exits.length;
    vm.run({ maxInstructions: 1_000_000 });
    const seen = exits.slice(from);
    expect(seen.length).toBeGreaterThan(TRACE_LENGTH);
    expect(trace.take()).toEqual(seen.slice(-TRACE_LENGTH).map(formatExitTrace));
    expect(trace.take()).toBeUndefined();

    trace.enable(false);
    expect(trace.take()).toBeUndefined();
  });

  it("starts empty for a new machine, and follows it, not the old one", async () => {
    const trace = new ExitTrace();
    trace.enable(true);
    const first = await bootTiny(OUT_LOOP);
    trace.follow(first.vm);
    first.vm.run({ maxInstructions: 30 });
    const second = await bootTiny(OUT_LOOP);
    trace.follow(second.vm);
    expect(trace.take()).toEqual([]);
    first.vm.run({ maxInstructions: 1_000_000 });
    expect(trace.take()).toBeUndefined();
    second.vm.run({ maxInstructions: 40 });
    expect(trace.take()).toEqual(second.exits.map(formatExitTrace));
  });
});
