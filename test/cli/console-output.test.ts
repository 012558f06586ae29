import { describe, expect, it } from "vitest";
import { CONSOLE_CAPACITY, ConsoleOutput } from "../../src/cli/console-output.js";

/** A writer that takes at most `max` bytes per call, recording what it got. */
function capture(max = Infinity) {
  const chunks: string[] = [];
  const writer = (chunk: Uint8Array) => {
    const n = Math.min(chunk.length, max);
    chunks.push(Buffer.from(chunk.subarray(0, n)).toString("latin1"));
    return n;
  };
  return { chunks, writer };
}

const send = (console: ConsoleOutput, text: string) => {
  for (const c of text) console.write(c.charCodeAt(0));
};

describe("ConsoleOutput", () => {
  it("writes the first completed line at once, and later lines no more often than every 20 ms", () => {
    const { chunks, writer } = capture();
    const console = new ConsoleOutput(writer);
    send(console, "ab\ncd\nef");
    expect(chunks).toEqual(["ab\n"]);
    console.flush();
    expect(chunks).toEqual(["ab\n", "cd\nef"]);
  });

  it("writes nothing for an empty flush", () => {
    const { chunks, writer } = capture();
    new ConsoleOutput(writer).flush();
    expect(chunks).toEqual([]);
  });

  it("writes a long line in 64 KiB pieces", () => {
    const { chunks, writer } = capture();
    const console = new ConsoleOutput(writer);
    send(console, "A".repeat(70_000));
    expect(chunks.map((c) => c.length)).toEqual([65536]);
  });

  it("finishes partial writes", () => {
    const { chunks, writer } = capture(2);
    const console = new ConsoleOutput(writer);
    send(console, "hello");
    console.flush();
    expect(chunks).toEqual(["he", "ll", "o"]);
  });

  it("reports a closed reader once and drops output after it", () => {
    let calls = 0;
    let closed = 0;
    const console = new ConsoleOutput(
      () => {
        calls++;
        throw Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
      },
      () => closed++,
    );
    send(console, "x");
    console.flush();
    send(console, "y");
    console.flush();
    expect([calls, closed]).toEqual([1, 1]);
  });

  describe("a reader that takes nothing (a full non-blocking pipe: EAGAIN)", () => {
    /** A writer that throws EAGAIN until `open`, counting its calls. */
    function stalled() {
      const state = { calls: 0, open: false, got: "" };
      const writer = (chunk: Uint8Array) => {
        state.calls++;
        if (!state.open) throw Object.assign(new Error("write EAGAIN"), { code: "EAGAIN" });
        state.got += Buffer.from(chunk).toString("latin1");
        return chunk.length;
      };
      return { state, writer };
    }

    it("tries once per flush and keeps the bytes, instead of spinning until the reader reads", () => {
      const { state, writer } = stalled();
      const console = new ConsoleOutput(writer);
      send(console, "hello");
      console.flush();
      console.flush();
      expect(state.calls).toBe(2);
      expect(console.room()).toBe(CONSOLE_CAPACITY - 5);
      state.open = true;
      console.flush();
      expect(state.got).toBe("hello");
      expect(console.room()).toBe(CONSOLE_CAPACITY);
    });

    it("tells the guest there is no room once it holds 64 KiB, and drops what is sent beyond", () => {
      const { state, writer } = stalled();
      const console = new ConsoleOutput(writer);
      send(console, "A".repeat(CONSOLE_CAPACITY));
      expect(console.room()).toBe(0);
      send(console, "B");
      state.open = true;
      console.flush();
      expect(state.got).toBe("A".repeat(CONSOLE_CAPACITY));
    });

    it("keeps the order when the reader takes part of the buffer", () => {
      const { chunks, writer } = capture(3);
      let eagain = false;
      const console = new ConsoleOutput((chunk) => {
        if (eagain) throw Object.assign(new Error("write EAGAIN"), { code: "EAGAIN" });
        eagain = true;
        return writer(chunk);
      });
      send(console, "abcdef");
      console.flush();
      expect(console.room()).toBe(CONSOLE_CAPACITY - 3);
      send(console, "gh");
      eagain = false;
      console.flush();
      eagain = false;
      console.flush();
      eagain = false;
      console.flush();
      expect(chunks.join("")).toBe("abcdefgh");
    });

    it("treats a write of nothing as no room, not as progress", () => {
      let calls = 0;
      const console = new ConsoleOutput(() => (calls++, 0));
      send(console, "x");
      console.flush();
      expect(calls).toBe(1);
      expect(console.room()).toBe(CONSOLE_CAPACITY - 1);
    });

    it("drain() gives up at its deadline, trying every few milliseconds, and drops the rest", async () => {
      const { state, writer } = stalled();
      const console = new ConsoleOutput(writer);
      send(console, "lost");
      const start = performance.now();
      await console.drain(start + 100);
      expect(performance.now() - start).toBeGreaterThanOrEqual(100);
      expect(state.calls).toBeGreaterThan(1);
      expect(state.calls).toBeLessThan(30); // about every 10 ms, not a busy loop
      expect(console.room()).toBe(CONSOLE_CAPACITY);
    });

    it("drain() writes everything once the reader reads again", async () => {
      const { state, writer } = stalled();
      const console = new ConsoleOutput(writer);
      send(console, "late");
      setTimeout(() => (state.open = true), 30);
      await console.drain(Infinity);
      expect(state.got).toBe("late");
    });
  });
});
