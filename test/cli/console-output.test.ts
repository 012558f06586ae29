import { describe, expect, it } from "vitest";
import { ConsoleOutput } from "../../src/cli/console-output.js";

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
});
