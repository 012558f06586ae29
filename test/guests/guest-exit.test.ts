// The guests' library ends a run (guests/lib/serial.c guest_exit) only once COM1 has sent its last
// byte (LSR.TEMT), then writes the debug-exit port. A byte still in the UART when the machine goes
// is lost: QEMU keeps it in its transmitter while its stdout pipe is full, and a run whose reader
// lagged at that moment lost a golden copy's last newline (CI, 2026-12-07).
import { describe, expect, it } from "vitest";
import { wasmvisor } from "../support/cli.js";

describe("a guest's exit", () => {
  it("waits for the UART's transmitter to be empty after the last byte, then writes port 0xF4", async () => {
    const run = await wasmvisor("run", "guests/hello.elf", "--trace", "exits");
    expect(run.status, run.stderr).toBe(0);
    const io = run.stderr.split("\n").flatMap((line) => /(IN|OUT) port (0x[0-9a-f]+)/.exec(line)?.slice(1, 3).join(" ") ?? []);
    expect(io.slice(-3)).toEqual(["OUT 0x03f8", "IN 0x03fd", "OUT 0x00f4"]);
  });
});
