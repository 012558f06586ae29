import { describe, expect, it } from "vitest";
import { ConsoleOutput } from "../../src/cli/console-output.js";

function capture() {
  const chunks: string[] = [];
  const out = { write: (chunk: Uint8Array) => chunks.push(Buffer.from(chunk).toString("latin1")) } as unknown as NodeJS.WritableStream;
  return { chunks, console: new ConsoleOutput(out) };
}

describe("ConsoleOutput", () => {
  it("writes a line as soon as it is complete", () => {
    const { chunks, console } = capture();
    for (const c of "ab\ncd") console.write(c.charCodeAt(0));
    expect(chunks).toEqual(["ab\n"]);
    console.flush();
    expect(chunks).toEqual(["ab\n", "cd"]);
  });

  it("writes nothing for an empty flush", () => {
    const { chunks, console } = capture();
    console.flush();
    expect(chunks).toEqual([]);
  });

  it("writes a long line in 64 KiB pieces", () => {
    const { chunks, console } = capture();
    for (let i = 0; i < 70_000; i++) console.write(0x41);
    expect(chunks.map((c) => c.length)).toEqual([65536]);
  });
});
