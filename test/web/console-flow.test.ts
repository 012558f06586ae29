// The serial console's flow control, the worker's half (src/web/vm/session.ts): console output the
// page has not drawn yet is bounded by the session's window, a guest that writes faster than the
// page draws waits for it, and each chunk the page reports drawn lets that much more through.
// The page's half (it reports what it drew) is test/web/console-flow.e2e.test.ts.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONTROLS } from "../../src/web/page/setup-link.js";
import type { WorkerMessage } from "../../src/web/protocol.js";
import { Session } from "../../src/web/vm/session.js";
import { assemble } from "../core/harness.js";
import { CONSOLE_FLOOD_BYTES, consoleFloodSource } from "../support/console-flood.js";
import { KERNEL_BASE, kernelElf } from "../support/images.js";

const core = readFileSync(new URL("../../build/core.wasm", import.meta.url));
/** The session's window, CONSOLE_WINDOW. */
const WINDOW = 256 * 1024;

describe("the browser session's console window", () => {
  it("posts no more than the window until the page says it drew some, then that much more, to the end", { timeout: 120_000 }, async () => {
    // The session runs its bursts back to back through a MessageChannel, which keeps Node's
    // timers waiting: the test waits on the session's own messages instead.
    const posted: number[] = [];
    const states: string[] = [];
    let samples = 0;
    let waiting: { ready: () => boolean; resolve: () => void } | undefined;
    const post = (message: WorkerMessage) => {
      if (message.type === "console") posted.push(message.bytes.byteLength);
      if (message.type === "state") states.push(message.state);
      if (message.type === "stats") samples++;
      if (waiting?.ready()) waiting.resolve();
    };
    const until = (ready: () => boolean) => new Promise<void>((resolve) => (waiting = { ready, resolve }));
    /** Until the guest has run on for `n` statistics samples (one every 250 ms of bursts). */
    const runOn = (n: number) => {
      const target = samples + n;
      return until(() => samples >= target);
    };
    const total = () => posted.reduce((n, b) => n + b, 0);

    const session = await Session.create(new Uint8Array(core), post);
    const kernel = kernelElf(assemble(consoleFloodSource(CONSOLE_FLOOD_BYTES), KERNEL_BASE + 12));
    const window = until(() => total() >= WINDOW);
    await session.start({ kernel: kernel.buffer as ArrayBuffer, name: "flood", path: "flood.elf", cmdline: "", memoryMiB: 32, controls: DEFAULT_CONTROLS });
    await window;
    await runOn(2); // the guest runs on, and waits
    expect(total()).toBe(WINDOW);
    expect(states).not.toContain("stopped");

    session.consoleDrawn(100_000);
    await until(() => total() >= WINDOW + 100_000);
    await runOn(2);
    expect(total()).toBe(WINDOW + 100_000);

    session.consoleDrawn(CONSOLE_FLOOD_BYTES); // room for the rest: the guest writes its last bytes and stops
    await until(() => states.includes("stopped"));
    expect(total()).toBe(CONSOLE_FLOOD_BYTES + 5);
  });
});
